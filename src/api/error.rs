//! What can go wrong: [`Error`], what a call returns, and [`ConnectionError`], what the
//! connection reports in [`Event::Error`](super::Event::Error); with their typed causes.

use core::fmt;
use std::sync::Arc;

use super::types::Message;
pub use crate::core::{CloseArgError, ConfigError};

/// Why a call failed: [`SocketBuilder::connect`](super::SocketBuilder::connect),
/// [`Socket::close`](super::Socket::close), [`Socket::send_json`](super::Socket::send_json),
/// [`Socket::opened`](super::Socket::opened). What goes wrong with a connection later is
/// not an `Error` but an event: [`ConnectionError`].
///
/// ```no_run
/// use tether_ws::{Error, Socket};
///
/// fn open(url: &str) -> Option<Socket> {
///     match Socket::builder(url).connect() {
///         Ok(socket) => Some(socket),
///         // Server-side rendering: no browser, no socket; the client makes it.
///         Err(Error::Unsupported) => None,
///         Err(Error::InvalidUrl(e)) => panic!("bad URL {url:?}: {e}"),
///         Err(e) => panic!("{e}"),
///     }
/// }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// The URL cannot be connected to (it does not parse, has another scheme than
    /// ws/wss/http/https, carries a fragment, or is too long).
    InvalidUrl(UrlError),
    /// A subprotocol is not a valid token or is listed twice.
    InvalidProtocol(ProtocolError),
    /// An option is out of range.
    InvalidOption(ConfigError),
    /// A close code or reason the protocol does not allow.
    InvalidClose(CloseArgError),
    /// The outbox is full and the overflow policy is `Reject` (from
    /// [`Socket::send_json`](super::Socket::send_json), whose caller still has the value,
    /// or a [`SendError::QueueFull`] converted with `?`).
    QueueFull,
    /// A message could not be encoded as JSON.
    Encode(EncodeError),
    /// A message could not be encoded by a [`TypedSocket`](super::TypedSocket)'s codec
    /// (other than [`Json`](super::Json), whose errors are [`Error::Encode`]).
    Codec(super::CodecError),
    /// Not running in a browser (a native or server-side build): there is no WebSocket.
    Unsupported,
    /// Another live socket on this page keeps its session under the same persist key
    /// ([`ContinuityOptions::persist_key`](super::ContinuityOptions::persist_key)): two
    /// sockets must never share a session. Give each its own key.
    PersistKeyInUse,
    /// The socket is closed and not retrying (closed by [`Socket::close`](super::Socket::close),
    /// out of retries, or made with `start_closed` and not yet reconnected), so what was
    /// awaited ([`Socket::opened`](super::Socket::opened)) will not happen without a
    /// [`Socket::reconnect`](super::Socket::reconnect).
    Closed,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidUrl(e) => e.fmt(f),
            Error::InvalidProtocol(e) => e.fmt(f),
            Error::InvalidOption(e) => e.fmt(f),
            Error::InvalidClose(e) => e.fmt(f),
            Error::QueueFull => f.write_str("the outbox is full (overflow policy: reject)"),
            Error::Encode(e) => e.fmt(f),
            Error::Codec(e) => write!(f, "could not encode the message: {e}"),
            Error::Unsupported => f.write_str(
                "WebSockets need a browser: tether-ws sockets only run on wasm32 in a web page or worker",
            ),
            Error::Closed => f.write_str("the socket is closed and not retrying: reconnect() it first"),
            Error::PersistKeyInUse => f.write_str(
                "another socket on this page persists its session under this key: give each its own `persist_key`",
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::InvalidUrl(e) => Some(e),
            Error::InvalidProtocol(e) => Some(e),
            Error::InvalidOption(e) => Some(e),
            Error::InvalidClose(e) => Some(e),
            Error::Encode(e) => Some(e),
            Error::Codec(e) => Some(e),
            Error::QueueFull | Error::Unsupported | Error::PersistKeyInUse | Error::Closed => None,
        }
    }
}

/// Why [`Socket::send`](super::Socket::send) (or
/// [`send_replacing`](super::Socket::send_replacing)) refused a message, with the message:
/// every variant gives it back ([`into_message`](Self::into_message)), as
/// `std::sync::mpsc::SendError<T>` and tokio's `TrySendError<T>` do.
///
/// `?` converts it into an [`Error`] ([`Error::QueueFull`]), which lets the message go.
///
/// ```no_run
/// # fn demo(socket: &tether_ws::Socket) {
/// use tether_ws::{SendError, Sent};
///
/// match socket.send("move 3 4") {
///     Ok(Sent::Written | Sent::Queued) => {}
///     Ok(_) => {} // Sent::Dropped: the overflow policy discarded it (an Event::Dropped says so)
///     Err(SendError::QueueFull(message)) => {
///         // Overflow::Reject and a full outbox: keep it and try again later.
///         let _retry_later = message;
///     }
///     Err(_) => {}
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// The outbox is full and the overflow policy is [`Overflow::Reject`](super::Overflow):
    /// the message was neither sent nor queued. It was not reported in an
    /// [`Event::Dropped`](super::Event::Dropped) either: here it is.
    QueueFull(Message),
}

impl SendError {
    /// The message that was refused.
    ///
    /// ```no_run
    /// # fn demo(socket: &tether_ws::Socket) {
    /// if let Err(e) = socket.send("move 3 4") {
    ///     println!("not sent ({e}): {} bytes", e.message().len());
    /// }
    /// # }
    /// ```
    pub fn message(&self) -> &Message {
        match self {
            SendError::QueueFull(m) => m,
        }
    }

    /// Takes the message that was refused back.
    ///
    /// ```no_run
    /// # fn demo(socket: &tether_ws::Socket, later: &mut Vec<tether_ws::Message>) {
    /// // The outbox is full (Overflow::Reject): keep the message to send once it drains.
    /// if let Err(e) = socket.send("move 3 4") {
    ///     later.push(e.into_message());
    /// }
    /// # }
    /// ```
    pub fn into_message(self) -> Message {
        match self {
            SendError::QueueFull(m) => m,
        }
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::QueueFull(_) => Error::QueueFull.fmt(f),
        }
    }
}

impl std::error::Error for SendError {}

impl From<SendError> for Error {
    fn from(e: SendError) -> Self {
        match e {
            SendError::QueueFull(_) => Error::QueueFull,
        }
    }
}

/// What went wrong with a connection, as told in [`Event::Error`](super::Event::Error).
/// None ends the socket by itself: the attempt or connection is closed and retried with
/// backoff (within [`max_retries`](super::ReconnectOptions::max_retries)), except
/// `Persistence`, which leaves the connection as it is.
///
/// ```no_run
/// # fn demo(socket: &tether_ws::Socket) {
/// use tether_ws::{ConnectionError, Event};
///
/// let _guard = socket.on_event(|event| match event {
///     Event::Error(ConnectionError::ConnectionTimeout) => println!("server slow to answer"),
///     Event::Error(ConnectionError::MessageTooBig) => println!("server sent too much"),
///     Event::Error(e) => println!("connection error: {e}"),
///     _ => {}
/// });
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConnectionError {
    /// The browser reported an error on the socket, or could not create it.
    Socket,
    /// A connection attempt did not open within the connection timeout.
    ConnectionTimeout,
    /// The server sent a message larger than the `max_message_bytes` limit.
    MessageTooBig,
    /// The server broke the continuity protocol (the socket was closed with 4002).
    ProtocolError,
    /// Continuity is required and the server does not speak it.
    NoContinuity,
    /// Keeping the session across page loads
    /// ([`ContinuityOptions::persist`](super::ContinuityOptions::persist)) failed; the
    /// connection and its continuity go on.
    Persistence(PersistError),
}

impl fmt::Display for ConnectionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConnectionError::Persistence(e) => return e.fmt(f),
            ConnectionError::Socket => "the WebSocket reported an error",
            ConnectionError::ConnectionTimeout => "the connection attempt timed out",
            ConnectionError::MessageTooBig => "the server sent a message larger than max_message_bytes",
            ConnectionError::ProtocolError => "the server broke the continuity protocol",
            ConnectionError::NoContinuity => "the server does not speak the continuity protocol",
        })
    }
}

impl std::error::Error for ConnectionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConnectionError::Persistence(e) => Some(e),
            _ => None,
        }
    }
}

/// Why a session could not be kept across page loads, as told in
/// [`ConnectionError::Persistence`].
///
/// ```
/// use tether_ws::{ConnectionError, Event, PersistError};
///
/// fn on_event(event: &Event) {
///     if let Event::Error(ConnectionError::Persistence(PersistError::Failed)) = event {
///         // Storage is full: the page goes on, but a reload now begins a new session.
///     }
/// }
/// # on_event(&Event::Open);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PersistError {
    /// There is no `sessionStorage` to use (a worker, storage disabled or refused):
    /// persistence is off; continuity goes on without it.
    Unavailable,
    /// `sessionStorage` threw (full: over its quota): persistence is off and what was kept
    /// is removed; continuity goes on without it.
    Failed,
    /// The session found in storage could not be taken up (not a record this version
    /// wrote, or its messages are not all there): a new session begins, and the messages
    /// kept are sent in it (the server may see some twice). Persistence stays on.
    Refused,
}

impl fmt::Display for PersistError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PersistError::Unavailable => {
                "persistence off: there is no sessionStorage; continuity goes on without it"
            }
            PersistError::Failed => {
                "persistence off: sessionStorage failed (full?); continuity goes on without it"
            }
            PersistError::Refused => {
                "the session in storage was refused: a new session begins, and the messages kept are sent in it"
            }
        })
    }
}

impl std::error::Error for PersistError {}

/// Why a URL cannot be connected to: the rules the browser's `WebSocket` constructor would
/// throw a `SyntaxError` for. Checked by [`SocketBuilder::connect`](super::SocketBuilder::connect),
/// in the browser.
///
/// ```no_run
/// use tether_ws::{Error, Socket, UrlError};
///
/// let err = Socket::builder("wss://example.com/live#room").connect().unwrap_err();
/// assert_eq!(err, Error::InvalidUrl(UrlError::Fragment)); // put the room in the path or query
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UrlError {
    /// The URL does not parse.
    Invalid,
    /// The scheme is not ws, wss, http or https.
    Scheme,
    /// WebSocket URLs cannot carry a fragment.
    Fragment,
    /// The URL is longer than browsers accept (2 MiB).
    TooLong,
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UrlError::Invalid => "invalid WebSocket URL",
            UrlError::Scheme => "WebSocket URL scheme must be ws:, wss:, http: or https:",
            UrlError::Fragment => "WebSocket URL must not contain a fragment (#...)",
            UrlError::TooLong => "WebSocket URL is too long (over 2 MiB)",
        })
    }
}

impl std::error::Error for UrlError {}

/// Why a subprotocol list cannot be offered ([`Error::InvalidProtocol`], from
/// [`SocketBuilder::connect`](super::SocketBuilder::connect) in the browser).
///
/// ```no_run
/// use tether_ws::{Error, ProtocolError, Socket};
///
/// let err = Socket::builder("wss://example.com/live").protocols(["chat v2"]).connect().unwrap_err();
/// assert_eq!(err, Error::InvalidProtocol(ProtocolError::NotAToken)); // no spaces: "chat.v2"
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProtocolError {
    /// A subprotocol is empty or has characters outside the HTTP token set.
    NotAToken,
    /// A subprotocol is listed twice.
    Duplicate,
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProtocolError::NotAToken => {
                "subprotocol must be a non-empty HTTP token (no spaces, commas or separators)"
            }
            ProtocolError::Duplicate => "subprotocol listed more than once",
        })
    }
}

impl std::error::Error for ProtocolError {}

/// A value that serde_json could not encode; [`source`](std::error::Error::source) is
/// serde_json's error. Cloning shares it; two are equal when serde_json says the same thing
/// (category, message and position).
///
/// ```no_run
/// # fn demo(socket: &tether_ws::Socket) {
/// use std::collections::HashMap;
/// use tether_ws::Error;
///
/// // JSON object keys must be strings: a map keyed by pairs cannot be encoded.
/// let grid = HashMap::from([((0, 0), "start")]);
/// if let Err(Error::Encode(e)) = socket.send_json(&grid) {
///     println!("not sent: {e}");
/// }
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct EncodeError(Arc<serde_json::Error>);

impl PartialEq for EncodeError {
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (&*self.0, &*other.0);
        Arc::ptr_eq(&self.0, &other.0)
            || (a.classify() == b.classify()
                && (a.line(), a.column()) == (b.line(), b.column())
                && a.to_string() == b.to_string())
    }
}

impl EncodeError {
    /// serde_json's error.
    ///
    /// ```
    /// use tether_ws::EncodeError;
    ///
    /// # let e: EncodeError = serde_json::to_string(&std::collections::HashMap::from([((0, 0), 1)])).unwrap_err().into();
    /// // serde_json's own words, without the "could not encode" prefix of `e.to_string()`.
    /// assert_eq!(e.json().to_string(), "key must be a string");
    /// ```
    pub fn json(&self) -> &serde_json::Error {
        &self.0
    }
}

impl From<serde_json::Error> for EncodeError {
    fn from(e: serde_json::Error) -> Self {
        EncodeError(Arc::new(e))
    }
}

impl EncodeError {
    /// The error `e`, already shared (the typed layer's JSON codec keeps it so).
    pub(crate) fn from_shared(e: Arc<serde_json::Error>) -> Self {
        EncodeError(e)
    }
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "could not encode the message as JSON: {}", self.0)
    }
}

impl std::error::Error for EncodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn causes_are_typed_and_are_the_source() {
        let json = serde_json::to_string(&std::collections::HashMap::from([((1, 2), 3)])).unwrap_err();
        let text = json.to_string();
        let err = Error::Encode(json.into());
        assert!(err.to_string().ends_with(&text), "{err}");
        assert_eq!(err, err.clone());
        let other = serde_json::to_string(&std::collections::HashMap::from([((1, 2), 3)])).unwrap_err();
        assert_eq!(
            err,
            Error::Encode(other.into()),
            "equal when serde_json says the same"
        );
        let different = serde_json::from_str::<u8>("x").unwrap_err();
        assert_ne!(err, Error::Encode(different.into()));
        let encode = err.source().expect("Encode has a source");
        assert_eq!(encode.source().map(|e| e.to_string()), Some(text));

        let err = Error::InvalidUrl(UrlError::Fragment);
        assert_eq!(err.to_string(), UrlError::Fragment.to_string());
        assert_eq!(
            err.source().map(|e| e.to_string()),
            Some(UrlError::Fragment.to_string())
        );
        assert!(Error::Unsupported.source().is_none());
        assert!(!ConnectionError::ConnectionTimeout.to_string().is_empty());
    }
}
