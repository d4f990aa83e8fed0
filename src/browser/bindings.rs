//! Hand-written bindings where web-sys's would copy data through wasm memory or cannot
//! express what we need.
//!
//! The browser primitives come from src/js/helpers.js, the JS face's helpers: one
//! implementation for both faces (payload sizes as the browser counts them, `navigator.onLine`,
//! visibility, the base URL). The URL and subprotocol rules are not shared: this face's are in
//! target.rs, the JS face's in helpers.js.

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// `performance.now()`: a monotonic clock in ms, in windows and workers alike.
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    pub fn performance_now() -> f64;

    /// A WebSocket seen through our own binding of `send`.
    #[wasm_bindgen(js_name = WebSocket)]
    pub type RawSocket;

    /// `WebSocket.prototype.send` taking any JS value as it is. web-sys's `send_with_str`
    /// would copy every string into wasm memory and back out again.
    #[wasm_bindgen(method, catch, js_name = send)]
    pub fn send(this: &RawSocket, data: &JsValue) -> Result<(), JsValue>;

    /// A `Storage` seen through our own bindings of `getItem` and `setItem`, whose values stay
    /// JS strings (web-sys's would copy each kept message into wasm memory and back).
    #[wasm_bindgen(js_name = Storage)]
    pub type RawStorage;

    /// `Storage.prototype.getItem`.
    #[wasm_bindgen(method, catch, js_name = getItem)]
    pub fn get_item(this: &RawStorage, key: &str) -> Result<Option<js_sys::JsString>, JsValue>;

    /// `Storage.prototype.setItem` (throws when the quota is exceeded).
    #[wasm_bindgen(method, catch, js_name = setItem)]
    pub fn set_item(this: &RawStorage, key: &str, value: &js_sys::JsString) -> Result<(), JsValue>;
}

#[wasm_bindgen(module = "/src/js/helpers.js")]
extern "C" {
    /// Bytes a WebSocket counts for a payload: UTF-8 for text, the byte length of buffers
    /// and views, the size of Blobs (0 for anything else).
    #[wasm_bindgen(js_name = payloadSize)]
    pub fn payload_size(v: &JsValue) -> f64;

    /// A lower bound of `payload_size`: for text, its length (cheap).
    #[wasm_bindgen(js_name = payloadSizeAtLeast)]
    pub fn payload_size_at_least(v: &JsValue) -> f64;

    /// Whether a received message is larger than `limit` bytes (text counted as UTF-8).
    #[wasm_bindgen(js_name = sizeAbove)]
    pub fn size_above(data: &JsValue, limit: f64) -> bool;

    /// `navigator.onLine`, or true where there is no navigator.
    #[wasm_bindgen(js_name = isOnline)]
    pub fn is_online() -> bool;

    /// Whether the document is visible (true outside a window).
    #[wasm_bindgen(js_name = isVisible)]
    pub fn is_visible() -> bool;

    /// The page's base URL to resolve relative WebSocket URLs against, if any.
    #[wasm_bindgen(js_name = baseUrl)]
    pub fn base_url() -> Option<String>;
}
