//! Helpers for the relay tests: a relay on a free port and WebSocket clients.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tether_relay::Relay;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The repository root (www/relay/../..).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join("..")
}

pub async fn start() -> Relay {
    Relay::start(([127, 0, 0, 1], 0).into(), repo_root())
        .await
        .expect("relay starts")
}

pub async fn connect(relay: &Relay, query: &str) -> Ws {
    let url = format!("ws://{}/ws{query}", relay.addr);
    let (ws, _) = tokio::time::timeout(Duration::from_secs(5), tokio_tungstenite::connect_async(url))
        .await
        .expect("connect within 5 s")
        .expect("handshake");
    ws
}

/// The next JSON text message, within `ms`.
pub async fn next_json(ws: &mut Ws, ms: u64) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_millis(ms), ws.next())
            .await
            .expect("a message in time")
            .expect("stream open")
            .expect("no error");
        if let Message::Text(t) = msg {
            return serde_json::from_str(&t).expect("JSON");
        }
    }
}

/// Nothing arrives within `ms`.
pub async fn silent(ws: &mut Ws, ms: u64) -> bool {
    tokio::time::timeout(Duration::from_millis(ms), ws.next())
        .await
        .is_err()
}

pub async fn send_move(ws: &mut Ws, x: f64, y: f64) {
    let msg = serde_json::json!({"type": "move", "x": x, "y": y}).to_string();
    ws.send(Message::Text(msg.into())).await.expect("send");
}
