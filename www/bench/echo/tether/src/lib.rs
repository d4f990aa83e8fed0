//! The minimal echo app with tether-ws's Rust API: `Socket` (defaults: reconnecting, an
//! outbox) and its event `Stream`. See ../common.rs.

#[path = "../../common.rs"]
mod common;

use common::{err, Echo};
use futures::StreamExt;
use tether_ws::{Event, EventStream, Message, Socket};
use wasm_bindgen::JsValue;

pub struct Tether {
    socket: Socket,
    events: EventStream,
}

impl Echo for Tether {
    type Msg = Message;

    fn text(s: String) -> Message {
        Message::Text(s)
    }

    fn binary(b: Vec<u8>) -> Message {
        Message::Binary(b)
    }

    async fn open(url: &str) -> Result<Self, JsValue> {
        let socket = Socket::builder(url).connect().map_err(err)?;
        let events = socket.events();
        socket.opened().await.map_err(err)?;
        Ok(Tether { socket, events })
    }

    async fn send(&mut self, m: Message) -> Result<(), JsValue> {
        self.socket.send(m).map(drop).map_err(err)
    }

    async fn next(&mut self) -> Result<usize, JsValue> {
        loop {
            match self.events.next().await {
                Some(Event::Message(Message::Text(s))) => return Ok(s.len()),
                Some(Event::Message(Message::Binary(b))) => return Ok(b.len()),
                Some(Event::Close(_)) => return Err(err("closed")),
                Some(_) => {}
                None => return Err(err("the event stream ended")),
            }
        }
    }

    fn close(self) {
        let _ = self.socket.close(1000, "");
    }
}

exports!(Tether);
