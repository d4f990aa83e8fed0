//! The values the Rust API speaks in: messages, events and options (errors: error.rs).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::error::ConnectionError;
pub use crate::core::{CloseInfo, DropReason, Overflow, RetryReason, SessionStart, State};

/// A WebSocket message: a text frame or a binary one. `From` makes one of a `&str` or
/// `String` (text) and of a `Vec<u8>` (binary), so [`Socket::send`](super::Socket::send)
/// takes those directly.
///
/// ```no_run
/// # fn demo(socket: &tether_ws::Socket, event: tether_ws::Event) -> Result<(), tether_ws::SendError> {
/// use tether_ws::{Event, Message};
///
/// socket.send("hello")?; // Message::Text
/// socket.send(vec![1, 2, 3])?; // Message::Binary
/// if let Event::Message(message) = event {
///     match message {
///         Message::Text(text) => println!("text: {text}"),
///         Message::Binary(bytes) => println!("{} bytes", bytes.len()),
///     }
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text frame.
    Text(String),
    /// A binary frame.
    Binary(Vec<u8>),
}

impl Message {
    /// Bytes on the wire (UTF-8 for text): what the outbox bounds and
    /// [`max_message_bytes`](super::SocketBuilder::max_message_bytes) count.
    ///
    /// ```
    /// use tether_ws::Message;
    ///
    /// assert_eq!(Message::from("héllo").len(), 6); // é is two bytes in UTF-8
    /// assert_eq!(Message::from(vec![0u8; 4]).len(), 4);
    /// ```
    pub fn len(&self) -> usize {
        match self {
            Message::Text(s) => s.len(),
            Message::Binary(b) => b.len(),
        }
    }

    /// True for an empty message.
    ///
    /// ```
    /// use tether_ws::Message;
    ///
    /// assert!(Message::from("").is_empty());
    /// assert!(!Message::from("ping").is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl From<String> for Message {
    fn from(s: String) -> Self {
        Message::Text(s)
    }
}

impl From<&str> for Message {
    fn from(s: &str) -> Self {
        Message::Text(s.to_owned())
    }
}

impl From<Vec<u8>> for Message {
    fn from(b: Vec<u8>) -> Self {
        Message::Binary(b)
    }
}

/// What became of a message handed to [`Socket::send`](super::Socket::send) (or
/// [`send_replacing`](super::Socket::send_replacing), [`send_json`](super::Socket::send_json)).
/// A refusal (the outbox full under [`Overflow::Reject`]) is an error instead,
/// [`SendError::QueueFull`](super::SendError::QueueFull), with the message.
///
/// ```no_run
/// # fn demo(socket: &tether_ws::Socket) -> Result<(), tether_ws::Error> {
/// use tether_ws::Sent;
///
/// if socket.send("hello")? == Sent::Written {
///     // On its way: in the browser's send buffer, or already on the wire.
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Sent {
    /// Written to the open socket (the browser sends it; if the connection dies before its
    /// bytes leave, it is put back in the queue: [`Event::Requeued`]).
    Written,
    /// Queued in the outbox, to be written in order when a connection opens. (It may still
    /// be discarded later: an older message is evicted under [`Overflow::DropOldest`] when
    /// the outbox overflows, or a newer one with the same key replaces it; each such
    /// discard is an [`Event::Dropped`].)
    Queued,
    /// Discarded at once by the overflow policy: the outbox is full under
    /// [`Overflow::DropNewest`], or under [`Overflow::DropOldest`] the message alone exceeds
    /// the outbox's bounds (evicting every other would not make room). The
    /// message is in the [`Event::Dropped`] (reason [`DropReason::Overflow`]) that says so.
    Dropped,
}

impl Sent {
    /// True when written to the socket (`Written`): what the JS face's `send` returns.
    ///
    /// ```no_run
    /// # fn demo(socket: &tether_ws::Socket) -> Result<(), tether_ws::SendError> {
    /// let live = socket.send("typing")?.is_written();
    /// // Not written: queued for the next connection, or dropped by the overflow policy.
    /// # let _ = live;
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_written(self) -> bool {
        self == Sent::Written
    }
}

/// Something that happened on a [`Socket`](super::Socket), read from
/// [`Socket::events`](super::Socket::events) (a stream) or
/// [`Socket::on_event`](super::Socket::on_event) (a callback). Messages from the server are
/// events too, beside the connection's life: a connection that fails or drops is not the
/// end of the stream but an `Error` or `Close`, then a `Reconnecting`, then the next `Open`.
/// The stream ends only when the socket is dropped.
///
/// ```no_run
/// # async fn demo(socket: tether_ws::Socket) {
/// use futures::StreamExt;
/// use tether_ws::{Event, Message};
///
/// let mut events = socket.events();
/// while let Some(event) = events.next().await {
///     match event {
///         Event::Open => println!("connected"),
///         Event::Message(Message::Text(text)) => println!("got {text}"),
///         Event::Message(Message::Binary(bytes)) => println!("got {} bytes", bytes.len()),
///         Event::Close(info) => println!("closed: {} {:?} (clean: {})", info.code, info.reason, info.was_clean),
///         Event::Error(e) => println!("connection error: {e}"),
///         Event::Reconnecting { attempt, delay, reason } => {
///             println!("retry {attempt} in {delay:?} after {}", reason.as_str())
///         }
///         Event::StateChange { from, to } => println!("{from} -> {to}"),
///         Event::Dropped { message, reason } => println!("lost {} bytes: {}", message.len(), reason.as_str()),
///         Event::Requeued { count, .. } => println!("{count} messages will be sent again"),
///         Event::Resume { start, .. } => println!("session: {}", start.as_str()),
///         _ => {} // #[non_exhaustive]: events may be added
///     }
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// Connected; messages queued meanwhile were already written.
    Open,
    /// A message from the server.
    Message(Message),
    /// A connection ended (a retry may follow: see `Reconnecting`).
    Close(CloseInfo),
    /// A connection failed.
    Error(ConnectionError),
    /// A retry is scheduled.
    Reconnecting {
        /// 1 for the first retry after a drop.
        attempt: u32,
        /// Wait before the attempt, jitter included.
        delay: Duration,
        /// What ended the previous connection.
        reason: RetryReason,
    },
    /// The state changed.
    StateChange {
        /// Previous state.
        from: State,
        /// New state.
        to: State,
    },
    /// A queued message was discarded.
    Dropped {
        /// The message.
        message: Message,
        /// Why.
        reason: DropReason,
    },
    /// The connection died with messages still in the browser's send buffer: they never
    /// left, so they were put back at the head of the queue and go out, in order, on the next
    /// connection. Comes just before that connection's `Close`.
    Requeued {
        /// How many messages.
        count: usize,
        /// Their size in bytes (UTF-8 for text).
        bytes: u64,
    },
    /// A connection's continuity session began (continuity on), just before `Open`.
    Resume {
        /// Resumed, or why not.
        start: SessionStart,
        /// Messages in doubt from a lost session sent again first.
        resent: usize,
        /// Messages in doubt from a lost session reported dropped.
        dropped: usize,
        /// The first resume since this socket took up a session kept in storage by an
        /// earlier page or socket ([`ContinuityOptions::persist`]), whether or not the server
        /// then resumed it (`start` says).
        restored: bool,
        /// The session found in storage is another tab's (this tab is its duplicate): it was
        /// left to that tab, and this socket began its own (`start` is then `New`).
        duplicated: bool,
    },
}

/// How much of each reconnect delay is randomised ([`ReconnectOptions::jitter`]): with
/// many clients, jitter spreads out their retries after a server restart.
///
/// ```
/// use tether_ws::{Jitter, ReconnectOptions};
///
/// // Up to 20 % off each delay: each wait is 80 % to 100 % of its base delay.
/// let reconnect = ReconnectOptions::default().jitter(Jitter::Proportional(0.2));
/// // Exact delays, for a single client (tests, a kiosk).
/// let exact = ReconnectOptions::default().jitter(Jitter::None);
/// # let _ = (reconnect, exact);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Jitter {
    /// Exact delays (every client retries in lockstep: avoid with many clients).
    None,
    /// A random fraction up to this (0..=1) is taken off each delay.
    Proportional(f64),
}

/// Reconnect timing. The defaults are the core's ([`Backoff`](crate::core::Backoff)):
/// reconnecting-websocket's, plus 50 % jitter. Start from `default()` and change what you
/// need (new settings may come in a minor release):
///
/// ```
/// use std::time::Duration;
/// use tether_ws::{Jitter, ReconnectOptions};
///
/// let reconnect = ReconnectOptions::default()
///     .min_delay(Duration::from_millis(500))
///     .max_retries(Some(20))
///     .jitter(Jitter::Proportional(0.3));
/// assert_eq!(reconnect.max_delay, Duration::from_secs(10));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ReconnectOptions {
    /// Delay before the first retry (1 s).
    pub min_delay: Duration,
    /// Longest delay (10 s).
    pub max_delay: Duration,
    /// Growth per failed attempt (1.3).
    pub grow_factor: f64,
    /// How long a connection must stay up before the retry count resets (5 s).
    pub min_uptime: Duration,
    /// Retries in a row before giving up (`None`: never give up).
    pub max_retries: Option<u32>,
    /// Randomisation of each delay (`Proportional(0.5)`).
    pub jitter: Jitter,
}

impl Default for ReconnectOptions {
    fn default() -> Self {
        let b = crate::core::Backoff::default();
        ReconnectOptions {
            min_delay: duration(b.min_delay_ms),
            max_delay: duration(b.max_delay_ms),
            grow_factor: b.grow_factor,
            min_uptime: duration(b.min_uptime_ms),
            max_retries: limit(b.max_retries, u32::MAX),
            jitter: Jitter::Proportional(b.jitter),
        }
    }
}

/// Bounds of the outbox (messages sent while not connected). The defaults are the core's
/// ([`QueueLimits`](crate::core::QueueLimits)): unbounded, drop-oldest.
///
/// ```
/// use tether_ws::{Overflow, QueueOptions};
///
/// let queue = QueueOptions::default()
///     .max_messages(Some(500))
///     .overflow(Overflow::DropNewest);
/// assert_eq!(queue.max_bytes, None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueueOptions {
    /// Most messages held (`None`: unbounded).
    pub max_messages: Option<usize>,
    /// Most bytes held (`None`: unbounded).
    pub max_bytes: Option<u64>,
    /// What to do with a send that does not fit.
    pub overflow: Overflow,
}

/// Keep-alive settings. The default timing is the core's
/// ([`Heartbeat`](crate::core::Heartbeat)), the default message `"ping"`. (On a connection
/// that speaks the continuity protocol the protocol's own ping is sent instead of the
/// message, and any frame from the server is the reply: `is_pong` is not asked.)
///
/// Without [`is_pong`](Self::is_pong), any message from the server counts as the
/// heartbeat's reply and is delivered as usual. With it, only the messages it accepts count,
/// and those are not delivered: a server that answers `"ping"` with `"pong"` does not put a
/// `"pong"` in your event stream (nor a decode error in a
/// [`TypedSocket`](super::TypedSocket)'s) every interval.
///
/// ```
/// use std::time::Duration;
/// use tether_ws::{HeartbeatOptions, Message};
///
/// let heartbeat = HeartbeatOptions::default()
///     .interval(Duration::from_secs(15))
///     .message("ping")
///     .is_pong(|m| *m == Message::from("pong"));
/// assert_eq!(heartbeat.timeout, Duration::from_secs(10));
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct HeartbeatOptions {
    /// Time between heartbeats (30 s).
    pub interval: Duration,
    /// Time allowed for a reply (10 s).
    pub timeout: Duration,
    /// What to send (`"ping"`).
    pub message: Message,
    /// Which messages are the heartbeat's reply, and only that: see
    /// [`is_pong`](Self::is_pong) (`None`: every message counts as a reply and is
    /// delivered).
    pub is_pong: Option<IsPong>,
}

/// The predicate of [`HeartbeatOptions::is_pong`]: `true` for a message that is the
/// heartbeat's reply (not delivered). Kept in an `Arc`, so one can serve several sockets.
///
/// ```
/// use std::sync::Arc;
/// use tether_ws::{HeartbeatOptions, IsPong, Message};
///
/// let is_pong: IsPong = Arc::new(|m: &Message| *m == Message::from("pong"));
/// let mut heartbeat = HeartbeatOptions::default();
/// heartbeat.is_pong = Some(is_pong.clone()); // the same predicate for every socket
/// assert!(is_pong(&Message::from("pong")));
/// ```
pub type IsPong = Arc<dyn Fn(&Message) -> bool + Send + Sync>;

impl fmt::Debug for HeartbeatOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HeartbeatOptions")
            .field("interval", &self.interval)
            .field("timeout", &self.timeout)
            .field("message", &self.message)
            .field("is_pong", &self.is_pong.as_ref().map(|_| "Fn(&Message) -> bool"))
            .finish()
    }
}

/// Equal when the timings and messages are, and both have no `is_pong` or the same one (the
/// same `Arc`: closures cannot be compared).
impl PartialEq for HeartbeatOptions {
    fn eq(&self, other: &Self) -> bool {
        let same_pong = match (&self.is_pong, &other.is_pong) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        };
        self.interval == other.interval
            && self.timeout == other.timeout
            && self.message == other.message
            && same_pong
    }
}

impl Default for QueueOptions {
    fn default() -> Self {
        let q = crate::core::QueueLimits::default();
        QueueOptions {
            max_messages: limit(q.max_messages, usize::MAX),
            max_bytes: limit(q.max_bytes, u64::MAX),
            overflow: q.overflow,
        }
    }
}

impl HeartbeatOptions {
    /// Time between heartbeats (default 30 s): shorter than the idle timeout of any proxy
    /// on the way, which would otherwise close a quiet connection.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tether_ws::HeartbeatOptions;
    ///
    /// // A load balancer that drops connections idle for 60 s.
    /// let heartbeat = HeartbeatOptions::default().interval(Duration::from_secs(45));
    /// # assert_eq!(heartbeat.interval, Duration::from_secs(45));
    /// ```
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Time allowed for a reply (default 10 s); without one the connection is closed and
    /// retried.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tether_ws::HeartbeatOptions;
    ///
    /// // A trading screen: find a dead connection within 3 s, not 10.
    /// let heartbeat = HeartbeatOptions::default()
    ///     .interval(Duration::from_secs(5))
    ///     .timeout(Duration::from_secs(3));
    /// # assert_eq!(heartbeat.timeout, Duration::from_secs(3));
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// What to send (default `"ping"`): whatever your server answers.
    ///
    /// ```
    /// use tether_ws::{HeartbeatOptions, Message};
    ///
    /// // A JSON protocol with its own ping; or a binary one, with a one-byte frame.
    /// let json = HeartbeatOptions::default().message(r#"{"op":"ping"}"#);
    /// let binary = HeartbeatOptions::default().message(vec![0x09]);
    /// assert_eq!(binary.message, Message::Binary(vec![0x09]));
    /// # let _ = json;
    /// ```
    pub fn message(mut self, message: impl Into<Message>) -> Self {
        self.message = message.into();
        self
    }

    /// Tells the heartbeat's replies apart (the JS face's `heartbeat.isPong`): a message
    /// from the server for which `is_pong` returns `true` counts as the reply, and is not
    /// delivered (no [`Event::Message`]); any other message is delivered and does not count
    /// as a reply, so a connection whose server stops answering the heartbeat is given up
    /// after [`timeout`](Self::timeout) even while it sends other messages. Without it
    /// (the default), every message counts as a reply and is delivered.
    ///
    /// It is asked about every message of a plain connection while heartbeats are on (not
    /// on a connection that speaks the continuity protocol, where the protocol answers its
    /// own pings), before the message is delivered: keep it cheap.
    ///
    /// Unlike the JS face, where a pong is still given to `message` listeners, a pong is
    /// not delivered here: a typed stream would otherwise report a decode error for each.
    ///
    /// ```
    /// use tether_ws::{HeartbeatOptions, Message};
    ///
    /// // The server answers {"type":"ping"} with {"type":"pong"}.
    /// let heartbeat = HeartbeatOptions::default()
    ///     .message(r#"{"type":"ping"}"#)
    ///     .is_pong(|m| matches!(m, Message::Text(t) if t == r#"{"type":"pong"}"#));
    /// let is_pong = heartbeat.is_pong.as_ref().unwrap();
    /// assert!(is_pong(&Message::from(r#"{"type":"pong"}"#)));
    /// assert!(!is_pong(&Message::from("news")));
    /// ```
    pub fn is_pong(mut self, is_pong: impl Fn(&Message) -> bool + Send + Sync + 'static) -> Self {
        self.is_pong = Some(Arc::new(is_pong));
        self
    }
}

impl Default for HeartbeatOptions {
    fn default() -> Self {
        let h = crate::core::Heartbeat::default();
        HeartbeatOptions {
            interval: duration(h.interval_ms),
            timeout: duration(h.timeout_ms),
            message: Message::Text("ping".into()),
            is_pong: None,
        }
    }
}

/// Whether a server that does not speak the continuity protocol is still used
/// ([`ContinuityOptions::mode`]).
///
/// ```
/// use tether_ws::{ContinuityMode, ContinuityOptions};
///
/// // Rolling out a server that speaks the protocol: use it where it is, plain elsewhere.
/// let rollout = ContinuityOptions::default().mode(ContinuityMode::Prefer);
/// // Payments: never send over a connection that could lose or repeat a message.
/// let strict = ContinuityOptions::default().mode(ContinuityMode::Required);
/// # let _ = (rollout, strict);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ContinuityMode {
    /// Use the protocol when the server speaks it, a plain WebSocket otherwise: the
    /// connection's [`Event::Resume`] then says [`SessionStart::Unsupported`] (or
    /// [`SessionStart::NoWelcome`] for a server that selected the protocol without
    /// speaking it: the next attempts offer only your subprotocols).
    #[default]
    Prefer,
    /// A connection without the protocol is closed and counts as a failed attempt, reported
    /// as [`Event::Error`] with [`ConnectionError::NoContinuity`].
    Required,
}

/// Where a continuity session is kept across page loads ([`ContinuityOptions::persist`],
/// whose example shows it in use).
///
/// ```
/// use tether_ws::{ContinuityOptions, Persist};
///
/// // A reload in this tab takes the session, and its unsent messages, up.
/// let options = ContinuityOptions::default().persist(Persist::Session);
/// # assert_eq!(options.persist, Some(Persist::Session));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Persist {
    /// In `sessionStorage`: the next load of the page in the same tab (a reload, a
    /// navigation back) takes the session up; a new tab begins its own.
    Session,
}

/// The continuity protocol ([PROTOCOL.md]): with a server that speaks it, every message is
/// delivered once and in order, both ways, across reconnects; each connection's session
/// begins with an [`Event::Resume`] before its `Open`. Turn it on with
/// [`SocketBuilder::continuity`](super::SocketBuilder::continuity). The defaults are the
/// core's ([`Continuity`](crate::core::Continuity)). A heartbeat on a session is the
/// protocol's `ping`.
///
/// ```
/// use std::time::Duration;
/// use tether_ws::{ContinuityMode, ContinuityOptions};
///
/// let options = ContinuityOptions::default()
///     .mode(ContinuityMode::Required)
///     .ack_delay(Duration::from_millis(100));
/// assert_eq!(options.window, 256);
/// ```
///
/// With [`persist`](Self::persist), the session also survives page reloads.
///
/// [PROTOCOL.md]: https://github.com/tether-ws/tether-ws/blob/main/PROTOCOL.md
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ContinuityOptions {
    /// Prefer the protocol, or require it (`Prefer`).
    pub mode: ContinuityMode,
    /// Unacknowledged messages at most, per direction: 1 to 65,536 (256; the server may
    /// ask for fewer). Sends beyond it wait in the outbox.
    pub window: u32,
    /// Unacknowledged bytes at most, per direction (1 MiB; `None`: no limit of yours, the
    /// server's still applies). One larger message still goes when nothing is
    /// unacknowledged.
    pub window_bytes: Option<u64>,
    /// How long an acknowledgement waits after the first delivery not yet acknowledged
    /// (250 ms).
    pub ack_delay: Duration,
    /// After a lost session (the server forgot it), send the messages in doubt again
    /// (`true`: the server may see them twice) or report each one as
    /// [`Event::Dropped`] with [`DropReason::SessionLost`] (`false`).
    pub resend: bool,
    /// Keep the session across page loads (`None`: not kept): see
    /// [`persist`](Self::persist).
    pub persist: Option<Persist>,
    /// The storage key of a persisted session (`None`: the socket's URL, absolute). Each
    /// live socket on a page needs its own.
    pub persist_key: Option<String>,
}

impl Default for ContinuityOptions {
    fn default() -> Self {
        let c = crate::core::Continuity::default();
        ContinuityOptions {
            mode: if c.required {
                ContinuityMode::Required
            } else {
                ContinuityMode::Prefer
            },
            window: c.window,
            window_bytes: limit(c.window_bytes, u64::MAX),
            ack_delay: duration(c.ack_delay_ms),
            resend: c.resend,
            persist: None,
            persist_key: None,
        }
    }
}

impl ContinuityOptions {
    /// Prefer the protocol, or require it (default [`ContinuityMode::Prefer`]; the
    /// [`ContinuityMode`] example shows both).
    ///
    /// ```
    /// use tether_ws::{ContinuityMode, ContinuityOptions};
    ///
    /// let options = ContinuityOptions::default().mode(ContinuityMode::Required);
    /// assert_eq!(options.mode, ContinuityMode::Required);
    /// ```
    pub fn mode(mut self, mode: ContinuityMode) -> Self {
        self.mode = mode;
        self
    }

    /// Unacknowledged messages at most, per direction (1 to 65,536; default 256): how many
    /// may be in flight, and so kept for a resend, at once.
    ///
    /// ```
    /// use tether_ws::ContinuityOptions;
    ///
    /// // Many small messages (cursor moves): allow more in flight.
    /// let options = ContinuityOptions::default().window(4096);
    /// # assert_eq!(options.window, 4096);
    /// ```
    pub fn window(mut self, messages: u32) -> Self {
        self.window = messages;
        self
    }

    /// Unacknowledged bytes at most, per direction (default 1 MiB; `None`: no limit of
    /// yours): what the page keeps in memory for a resend.
    ///
    /// ```
    /// use tether_ws::ContinuityOptions;
    ///
    /// // A memory-tight page: at most 256 KiB kept for a resend.
    /// let options = ContinuityOptions::default().window_bytes(Some(256 * 1024));
    /// # assert_eq!(options.window_bytes, Some(256 * 1024));
    /// ```
    pub fn window_bytes(mut self, bytes: Option<u64>) -> Self {
        self.window_bytes = bytes;
        self
    }

    /// How long an acknowledgement waits (default 250 ms): longer sends fewer
    /// acknowledgements for a busy stream; shorter frees the server's buffer sooner.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tether_ws::ContinuityOptions;
    ///
    /// // A feed of many messages a second: one acknowledgement per second covers them all.
    /// let options = ContinuityOptions::default().ack_delay(Duration::from_secs(1));
    /// # assert_eq!(options.ack_delay, Duration::from_secs(1));
    /// ```
    pub fn ack_delay(mut self, delay: Duration) -> Self {
        self.ack_delay = delay;
        self
    }

    /// Send the messages in doubt from a lost session again (`true`, the default) or drop
    /// them, each as an [`Event::Dropped`] with [`DropReason::SessionLost`].
    ///
    /// ```
    /// use tether_ws::ContinuityOptions;
    ///
    /// // "Charge the card" must not go twice: report it lost and let the user decide.
    /// let options = ContinuityOptions::default().resend(false);
    /// # assert!(!options.resend);
    /// ```
    pub fn resend(mut self, yes: bool) -> Self {
        self.resend = yes;
        self
    }

    /// Keeps the session across page loads (default: not kept). With [`Persist::Session`],
    /// the session and every message not yet acknowledged are written through to
    /// `sessionStorage` as they change (not at unload), under
    /// `tether-ws:<`[`persist_key`](Self::persist_key)`>`, and the next socket made with
    /// that key (the next load of the page, in the same tab) takes them up before it
    /// connects: the server replays what the page had not delivered, the page what the
    /// server had not taken, and the queued messages follow. The first [`Event::Resume`]
    /// then says `restored: true`.
    ///
    /// Storage that fails (full, unavailable) is told as [`Event::Error`] with
    /// [`ConnectionError::Persistence`], and continuity goes on without it. A duplicated
    /// tab does not resume its original's session (`duplicated: true`, a session of its
    /// own); a page back from the back/forward cache resumes at once. Dropping the last
    /// handle of the socket ends the session and clears what was kept;
    /// [`Socket::release`](super::Socket::release) keeps it for the next socket. What a
    /// crash can and cannot lose: [PROTOCOL.md].
    ///
    /// ```
    /// use tether_ws::{ContinuityMode, ContinuityOptions, Persist};
    ///
    /// let options = ContinuityOptions::default()
    ///     .mode(ContinuityMode::Required)
    ///     .persist(Persist::Session)
    ///     .persist_key("chat");
    /// assert_eq!(options.persist, Some(Persist::Session));
    /// ```
    ///
    /// [PROTOCOL.md]: https://github.com/tether-ws/tether-ws/blob/main/PROTOCOL.md#keeping-a-session-across-page-loads
    pub fn persist(mut self, persist: Persist) -> Self {
        self.persist = Some(persist);
        self
    }

    /// The storage key of a persisted session (default: the socket's absolute URL); not
    /// empty, without `#`. Two live sockets on one page cannot share one
    /// ([`Error::PersistKeyInUse`](super::Error::PersistKeyInUse)).
    ///
    /// ```
    /// use tether_ws::{ContinuityOptions, Persist};
    ///
    /// // The URL carries a token that changes: key the session by what stays the same.
    /// let options = ContinuityOptions::default()
    ///     .persist(Persist::Session)
    ///     .persist_key("chat/room-7");
    /// # assert_eq!(options.persist_key.as_deref(), Some("chat/room-7"));
    /// ```
    pub fn persist_key(mut self, key: impl Into<String>) -> Self {
        self.persist_key = Some(key.into());
        self
    }

    pub(crate) fn to_core(&self) -> crate::core::Continuity {
        crate::core::Continuity {
            required: self.mode == ContinuityMode::Required,
            window: self.window,
            window_bytes: self.window_bytes.unwrap_or(u64::MAX),
            ack_delay_ms: ms(self.ack_delay),
            resend: self.resend,
        }
    }
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A core duration in ms as a `Duration` (Infinity, or too long: `Duration::MAX`).
pub(crate) fn duration(ms: f64) -> Duration {
    Duration::try_from_secs_f64(ms / 1000.0).unwrap_or(Duration::MAX)
}

/// A core limit as an option: `None` when it is `unlimited`, the type's largest value.
pub(crate) fn limit<T: PartialEq>(value: T, unlimited: T) -> Option<T> {
    (value != unlimited).then_some(value)
}

impl ReconnectOptions {
    /// Delay before the first retry (default 1 s).
    ///
    /// ```
    /// use std::time::Duration;
    /// use tether_ws::ReconnectOptions;
    ///
    /// // A local server that restarts fast: retry after 200 ms.
    /// let reconnect = ReconnectOptions::default().min_delay(Duration::from_millis(200));
    /// # assert_eq!(reconnect.min_delay, Duration::from_millis(200));
    /// ```
    pub fn min_delay(mut self, delay: Duration) -> Self {
        self.min_delay = delay;
        self
    }

    /// Longest delay (default 10 s), however many attempts have failed.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tether_ws::ReconnectOptions;
    ///
    /// // During a long outage, try once a minute rather than every 10 s.
    /// let reconnect = ReconnectOptions::default().max_delay(Duration::from_secs(60));
    /// # assert_eq!(reconnect.max_delay, Duration::from_secs(60));
    /// ```
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// Growth of the delay per failed attempt (at least 1; default 1.3).
    ///
    /// ```
    /// use tether_ws::ReconnectOptions;
    ///
    /// // Doubling delays (before jitter): 1 s, 2 s, 4 s, 8 s, then the 10 s max_delay.
    /// let reconnect = ReconnectOptions::default().grow_factor(2.0);
    /// // Retry at a steady pace: every attempt waits min_delay.
    /// let steady = ReconnectOptions::default().grow_factor(1.0);
    /// # let _ = (reconnect, steady);
    /// ```
    pub fn grow_factor(mut self, factor: f64) -> Self {
        self.grow_factor = factor;
        self
    }

    /// How long a connection must stay up before the retry count resets (default 5 s): a
    /// server that accepts and then drops each connection still sees the delays grow.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tether_ws::ReconnectOptions;
    ///
    /// // Only a connection that lasted 30 s counts as having recovered.
    /// let reconnect = ReconnectOptions::default().min_uptime(Duration::from_secs(30));
    /// # assert_eq!(reconnect.min_uptime, Duration::from_secs(30));
    /// ```
    pub fn min_uptime(mut self, uptime: Duration) -> Self {
        self.min_uptime = uptime;
        self
    }

    /// Retries in a row before giving up (`None`, the default: never give up). Out of
    /// retries, the socket is [`State::Closed`] until [`Socket::reconnect`](super::Socket::reconnect).
    ///
    /// ```
    /// use tether_ws::ReconnectOptions;
    ///
    /// // Give up after 5 failures and show a "Reconnect" button instead.
    /// let reconnect = ReconnectOptions::default().max_retries(Some(5));
    /// # assert_eq!(reconnect.max_retries, Some(5));
    /// ```
    pub fn max_retries(mut self, retries: Option<u32>) -> Self {
        self.max_retries = retries;
        self
    }

    /// Randomisation of each delay (default `Proportional(0.5)`): see [`Jitter`].
    ///
    /// ```
    /// use tether_ws::{Jitter, ReconnectOptions};
    ///
    /// let reconnect = ReconnectOptions::default().jitter(Jitter::Proportional(1.0)); // "full jitter"
    /// # assert_eq!(reconnect.jitter, Jitter::Proportional(1.0));
    /// ```
    pub fn jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    pub(crate) fn to_core(&self) -> crate::core::Backoff {
        crate::core::Backoff {
            min_delay_ms: ms(self.min_delay),
            max_delay_ms: ms(self.max_delay),
            grow_factor: self.grow_factor,
            min_uptime_ms: ms(self.min_uptime),
            max_retries: self.max_retries.unwrap_or(u32::MAX),
            jitter: match self.jitter {
                Jitter::None => 0.0,
                Jitter::Proportional(j) => j,
            },
        }
    }
}

impl QueueOptions {
    /// Most messages held (`None`: unbounded, the default).
    ///
    /// ```
    /// use tether_ws::QueueOptions;
    ///
    /// // A long offline spell must not grow the page's memory without bound.
    /// let queue = QueueOptions::default().max_messages(Some(1000));
    /// # assert_eq!(queue.max_messages, Some(1000));
    /// ```
    pub fn max_messages(mut self, messages: Option<usize>) -> Self {
        self.max_messages = messages;
        self
    }

    /// Most bytes held (`None`: unbounded, the default; text counted in UTF-8).
    ///
    /// ```
    /// use tether_ws::QueueOptions;
    ///
    /// // Photos queued while offline: at most 20 MB of them.
    /// let queue = QueueOptions::default().max_bytes(Some(20_000_000));
    /// # assert_eq!(queue.max_bytes, Some(20_000_000));
    /// ```
    pub fn max_bytes(mut self, bytes: Option<u64>) -> Self {
        self.max_bytes = bytes;
        self
    }

    /// What to do with a send that does not fit (default [`Overflow::DropOldest`]).
    ///
    /// ```
    /// use tether_ws::{Overflow, QueueOptions};
    ///
    /// // Chat: keep the first 100 lines typed offline, drop what comes after.
    /// let queue = QueueOptions::default().max_messages(Some(100)).overflow(Overflow::DropNewest);
    /// # assert_eq!(queue.overflow, Overflow::DropNewest);
    /// ```
    pub fn overflow(mut self, overflow: Overflow) -> Self {
        self.overflow = overflow;
        self
    }

    pub(crate) fn to_core(self) -> crate::core::QueueLimits {
        crate::core::QueueLimits {
            max_messages: self.max_messages.unwrap_or(usize::MAX),
            max_bytes: self.max_bytes.unwrap_or(u64::MAX),
            overflow: self.overflow,
        }
    }
}
