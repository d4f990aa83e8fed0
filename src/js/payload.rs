//! What `send` accepts.

use wasm_bindgen::prelude::*;

use crate::browser::payload_kind;

/// Whether a WebSocket can send `data` without throwing: a string, or a real ArrayBuffer,
/// ArrayBufferView or Blob (not resizable, shared or detached). Checked before anything is
/// queued, so that a message that could never be sent cannot block the queue.
pub fn is_sendable(data: &JsValue) -> bool {
    payload_kind(data) != 0
}
