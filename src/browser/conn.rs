//! One browser WebSocket and the listeners the driver put on it.

use wasm_bindgen::JsCast;
use web_sys::{BinaryType, CloseEvent, MessageEvent, WebSocket};

use super::listener::Listener;
use crate::core::ConnId;

/// What a socket reports, tagged with the attempt it belongs to.
pub enum SocketEvent {
    /// `open`.
    Open,
    /// `message`.
    Message(MessageEvent),
    /// `error`.
    Error,
    /// `close`.
    Close(CloseEvent),
}

/// A live socket. Dropping it removes every listener it added; the socket itself is then
/// unreachable from us and is collected once the browser is done with it.
pub struct Conn {
    /// The attempt this socket belongs to.
    pub id: ConnId,
    /// The socket.
    pub ws: WebSocket,
    _listeners: [Listener; 4],
}

impl Conn {
    /// Creates the socket and routes its four events to `on_event`.
    pub fn open(
        id: ConnId,
        url: &str,
        protocols: &js_sys::Array,
        binary_type: BinaryType,
        on_event: impl Fn(ConnId, SocketEvent) + Clone + 'static,
    ) -> Result<Conn, wasm_bindgen::JsValue> {
        let ws = WebSocket::new_with_str_sequence(url, protocols)?;
        ws.set_binary_type(binary_type);
        let handler = |wrap: fn(web_sys::Event) -> Option<SocketEvent>| {
            let on_event = on_event.clone();
            move |e| {
                if let Some(ev) = wrap(e) {
                    on_event(id, ev);
                }
            }
        };
        let route = |kind, wrap| Listener::new(&ws, kind, handler(wrap));
        let listeners = [
            route("open", |_| Some(SocketEvent::Open)),
            route("message", |e| e.dyn_into().ok().map(SocketEvent::Message)),
            route("error", |_| Some(SocketEvent::Error)),
            route("close", |e| e.dyn_into().ok().map(SocketEvent::Close)),
        ];
        Ok(Conn {
            id,
            ws,
            _listeners: listeners,
        })
    }

    /// Starts the closing handshake (or aborts a connecting socket).
    pub fn close(&self, code: u16, reason: &str) {
        // Codes and reasons were validated (or are our own); a throw here can only mean the
        // socket is already closed, which is what we want anyway.
        let _ = self.ws.close_with_code_and_reason(code, reason);
    }
}
