//! Helpers for the relay tests: a relay on a free port and WebSocket clients.
#![allow(dead_code)]

pub mod cluster;

use std::net::SocketAddr;
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
    connect_to(relay.addr, query).await
}

pub async fn connect_to(addr: SocketAddr, query: &str) -> Ws {
    let url = format!("ws://{addr}/ws{query}");
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

/// Reads messages until one satisfies `want` (skipping the others), within `ms` in all.
pub async fn wait_for(ws: &mut Ws, ms: u64, what: &str, want: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_millis(ms);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let msg = match tokio::time::timeout(left, ws.next()).await {
            Ok(Some(Ok(msg))) => msg,
            Ok(other) => panic!("waiting for {what}: the socket ended: {other:?}"),
            Err(_) => panic!("waiting for {what}: nothing within {ms} ms"),
        };
        if let Message::Text(t) = msg {
            let v: Value = serde_json::from_str(&t).expect("JSON");
            if want(&v) {
                return v;
            }
        }
    }
}

/// `msg` is a `cursor` of client `id` at (`x`, `y`).
pub fn is_cursor(msg: &Value, id: &Value, x: f64, y: f64) -> bool {
    msg["type"] == "cursor"
        && &msg["id"] == id
        && msg["x"].as_f64() == Some(x)
        && msg["y"].as_f64() == Some(y)
}

/// `msg` is the `leave` of client `id`.
pub fn is_leave(msg: &Value, id: &Value) -> bool {
    msg["type"] == "leave" && &msg["id"] == id
}
