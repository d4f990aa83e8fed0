//! The JS face: the `TetherSocket` class, a drop-in for reconnecting-websocket's
//! `ReconnectingWebSocket` with WebSocket's surface plus our events and properties.

mod options;
mod payload;
mod sink;

use std::rc::Rc;

use wasm_bindgen::prelude::*;
use web_sys::BinaryType;

use crate::browser::{Driver, Sent};
use crate::core::check_close_args;
use options::error;
use sink::JsSink;

/// The allocator of the npm build (feature `small-alloc`): smaller than the default
/// dlmalloc, and enough for the few, small allocations the socket makes. No `unsafe`: the
/// locked variant needs none (wasm without threads makes its lock free).
#[cfg(feature = "small-alloc")]
#[global_allocator]
static ALLOCATOR: lol_alloc::LockedAllocator<lol_alloc::FreeListAllocator> =
    lol_alloc::LockedAllocator::new(lol_alloc::FreeListAllocator::new());

/// TypeScript declarations for the class, written by hand so that options and events are
/// precisely typed (the generated ones would say `any`).
#[wasm_bindgen(typescript_custom_section)]
const TS: &str = include_str!("tether_socket.d.ts");

/// A WebSocket that reconnects with backoff, queues messages while disconnected, and can
/// watch the connection with heartbeats. See the TypeScript declarations for the API.
#[wasm_bindgen(skip_typescript)]
pub struct TetherSocket {
    driver: Driver,
    sink: Rc<JsSink>,
}

/// Reads `close(code?, reason?)`. Taken as JS values (not `Option<String>`): wasm-bindgen's
/// glue would copy a non-string reason into wasm memory unchecked.
fn close_args(code: Option<f64>, reason: &JsValue) -> Result<(u16, String), JsError> {
    let code = match code {
        None => 1000,
        Some(c) if c.fract() == 0.0 && (0.0..=65535.0).contains(&c) => c as u16,
        Some(_) => 0, // rejected below with the same message
    };
    let reason = match reason.as_string() {
        Some(r) => r,
        None if reason.is_undefined() => String::new(),
        None => return Err(error("close() reason must be a string")),
    };
    check_close_args(code, &reason).map_err(|e| error(e.message()))?;
    Ok((code, reason))
}

#[wasm_bindgen(js_class = TetherSocket)]
impl TetherSocket {
    /// `new TetherSocket(url, protocols?, options?)`.
    #[wasm_bindgen(constructor)]
    pub fn new(url: JsValue, protocols: JsValue, options: JsValue) -> Result<TetherSocket, JsValue> {
        let parsed = options::parse(&url, &protocols, &options)?;
        let sink = Rc::new(JsSink::new(
            parsed.should_reconnect,
            parsed.is_pong,
            parsed.debug,
            &parsed.shown_url,
        ));
        let driver = Driver::start(parsed.driver, sink.clone());
        Ok(TetherSocket { driver, sink })
    }

    /// Sends a string, ArrayBuffer, ArrayBufferView or Blob. Returns true when it was written
    /// to the open socket, false when it was queued (or dropped under the overflow policy).
    /// `options.key`: if the message has to be queued, it replaces the queued message sent
    /// with the same key (for state where only the latest value matters).
    pub fn send(&self, data: JsValue, options: JsValue) -> Result<bool, JsValue> {
        if !payload::is_sendable(&data) {
            return Err(error(
                "send() accepts a string, ArrayBuffer, ArrayBufferView or Blob (not resizable, shared or detached)",
            )
            .into());
        }
        let key = options::send_key(&options)?;
        match self.driver.send(data, key.as_deref(), crate::browser::size_of) {
            Sent::Written => Ok(true),
            Sent::Queued | Sent::Dropped => Ok(false),
            Sent::Rejected(_) => {
                Err(error("send() refused: the outbox is full (overflow: \"reject\")").into())
            }
        }
    }

    /// Closes the connection for good: no reconnect until `reconnect()`.
    pub fn close(&self, code: Option<f64>, reason: JsValue) -> Result<(), JsError> {
        let (code, reason) = close_args(code, &reason)?;
        self.driver.close(code, &reason);
        Ok(())
    }

    /// Closes the current connection (if any) and connects again at once, backoff reset.
    pub fn reconnect(&self, code: Option<f64>, reason: JsValue) -> Result<(), JsError> {
        let (code, reason) = close_args(code, &reason)?;
        self.driver.reconnect(code, &reason);
        Ok(())
    }

    /// Adds a listener, with the rules of `EventTarget.addEventListener`.
    #[wasm_bindgen(js_name = addEventListener)]
    pub fn add_event_listener(
        &self,
        kind: &JsValue,
        listener: &JsValue,
        options: &JsValue,
    ) -> Result<(), JsValue> {
        self.sink.hub.add(kind, listener, options)
    }

    /// Removes a listener, with the rules of `EventTarget.removeEventListener`.
    #[wasm_bindgen(js_name = removeEventListener)]
    pub fn remove_event_listener(
        &self,
        kind: &JsValue,
        listener: &JsValue,
        options: &JsValue,
    ) -> Result<(), JsValue> {
        self.sink.hub.remove(kind, listener, options)
    }

    /// 0 connecting (also while waiting to retry), 1 open, 2 closing, 3 closed.
    #[wasm_bindgen(getter, js_name = readyState)]
    pub fn ready_state(&self) -> u16 {
        self.driver.state().ready_state()
    }

    /// "connecting", "open", "closing", "reconnecting" or "closed".
    #[wasm_bindgen(getter)]
    pub fn state(&self) -> String {
        self.driver.state().as_str().into()
    }

    /// The URL of the latest connection attempt.
    #[wasm_bindgen(getter)]
    pub fn url(&self) -> String {
        self.driver.url()
    }

    /// The subprotocol the server selected ("" when none or not open).
    #[wasm_bindgen(getter)]
    pub fn protocol(&self) -> String {
        self.driver.protocol()
    }

    /// The extensions the server selected ("" when none or not open).
    #[wasm_bindgen(getter)]
    pub fn extensions(&self) -> String {
        self.driver.extensions()
    }

    /// Bytes not yet sent: the socket's buffer plus the outbox.
    #[wasm_bindgen(getter, js_name = bufferedAmount)]
    pub fn buffered_amount(&self) -> f64 {
        self.driver.buffered_amount()
    }

    /// Retries since the last connection that stayed open for `minUptime`.
    #[wasm_bindgen(getter, js_name = retryCount)]
    pub fn retry_count(&self) -> u32 {
        self.driver.retry_count()
    }

    /// Messages waiting in the outbox.
    #[wasm_bindgen(getter, js_name = queuedMessages)]
    pub fn queued_messages(&self) -> f64 {
        self.driver.queued_messages() as f64
    }

    /// Bytes waiting in the outbox.
    #[wasm_bindgen(getter, js_name = queuedBytes)]
    pub fn queued_bytes(&self) -> f64 {
        self.driver.queued_bytes() as f64
    }

    /// "blob" or "arraybuffer".
    #[wasm_bindgen(getter, js_name = binaryType)]
    pub fn binary_type(&self) -> String {
        match self.driver.binary_type() {
            BinaryType::Arraybuffer => "arraybuffer".into(),
            _ => "blob".into(),
        }
    }

    /// Sets how binary messages are delivered.
    #[wasm_bindgen(setter, js_name = binaryType)]
    pub fn set_binary_type(&self, value: JsValue) -> Result<(), JsError> {
        let t = match value.as_string().as_deref() {
            Some("blob") => BinaryType::Blob,
            Some("arraybuffer") => BinaryType::Arraybuffer,
            _ => {
                return Err(error(
                    "invalid option `binaryType`: expected \"blob\" or \"arraybuffer\"",
                ))
            }
        };
        self.driver.set_binary_type(t);
        Ok(())
    }

    /// The `open` handler.
    #[wasm_bindgen(getter)]
    pub fn onopen(&self) -> JsValue {
        self.sink.hub.get_on(0)
    }
    /// Sets the `open` handler (a function, or null).
    #[wasm_bindgen(setter)]
    pub fn set_onopen(&self, f: JsValue) {
        self.sink.hub.set_on(0, &f);
    }
    /// The `message` handler.
    #[wasm_bindgen(getter)]
    pub fn onmessage(&self) -> JsValue {
        self.sink.hub.get_on(1)
    }
    /// Sets the `message` handler (a function, or null).
    #[wasm_bindgen(setter)]
    pub fn set_onmessage(&self, f: JsValue) {
        self.sink.hub.set_on(1, &f);
    }
    /// The `close` handler.
    #[wasm_bindgen(getter)]
    pub fn onclose(&self) -> JsValue {
        self.sink.hub.get_on(2)
    }
    /// Sets the `close` handler (a function, or null).
    #[wasm_bindgen(setter)]
    pub fn set_onclose(&self, f: JsValue) {
        self.sink.hub.set_on(2, &f);
    }
    /// The `error` handler.
    #[wasm_bindgen(getter)]
    pub fn onerror(&self) -> JsValue {
        self.sink.hub.get_on(3)
    }
    /// Sets the `error` handler (a function, or null).
    #[wasm_bindgen(setter)]
    pub fn set_onerror(&self, f: JsValue) {
        self.sink.hub.set_on(3, &f);
    }

    /// `TetherSocket.CONNECTING` (0).
    #[wasm_bindgen(getter = CONNECTING)]
    pub fn connecting_static() -> u16 {
        0
    }
    /// `TetherSocket.OPEN` (1).
    #[wasm_bindgen(getter = OPEN)]
    pub fn open_static() -> u16 {
        1
    }
    /// `TetherSocket.CLOSING` (2).
    #[wasm_bindgen(getter = CLOSING)]
    pub fn closing_static() -> u16 {
        2
    }
    /// `TetherSocket.CLOSED` (3).
    #[wasm_bindgen(getter = CLOSED)]
    pub fn closed_static() -> u16 {
        3
    }
    /// `socket.CONNECTING` (0).
    #[wasm_bindgen(getter = CONNECTING)]
    pub fn connecting(&self) -> u16 {
        0
    }
    /// `socket.OPEN` (1).
    #[wasm_bindgen(getter = OPEN)]
    pub fn open(&self) -> u16 {
        1
    }
    /// `socket.CLOSING` (2).
    #[wasm_bindgen(getter = CLOSING)]
    pub fn closing(&self) -> u16 {
        2
    }
    /// `socket.CLOSED` (3).
    #[wasm_bindgen(getter = CLOSED)]
    pub fn closed(&self) -> u16 {
        3
    }
}

impl Drop for TetherSocket {
    fn drop(&mut self) {
        // Queued messages are reported (as `drop` events) before the listeners go, but
        // nothing else: not even events the socket had decided on before free().
        self.sink.hub.keep_only("drop");
        self.driver.dispose();
        self.sink.hub.dispose();
    }
}
