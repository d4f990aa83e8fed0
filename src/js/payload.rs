//! What `send` accepts and how much of the outbox each message takes.

use wasm_bindgen::prelude::*;

use crate::browser::{payload_kind, payload_size};

/// Whether a WebSocket can send `data` without throwing: a string, or a real ArrayBuffer,
/// ArrayBufferView or Blob (not resizable, shared or detached). Checked before anything is
/// queued, so that a message that could never be sent cannot block the queue.
pub fn is_sendable(data: &JsValue) -> bool {
    payload_kind(data) != 0
}

/// Bytes `data` takes on the wire (UTF-8 for text). Only called for sendable data.
pub fn byte_size(data: &JsValue) -> u64 {
    payload_size(data) as u64
}
