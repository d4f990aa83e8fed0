//! The minimal echo app with gloo-net's `gloo_net::websocket::futures::WebSocket` (a
//! `Stream` of messages and a `Sink`). See ../common.rs.

#[path = "../../common.rs"]
mod common;

use common::{err, Echo};
use futures::{SinkExt, StreamExt};
use gloo_net::websocket::{futures::WebSocket, Message, State};
use wasm_bindgen::JsValue;

pub struct Gloo(WebSocket);

impl Echo for Gloo {
    type Msg = Message;

    fn text(s: String) -> Message {
        Message::Text(s)
    }

    fn binary(b: Vec<u8>) -> Message {
        Message::Bytes(b)
    }

    async fn open(url: &str) -> Result<Self, JsValue> {
        let mut ws = WebSocket::open(url).map_err(err)?;
        // (Its sink is ready once the socket left CONNECTING.)
        futures::future::poll_fn(|cx| ws.poll_ready_unpin(cx)).await.map_err(err)?;
        if !matches!(ws.state(), State::Open) {
            return Err(err("did not open"));
        }
        Ok(Gloo(ws))
    }

    async fn send(&mut self, m: Message) -> Result<(), JsValue> {
        self.0.send(m).await.map_err(err)
    }

    async fn next(&mut self) -> Result<usize, JsValue> {
        match self.0.next().await {
            Some(Ok(Message::Text(s))) => Ok(s.len()),
            Some(Ok(Message::Bytes(b))) => Ok(b.len()),
            Some(Err(e)) => Err(err(e)),
            None => Err(err("the stream ended")),
        }
    }

    fn close(self) {
        let _ = self.0.close(Some(1000), None);
    }
}

exports!(Gloo);
