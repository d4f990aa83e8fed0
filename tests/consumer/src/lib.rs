//! What an application writes against tether-ws: a socket with options, its events, and the
//! typed layer (see tests/consumer/Cargo.toml for why this crate exists).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tether_ws::{ContinuityOptions, Event, Message, Socket, TypedSocket};
use wasm_bindgen::prelude::wasm_bindgen;

/// A chat line, both ways.
#[derive(Serialize, Deserialize)]
pub struct Line {
    /// Who.
    pub from: String,
    /// What.
    pub text: String,
}

/// Connects to `url` with continuity and a heartbeat, and sends one line.
#[wasm_bindgen]
pub fn start(url: &str) -> Result<(), String> {
    let socket = Socket::builder(url)
        .continuity(ContinuityOptions::default())
        .heartbeat(tether_ws::HeartbeatOptions::default().interval(Duration::from_secs(15)))
        .connect()
        .map_err(|e| e.to_string())?;
    let guard = socket.on_event(|event| {
        if let Event::Message(Message::Text(text)) = event {
            let _ = text.len();
        }
    });
    drop(guard);
    let typed: TypedSocket<Line, Line> = TypedSocket::new(socket);
    typed
        .send(&Line {
            from: "me".into(),
            text: "hi".into(),
        })
        .map(|_written_now| ())
        .map_err(|e| e.to_string())
}
