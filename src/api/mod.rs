//! The Rust API for Yew, Leptos and plain wasm-bindgen apps: [`Socket`], a stream of
//! [`Event`]s, and the typed layer [`TypedSocket`] (JSON or another [`Codec`]).
//!
//! Everything here compiles on every target so that server-side rendering builds work; only
//! in the browser (wasm32) does [`SocketBuilder::connect`] succeed — elsewhere it returns
//! [`Error::Unsupported`].

mod codec;
mod error;
#[cfg(any(feature = "leptos", feature = "yew"))]
mod hooks;
#[cfg(any(target_arch = "wasm32", feature = "testing"))]
mod protocols;
mod socket;
mod subscribers;
mod typed;
mod types;
mod waiters;

#[cfg(feature = "msgpack")]
pub use codec::MsgPack;
#[cfg(feature = "postcard")]
pub use codec::Postcard;
pub use codec::{Codec, CodecError, Json};
#[cfg(feature = "codee")]
pub use codec::{CodeeBinary, CodeeText};
pub use error::{
    CloseArgError, ConfigError, ConnectionError, EncodeError, Error, PersistError, ProtocolError, SendError,
    UrlError,
};
#[cfg(any(target_arch = "wasm32", feature = "testing"))]
pub(crate) use protocols::check_protocols;
pub use socket::{Flushed, Opened, Socket, SocketBuilder, Subscription, DEFAULT_HIGH_WATER_MARK};
pub use subscribers::EventStream;
pub use typed::{decode, decode_with, TypedEvent, TypedEventStream, TypedSocket, TypedSubscription};
pub use types::{
    CloseInfo, ContinuityMode, ContinuityOptions, DropReason, Event, HeartbeatOptions, IsPong, Jitter,
    Message, Overflow, Persist, QueueOptions, ReconnectOptions, RetryReason, Sent, SessionStart, State,
};

#[cfg(feature = "leptos")]
pub use hooks::leptos;
#[cfg(feature = "yew")]
pub use hooks::yew;
