//! A socket that speaks JSON-encoded Rust types.

use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::stream::FusedStream;
use futures_core::Stream;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::error::Error;
use super::socket::Socket;
use super::subscribers::EventStream;
use super::types::{Event, Message, Sent};

/// An event of a [`TypedSocket`]: decoded messages, undecodable ones, and everything else.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum TypedEvent<In> {
    /// A message that decoded as `In`.
    Message(In),
    /// A message that did not decode: the raw message and the decoder's explanation.
    DecodeError {
        /// The message as received.
        raw: Message,
        /// Why it did not decode.
        error: String,
    },
    /// Any other event (open, close, reconnecting, ...).
    Other(Event),
}

/// Wraps a [`Socket`]: sends `Out` as JSON text and decodes incoming text (or binary) JSON
/// into `In`. Decoding uses serde_json inside wasm, which measured smaller and faster than a
/// round trip through the browser's `JSON.parse` plus serde-wasm-bindgen for typical
/// messages, and keeps the typed layer usable on native targets for tests.
///
/// ```no_run
/// # fn demo() -> Result<(), tether_ws::Error> {
/// use serde::{Deserialize, Serialize};
/// use tether_ws::{Socket, TypedSocket};
///
/// #[derive(Serialize)]
/// struct Say { text: String }
/// #[derive(Deserialize)]
/// struct Said { from: String, text: String }
///
/// let chat: TypedSocket<Said, Say> = TypedSocket::new(Socket::builder("wss://example.com/chat").connect()?);
/// chat.send(&Say { text: "hi".into() })?;
/// # Ok(())
/// # }
/// ```
pub struct TypedSocket<In, Out> {
    socket: Socket,
    _types: PhantomData<fn(Out) -> In>,
}

// Manual impls: a derive would needlessly require `In` and `Out` to be Clone/Debug.
impl<In, Out> Clone for TypedSocket<In, Out> {
    fn clone(&self) -> Self {
        TypedSocket {
            socket: self.socket.clone(),
            _types: PhantomData,
        }
    }
}

impl<In, Out> std::fmt::Debug for TypedSocket<In, Out> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("TypedSocket").field(&self.socket).finish()
    }
}

impl<In: DeserializeOwned, Out: Serialize> TypedSocket<In, Out> {
    /// Wraps a socket.
    pub fn new(socket: Socket) -> Self {
        TypedSocket {
            socket,
            _types: PhantomData,
        }
    }

    /// The underlying socket (for state, close, reconnect, raw sends).
    pub fn socket(&self) -> &Socket {
        &self.socket
    }

    /// Sends `value` as JSON text ([`Socket::send_json`]); see [`Socket::send`] for the
    /// result.
    pub fn send(&self, value: &Out) -> Result<Sent, Error> {
        self.socket.send_json(value)
    }

    /// A new stream of typed events from now on.
    pub fn events(&self) -> TypedEventStream<In> {
        TypedEventStream {
            inner: self.socket.events(),
            _type: PhantomData,
        }
    }
}

/// Decodes one message as JSON.
pub fn decode<In: DeserializeOwned>(message: Message) -> TypedEvent<In> {
    let result = match &message {
        Message::Text(s) => serde_json::from_str(s),
        Message::Binary(b) => serde_json::from_slice(b),
    };
    match result {
        Ok(value) => TypedEvent::Message(value),
        Err(e) => TypedEvent::DecodeError {
            raw: message,
            error: e.to_string(),
        },
    }
}

/// The stream behind [`TypedSocket::events`]. Like [`EventStream`], it does not keep the
/// socket alive, and it is a [`FusedStream`]: `is_terminated` once the socket is gone and
/// every buffered event was read.
///
/// ```no_run
/// # fn demo(socket: tether_ws::TypedSocket<String, String>) {
/// use futures::stream::FusedStream;
///
/// let events = socket.events();
/// assert!(!events.is_terminated()); // the socket is still alive
/// # }
/// ```
pub struct TypedEventStream<In> {
    inner: EventStream,
    _type: PhantomData<fn() -> In>,
}

impl<In: DeserializeOwned> Stream for TypedEventStream<In> {
    type Item = TypedEvent<In>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.inner).poll_next(cx).map(|event| {
            event.map(|e| match e {
                Event::Message(m) => decode(m),
                other => TypedEvent::Other(other),
            })
        })
    }
}

impl<In: DeserializeOwned> FusedStream for TypedEventStream<In> {
    fn is_terminated(&self) -> bool {
        self.inner.is_terminated()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct Point {
        x: i32,
        y: i32,
    }

    #[test]
    fn decodes_text_and_binary_and_reports_garbage() {
        assert_eq!(
            decode::<Point>(Message::from(r#"{"x":1,"y":2}"#)),
            TypedEvent::Message(Point { x: 1, y: 2 })
        );
        assert_eq!(
            decode::<Point>(Message::Binary(br#"{"x":3,"y":4}"#.to_vec())),
            TypedEvent::Message(Point { x: 3, y: 4 })
        );
        for garbage in ["", "{", "null", r#"{"x":"a","y":1}"#, "\u{0}"] {
            match decode::<Point>(Message::from(garbage)) {
                TypedEvent::DecodeError { raw, error } => {
                    assert_eq!(raw, Message::from(garbage));
                    assert!(!error.is_empty());
                }
                other => panic!("{garbage:?} decoded as {other:?}"),
            }
        }
        let bad_utf8 = Message::Binary(vec![0xff, 0xfe]);
        assert!(matches!(
            decode::<Point>(bad_utf8),
            TypedEvent::DecodeError { .. }
        ));
    }
}
