//! Hand-written bindings where web-sys's would copy data through wasm memory or cannot
//! express what we need.

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
}

#[wasm_bindgen(module = "/src/browser/helpers.js")]
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

    /// Whether a value is a thenable (a Promise or something awaiting it would wait on).
    #[wasm_bindgen(js_name = isThenable)]
    pub fn is_thenable(v: &JsValue) -> bool;

    /// `navigator.onLine`, or true where there is no navigator.
    #[wasm_bindgen(js_name = isOnline)]
    pub fn is_online() -> bool;

    /// Whether the document is visible (true outside a window).
    #[wasm_bindgen(js_name = isVisible)]
    pub fn is_visible() -> bool;

    /// The page's base URL to resolve relative WebSocket URLs against, if any.
    #[wasm_bindgen(js_name = baseUrl)]
    pub fn base_url() -> Option<String>;

    /// A URL provider's result as the checked, absolute URL to connect to (as
    /// [`check_url`](super::target::check_url)), or `None` if it is not a usable URL string.
    #[wasm_bindgen(js_name = providedUrl)]
    pub fn provided_url(v: &JsValue) -> Option<String>;

    /// A protocols provider's result as a checked array of strings (as
    /// [`check_protocols`](super::target::check_protocols)), or `None` if unusable.
    #[wasm_bindgen(js_name = providedProtocols)]
    pub fn provided_protocols(v: &JsValue) -> Option<js_sys::Array>;
}
