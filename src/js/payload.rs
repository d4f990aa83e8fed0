//! What `send` accepts and how much of the outbox each message takes.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::browser::utf8_length;

/// The kinds of data a WebSocket can send.
pub enum Kind {
    /// A string, sent as a text frame.
    Text,
    /// An ArrayBuffer, ArrayBufferView or Blob, sent as a binary frame.
    Binary,
}

/// Classifies `data`, or `None` if a WebSocket cannot send it.
pub fn kind(data: &JsValue) -> Option<Kind> {
    if data.is_string() {
        Some(Kind::Text)
    } else if data.is_instance_of::<js_sys::ArrayBuffer>()
        || js_sys::ArrayBuffer::is_view(data)
        || data.is_instance_of::<web_sys::Blob>()
    {
        Some(Kind::Binary)
    } else {
        None
    }
}

/// Bytes `data` takes on the wire (UTF-8 for text). Only called for data `kind` accepted.
pub fn byte_size(data: &JsValue) -> u64 {
    if data.is_string() {
        return utf8_length(data) as u64;
    }
    if let Some(blob) = data.dyn_ref::<web_sys::Blob>() {
        return blob.size() as u64;
    }
    // ArrayBuffer and every view have a numeric byteLength.
    js_sys::Reflect::get(data, &JsValue::from_str("byteLength"))
        .ok()
        .and_then(|v| v.as_f64())
        .unwrap_or(0.0) as u64
}
