//! tether-ws: a browser WebSocket client with typed events, auto-reconnect with backoff and
//! jitter, a bounded outbox, and heartbeats.
//!
//! - [`Socket`], [`TypedSocket`], [`Event`]: the Rust API (feature `std`, on by default; any
//!   target; connects on wasm32 only).
//! - [`core`]: the sans-IO state machine (any target; needs only `core` and `alloc`).
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
