//! The minimal echo app with ws_stream_wasm: `WsMeta::connect`, then its `WsStream` (a
//! `Stream` of messages and a `Sink`). See ../common.rs.

#[path = "../../common.rs"]
mod common;

use common::{err, Echo};
use futures::{SinkExt, StreamExt};
use wasm_bindgen::JsValue;
use ws_stream_wasm::{WsMessage, WsMeta, WsStream};

pub struct WsS(WsMeta, WsStream);

impl Echo for WsS {
    type Msg = WsMessage;

    fn text(s: String) -> WsMessage {
        WsMessage::Text(s)
    }

    fn binary(b: Vec<u8>) -> WsMessage {
        WsMessage::Binary(b)
    }

    async fn open(url: &str) -> Result<Self, JsValue> {
        let (meta, stream) = WsMeta::connect(url, None).await.map_err(err)?;
        Ok(WsS(meta, stream))
    }

    async fn send(&mut self, m: WsMessage) -> Result<(), JsValue> {
        self.1.send(m).await.map_err(err)
    }

    async fn next(&mut self) -> Result<usize, JsValue> {
        match self.1.next().await {
            Some(WsMessage::Text(s)) => Ok(s.len()),
            Some(WsMessage::Binary(b)) => Ok(b.len()),
            None => Err(err("the stream ended")),
        }
    }

    fn close(self) {
        // (close() is a future resolving at the close event; the app need not wait.)
        let WsS(meta, _stream) = self;
        wasm_bindgen_futures::spawn_local(async move {
            let _ = meta.close().await;
        });
    }
}

exports!(WsS);
