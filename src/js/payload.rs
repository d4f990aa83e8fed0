//! What `send` accepts and how much of the outbox each message takes.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::browser::payload_size;

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
    payload_size(data) as u64
}
