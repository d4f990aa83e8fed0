//! The Rust API for Yew, Leptos and plain wasm-bindgen apps: [`Socket`], a stream of
//! [`Event`]s, and the typed JSON layer [`TypedSocket`].
//!
//! Everything here compiles on every target so that server-side rendering builds work; only
//! in the browser (wasm32) does [`SocketBuilder::connect`] succeed — elsewhere it returns
//! [`Error::Unsupported`].

mod error;
#[cfg(any(feature = "leptos", feature = "yew"))]
mod hooks;
mod socket;
mod subscribers;
mod typed;
mod types;
mod waiters;

pub use error::{
    CloseArgError, ConfigError, ConnectionError, EncodeError, Error, PersistError, ProtocolError, SendError,
    UrlError,
};
pub use socket::{Flushed, Opened, Socket, SocketBuilder, Subscription, DEFAULT_HIGH_WATER_MARK};
pub use subscribers::EventStream;
pub use typed::{decode, TypedEvent, TypedEventStream, TypedSocket};
pub use types::{
    CloseInfo, ContinuityMode, ContinuityOptions, DropReason, Event, HeartbeatOptions, IsPong, Jitter,
    Message, Overflow, Persist, QueueOptions, ReconnectOptions, RetryReason, Sent, SessionStart, State,
};

#[cfg(feature = "leptos")]
pub use hooks::leptos;
#[cfg(feature = "yew")]
pub use hooks::yew;
