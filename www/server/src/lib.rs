//! tether-server: the reference server of the tether continuity protocol, version 1
//! (`PROTOCOL.md` at the repository's root): every message is delivered once, in order, in
//! both directions, across the client's reconnects, for as long as its session lives; a
//! session that ends is reported, never lost silently.
//!
//! The rules live in the sans-IO engine [`tether_ws::core::continuity::Sessions`]; this crate
//! is its tokio I/O: the WebSocket upgrade (subprotocol, origin, the application's `auth`
//! hook), one task per connection, one timer per server, and the limits.
//!
//! - [`Server::new`] takes a [`Config`]; a [`Server`] is cheap to clone (an `Arc` inside).
//! - Run it with [`Server::serve`] (a plain accept loop on a `TcpListener`),
//!   [`Server::accept`] (one stream you accepted yourself, e.g. after TLS), or
//!   [`Server::axum_route`] (feature `axum`, on by default).
//! - The application receives [`ServerEvent`]s from [`Server::events`]: each client message
//!   once and in order ([`ServerEvent::Message`]), and the sessions opening and ending.
//! - It sends with [`Server::send`]: delivered once, in order, even across the client's
//!   reconnects; `Err` for a session that is unknown or has ended.
//!
//! ```
//! use futures_util::{SinkExt, StreamExt};
//! use tether_server::{Config, Server, ServerEvent};
//! use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message as Ws};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // An echo server on a free loopback port.
//! let server = Server::new(Config::default());
//! let mut events = server.events().expect("taken once");
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let addr = listener.local_addr()?;
//! tokio::spawn({
//!     let server = server.clone();
//!     async move { server.serve(listener).await }
//! });
//! tokio::spawn({
//!     let server = server.clone();
//!     async move {
//!         while let Some(event) = events.recv().await {
//!             if let ServerEvent::Message { sid, payload } = event {
//!                 let _ = server.send(&sid, payload); // back to the same session
//!             }
//!         }
//!     }
//! });
//!
//! // A client, by hand: offer `tether.v1`, say hello, send message 1, get it back.
//! let mut req = format!("ws://{addr}/").into_client_request()?;
//! req.headers_mut().insert("Sec-WebSocket-Protocol", "tether.v1".parse()?);
//! let (mut ws, _) = tokio_tungstenite::connect_async(req).await?;
//! ws.send(Ws::text(r#"{"t":"hello","v":1,"sid":null,"tok":null,"rx":0}"#)).await?;
//! let welcome = ws.next().await.expect("a frame")?;
//! assert!(welcome.to_text()?.contains(r#""resumed":false"#));
//! ws.send(Ws::text("D1,0;hi")).await?;
//! let echo = ws.next().await.expect("a frame")?;
//! assert_eq!(echo.to_text()?, "D1,1;hi"); // seq 1, and it acks our 1
//! # Ok(())
//! # }
//! ```
//!
//! The limits, with their defaults, are [`Config`]'s fields; what happens at each is
//! documented there.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod config;
mod conn;
mod handshake;
mod message;
#[cfg(feature = "redis")]
mod redis_store;
mod server;
mod shared;
pub mod store;

#[cfg(feature = "axum")]
mod axum_route;

#[cfg(feature = "axum")]
pub use axum_route::handshake_key;

pub use config::{AuthHook, Config, Refusal, Request, SessionConfig, Window};
pub use message::{EndReason, Message, SendError, ServerEvent, Sid};
pub use server::{Events, Server};
pub use store::SessionStore;

#[cfg(feature = "redis")]
pub use redis_store::RedisStore;

/// The `http` crate (the types of [`Request`] and [`Refusal`]).
pub use tokio_tungstenite::tungstenite::http;
/// The byte buffer of binary payloads (the `bytes` crate's, as tungstenite uses it).
pub use tokio_tungstenite::tungstenite::Bytes;
/// A UTF-8 byte buffer: the payload of a text message (tungstenite's).
pub use tokio_tungstenite::tungstenite::Utf8Bytes;

/// The close codes this server writes, besides the protocol's 4001, 4002 and 4003
/// ([`tether_ws::core::continuity::CLOSE_SUPERSEDED`] and its kin).
pub mod close {
    /// A frame over [`Config::max_message_bytes`](crate::Config::max_message_bytes).
    pub const MESSAGE_TOO_BIG: u16 = 1009;
    /// The client does not read: its outgoing queue filled, or a write stalled past
    /// [`Config::write_timeout_ms`](crate::Config::write_timeout_ms). Its session stays:
    /// it may resume.
    pub const TOO_SLOW: u16 = 1013;
    /// [`Server::shutdown`](crate::Server::shutdown), or a connection silent for
    /// [`Config::idle_timeout_ms`](crate::Config::idle_timeout_ms).
    pub const GOING_AWAY: u16 = 1001;
    /// A WebSocket-level protocol error (bad opcode, unmasked frame, …).
    pub const WS_PROTOCOL_ERROR: u16 = 1002;
    /// A text frame that is not UTF-8.
    pub const INVALID_UTF8: u16 = 1007;
    /// The server could not draw random bytes for a session's tokens.
    pub const INTERNAL_ERROR: u16 = 1011;
    /// With a shared store: a resume's claim got no answer from the store in time (it is
    /// down or cut off). The session is not lost: the client resumes on its next attempt.
    pub const TRY_AGAIN_LATER: u16 = 1013;
    /// No `hello` within [`Config::hello_timeout_ms`](crate::Config::hello_timeout_ms): a
    /// protocol error (4002), as the protocol wants `hello` first.
    pub const NO_HELLO: u16 = tether_ws::core::continuity::CLOSE_PROTOCOL_ERROR;
}
