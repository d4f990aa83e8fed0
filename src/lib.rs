//! tether-ws: a browser WebSocket client with typed events, auto-reconnect with backoff and
//! jitter, a bounded outbox, and heartbeats.
//!
//! - [`Socket`], [`TypedSocket`], [`Event`]: the Rust API (any target; connects on wasm32 only).
//! - [`core`]: the sans-IO state machine (any target).
//! - `browser` (wasm32 only): the driver that runs the core against the browser's WebSocket.
//! - `TetherSocket` (wasm32 only): the JS class, exported through wasm-bindgen.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod api;
pub mod core;

pub use api::*;

#[cfg(target_arch = "wasm32")]
pub mod browser;

#[cfg(target_arch = "wasm32")]
mod js;

#[cfg(target_arch = "wasm32")]
pub use js::TetherSocket;
