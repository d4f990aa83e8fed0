//! What the application receives and sends.

use std::fmt;
use std::sync::Arc;

use tether_ws::core::continuity::ResumeReason;
use tokio_tungstenite::tungstenite::{Bytes, Utf8Bytes};

/// A session id, as issued by the server (32 hex digits). Cheap to clone.
pub type Sid = Arc<str>;

/// One application message: text or binary, as the client sent it (the payload of a data
/// frame, without its header) or as the application sends it. Cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message (a text frame on the wire).
    Text(Utf8Bytes),
    /// A binary message (a binary frame on the wire).
    Binary(Bytes),
}

impl Message {
    /// A text message.
    pub fn text(text: impl Into<Utf8Bytes>) -> Self {
        Message::Text(text.into())
    }

    /// A binary message.
    pub fn binary(bytes: impl Into<Bytes>) -> Self {
        Message::Binary(bytes.into())
    }

    /// The payload's bytes (a text message's UTF-8).
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Message::Text(t) => t.as_bytes(),
            Message::Binary(b) => b,
        }
    }

    /// The text, for a text message.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Message::Text(t) => Some(t.as_str()),
            Message::Binary(_) => None,
        }
    }

    /// Whether it is a text message.
    pub fn is_text(&self) -> bool {
        matches!(self, Message::Text(_))
    }

    /// The payload's size in bytes (what the window counts).
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The payload of a frame from `at` on, of the same kind; `None` if `at` is past its
    /// end (or, for text, not on a character boundary: the engine never says so, since data
    /// headers are ASCII). Shares the frame's buffer.
    pub(crate) fn tail(&self, at: usize) -> Option<Message> {
        match self {
            Message::Text(t) => {
                t.as_str().get(at..)?;
                let bytes = Bytes::from(t.clone()).slice(at..);
                Utf8Bytes::try_from(bytes).ok().map(Message::Text)
            }
            Message::Binary(b) => (at <= b.len()).then(|| Message::Binary(b.slice(at..))),
        }
    }
}

impl From<&str> for Message {
    fn from(s: &str) -> Self {
        Message::Text(s.into())
    }
}

impl From<String> for Message {
    fn from(s: String) -> Self {
        Message::Text(s.into())
    }
}

impl From<Utf8Bytes> for Message {
    fn from(t: Utf8Bytes) -> Self {
        Message::Text(t)
    }
}

impl From<Vec<u8>> for Message {
    fn from(b: Vec<u8>) -> Self {
        Message::Binary(b.into())
    }
}

impl From<&[u8]> for Message {
    fn from(b: &[u8]) -> Self {
        Message::Binary(Bytes::copy_from_slice(b))
    }
}

impl From<Bytes> for Message {
    fn from(b: Bytes) -> Self {
        Message::Binary(b)
    }
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndReason {
    /// The client said `bye` (its `close()`): a later resume is answered `"unknown"`.
    Bye,
    /// Its client stayed away past the TTL (`"expired"` on a later resume).
    Expired,
    /// Its queue for the client overflowed (`"overflow"` on a later resume; its connection,
    /// if any, was closed with 4003).
    Overflow,
    /// The shared store no longer has it (it restarted empty, was flushed, or the session
    /// expired there): its connection, if any, was closed with 4003, and its client's resume
    /// is refused (`"unknown"`).
    Lost,
}

impl EndReason {
    /// `"bye"`, `"expired"` or `"overflow"`.
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Bye => "bye",
            EndReason::Expired => "expired",
            EndReason::Overflow => "overflow",
            EndReason::Lost => "lost",
        }
    }

    /// The engine ends sessions only as expired or overflowed.
    pub(crate) fn from_engine(reason: ResumeReason) -> Self {
        match reason {
            ResumeReason::Overflow => EndReason::Overflow,
            _ => EndReason::Expired,
        }
    }
}

impl fmt::Display for EndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happened, for the application, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerEvent {
    /// A `hello` was answered: session `sid` is live on a connection, new or resumed.
    Opened {
        /// The session.
        sid: Sid,
        /// Whether an existing session was resumed (false: a new one).
        resumed: bool,
        /// The application's part of the selected subprotocol (`"chat"` for
        /// `tether.v1+chat`), `""` for plain `tether.v1`.
        protocol: Arc<str>,
    },
    /// The next message of session `sid`, exactly once and in order, across its client's
    /// reconnects.
    Message {
        /// The session.
        sid: Sid,
        /// The client's message.
        payload: Message,
    },
    /// Session `sid` ended; [`Server::send`](crate::Server::send) to it now fails.
    Ended {
        /// The session.
        sid: Sid,
        /// Why.
        reason: EndReason,
        /// Messages sent to it that its client never acknowledged (unacknowledged and
        /// queued): they may or may not have reached the client's application.
        undelivered: usize,
    },
    /// With a shared store: session `sid` resumed on another node, which carries it from
    /// now on (the connection it had here was closed with 4001). It did not end: its
    /// messages go on there; [`Server::send`](crate::Server::send) to it here now fails.
    Moved {
        /// The session.
        sid: Sid,
        /// Messages sent to it here that the store never took (the session had moved
        /// before they were written): they will not reach its client. Send them again on
        /// the node that has it now if they matter. Usually 0.
        unsent: usize,
    },
}

/// Why [`Server::send`](crate::Server::send) refused a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// No such session (never opened, said `bye`, expired, or overflowed earlier).
    UnknownSession,
    /// The session's queue was full: the session was ended now (`"overflow"`; an
    /// [`ServerEvent::Ended`] follows).
    Overflow,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SendError::UnknownSession => "no such session",
            SendError::Overflow => "the session's queue overflowed: the session was ended",
        })
    }
}

impl std::error::Error for SendError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tails() {
        let t = Message::text("D1,0;héllo");
        assert_eq!(t.tail(5), Some(Message::text("héllo")));
        assert_eq!(t.tail(11), Some(Message::text("")));
        assert_eq!(t.tail(7), None, "inside é");
        assert_eq!(t.tail(12), None);
        let b = Message::binary(vec![1, 2, 3]);
        assert_eq!(b.tail(1), Some(Message::binary(vec![2, 3])));
        assert_eq!(b.tail(3), Some(Message::binary(Vec::new())));
        assert_eq!(b.tail(4), None);
    }
}
