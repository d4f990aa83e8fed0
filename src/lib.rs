//! tether-ws: a browser WebSocket client with typed events, auto-reconnect with backoff and
//! jitter, a bounded outbox, and heartbeats.
//!
//! ```no_run
//! # mod wasm_bindgen_futures {
//! #     pub fn spawn_local(_: impl std::future::Future<Output = ()> + 'static) {}
//! # }
//! # fn main() -> Result<(), tether_ws::Error> {
//! use std::time::Duration;
//!
//! use futures::StreamExt;
//! use tether_ws::{Event, HeartbeatOptions, Message, QueueOptions, ReconnectOptions, Socket};
//!
//! let socket = Socket::builder("wss://example.com/live")
//!     .backoff(ReconnectOptions::default().max_delay(Duration::from_secs(30)))
//!     .queue(QueueOptions::default().max_messages(Some(100)))
//!     .heartbeat(HeartbeatOptions::default().interval(Duration::from_secs(20)))
//!     .connect()?;
//! // Written at once if open; else kept in the outbox and written when a connection opens.
//! socket.send("hello")?;
//!
//! // The task owns the socket: the connection lives as long as the task reads its events.
//! wasm_bindgen_futures::spawn_local(async move {
//!     let mut events = socket.events();
//!     while let Some(event) = events.next().await {
//!         match event {
//!             Event::Message(Message::Text(text)) => log(&text),
//!             Event::Reconnecting { attempt, delay, .. } => log(&format!("retry {attempt} in {delay:?}")),
//!             Event::Close(info) => log(&format!("closed: {} {}", info.code, info.reason)),
//!             _ => {}
//!         }
//!     }
//! });
//! # fn log(_: &str) {}
//! # Ok(())
//! # }
//! ```
//!
//! - [`Socket`], [`TypedSocket`], [`Event`]: the Rust API (feature `std`, on by default; any
//!   target; connects on wasm32 only).
//! - [`core`]: the sans-IO state machine (any target; needs only `core` and `alloc`).
//! - `leptos`, `yew` (features `leptos`, `yew`): hooks, `use_socket` and `use_typed_socket`,
//!   that keep a socket for a component and show its state, messages and errors.
//! - `testing` (feature `testing`, native targets): an in-memory server with a manual clock,
//!   so that code using a [`Socket`] runs in plain `cargo test`.
//! - `browser` (wasm32, `std`): the driver that runs the core against the browser's WebSocket.
//! - `js` (wasm32, feature `js`): what the npm package's JS class `TetherSocket` drives.
// The npm package's wasm (`js` without `std`) links no std: see src/js/mod.rs.
#![cfg_attr(all(target_arch = "wasm32", feature = "js", not(feature = "std")), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

#[cfg(feature = "std")]
mod api;
pub mod core;

#[cfg(feature = "std")]
pub use api::*;

#[cfg(all(target_arch = "wasm32", feature = "std"))]
mod browser;

#[cfg(all(target_arch = "wasm32", feature = "js"))]
pub mod js;

#[cfg(all(feature = "testing", not(target_arch = "wasm32")))]
pub mod testing;
