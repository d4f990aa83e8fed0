//! [`Socket`] and its builder.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use futures_sink::Sink;
use serde::Serialize;

use super::error::{ConfigError, Error, SendError};
use super::subscribers::{EventStream, Subscribers};
use super::types::{
    duration, limit, ms, CloseInfo, ContinuityOptions, Event, HeartbeatOptions, Message, QueueOptions,
    ReconnectOptions, Sent, State,
};
use super::waiters::Until;
use crate::core::{check_close_args, Config, Heartbeat};

type ShouldReconnect = Rc<dyn Fn(&CloseInfo) -> bool>;

/// The default [`SocketBuilder::high_water_mark`]: 1 MiB.
///
/// ```no_run
/// # fn demo() -> Result<(), tether_ws::Error> {
/// use tether_ws::{Socket, DEFAULT_HIGH_WATER_MARK};
///
/// // Twice the default, for a fast uplink.
/// let socket = Socket::builder("wss://example.com/upload")
///     .high_water_mark(2 * DEFAULT_HIGH_WATER_MARK)
///     .connect()?;
/// # Ok(())
/// # }
/// ```
pub const DEFAULT_HIGH_WATER_MARK: u64 = 1 << 20;
type UrlProvider = Box<dyn Fn() -> String>;

/// The core's option error with the Rust API's names: the setter that takes the value
/// (`ReconnectOptions::grow_factor`, not the JS face's `reconnectionDelayGrowFactor`) and
/// what the value must be in Rust's terms.
fn rust_named(e: ConfigError) -> ConfigError {
    let (option, expected) = match e.option {
        "minReconnectionDelay" => ("ReconnectOptions::min_delay", "a finite duration"),
        "maxReconnectionDelay" => ("ReconnectOptions::max_delay", "a duration"),
        "reconnectionDelayGrowFactor" => ("ReconnectOptions::grow_factor", "a finite number >= 1"),
        "minUptime" => ("ReconnectOptions::min_uptime", "a duration"),
        "jitter" => (
            "ReconnectOptions::jitter",
            "Jitter::None or Jitter::Proportional of 0 to 1",
        ),
        "connectionTimeout" => (
            "SocketBuilder::connection_timeout",
            "a duration > 0 (or None: no limit)",
        ),
        "heartbeat.intervalMs" => ("HeartbeatOptions::interval", "a duration > 0"),
        "heartbeat.timeoutMs" => ("HeartbeatOptions::timeout", "a duration > 0"),
        "continuity.window" => ("ContinuityOptions::window", "1 to 65536 messages"),
        "continuity.windowBytes" => (
            "ContinuityOptions::window_bytes",
            "at least 1 byte (or None: no limit of yours)",
        ),
        "continuity.ackDelayMs" => ("ContinuityOptions::ack_delay", "a finite duration"),
        "continuity" => (
            "SocketBuilder::continuity",
            "not set: this build has no `continuity` feature",
        ),
        // (A rule the core added since: its own words.)
        _ => return e,
    };
    ConfigError { option, expected }
}

/// Configures and opens a [`Socket`]. Start with [`Socket::builder`], change what you
/// need, and finish with [`connect`](Self::connect); every option has a default, and
/// `connect` checks them all before it opens anything.
///
/// ```no_run
/// # fn demo() -> Result<(), tether_ws::Error> {
/// use std::time::Duration;
/// use tether_ws::{HeartbeatOptions, ReconnectOptions, Socket};
///
/// let socket = Socket::builder("wss://example.com/live")
///     .protocols(["v2"])
///     .backoff(ReconnectOptions::default().max_retries(Some(10)))
///     .heartbeat(HeartbeatOptions::default().interval(Duration::from_secs(20)))
///     .pause_when_hidden(true)
///     .connect()?;
/// # Ok(())
/// # }
/// ```
#[must_use = "call .connect() to open the socket"]
pub struct SocketBuilder {
    url: String,
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    url_provider: Option<UrlProvider>,
    protocols: Vec<String>,
    reconnect: ReconnectOptions,
    queue: QueueOptions,
    heartbeat: Option<HeartbeatOptions>,
    connection_timeout: Option<Duration>,
    start_closed: bool,
    reconnect_on_online: bool,
    pause_when_hidden: bool,
    should_reconnect: Option<ShouldReconnect>,
    max_message_bytes: Option<usize>,
    continuity: Option<ContinuityOptions>,
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    high_water_mark: u64,
    /// With feature `testing`: the in-memory server to connect to instead of the network.
    #[cfg(all(feature = "testing", not(target_arch = "wasm32")))]
    transport: Option<crate::testing::TestServer>,
}

/// A builder with every default: `"wss://example.com/live".into()` is
/// `Socket::builder("wss://example.com/live")`. What the hooks take (`leptos::use_socket`,
/// `yew::use_socket`, with the features `leptos`, `yew`): a URL or a builder.
///
/// ```
/// use tether_ws::SocketBuilder;
///
/// let builder: SocketBuilder = "wss://example.com/live".into();
/// assert_eq!(builder.url(), "wss://example.com/live");
/// ```
impl From<&str> for SocketBuilder {
    fn from(url: &str) -> Self {
        Socket::builder(url)
    }
}

/// A builder with every default, as `From<&str>`.
///
/// ```
/// use tether_ws::SocketBuilder;
///
/// let url = format!("wss://example.com/rooms/{}", 7);
/// let builder = SocketBuilder::from(url);
/// assert_eq!(builder.url(), "wss://example.com/rooms/7");
/// ```
impl From<String> for SocketBuilder {
    fn from(url: String) -> Self {
        Socket::builder(url)
    }
}

impl SocketBuilder {
    /// The URL given to [`Socket::builder`], as given (it is checked by
    /// [`connect`](Self::connect)).
    ///
    /// ```
    /// let builder = tether_ws::Socket::builder("http://127.0.0.1:8080/live");
    /// assert_eq!(builder.url(), "http://127.0.0.1:8080/live");
    /// ```
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Asks `provider` for the URL before every connection attempt (the JS face's URL
    /// provider), for instance to put a fresh auth token in it. The URL given to
    /// [`Socket::builder`] is still checked by [`connect`](Self::connect), shown by
    /// [`Socket::url`] until the first attempt, and is the default
    /// [`persist_key`](super::ContinuityOptions::persist_key); each attempt connects to
    /// what `provider` returns, resolved and checked as `builder`'s URL is. A URL that is
    /// not valid fails that attempt ([`Event::Error`] with
    /// [`ConnectionError::Socket`](super::ConnectionError::Socket), then a retry with
    /// backoff as for any failed attempt).
    ///
    /// It is called synchronously, when the attempt's socket is made: a token that must be
    /// fetched is fetched beforehand (keep the latest in a `Cell` or `RefCell` the
    /// closure reads). Do not move a handle of the socket itself into it: the socket would
    /// keep itself alive.
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), tether_ws::Error> {
    /// use std::cell::RefCell;
    /// use std::rc::Rc;
    /// use tether_ws::Socket;
    ///
    /// let token = Rc::new(RefCell::new(String::from("first")));
    /// let socket = Socket::builder("wss://example.com/live")
    ///     .url_provider({
    ///         let token = token.clone();
    ///         move || format!("wss://example.com/live?token={}", token.borrow())
    ///     })
    ///     .connect()?;
    /// // Refreshed later: the next attempt (a reconnect) carries the new token.
    /// *token.borrow_mut() = String::from("second");
    /// # Ok(())
    /// # }
    /// ```
    pub fn url_provider(mut self, provider: impl Fn() -> String + 'static) -> Self {
        self.url_provider = Some(Box::new(provider));
        self
    }

    /// Subprotocols to offer (default: none), in order of preference; the server picks one,
    /// which [`Socket::protocol`] then shows. Each must be an HTTP token, listed once
    /// ([`Error::InvalidProtocol`] from [`connect`](Self::connect) otherwise).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), tether_ws::Error> {
    /// use tether_ws::Socket;
    ///
    /// // A server that speaks both versions picks v2; an older one, v1.
    /// let socket = Socket::builder("wss://example.com/live")
    ///     .protocols(["chat.v2", "chat.v1"])
    ///     .connect()?;
    /// socket.opened().await?;
    /// let legacy = socket.protocol() == "chat.v1";
    /// # let _ = legacy;
    /// # Ok(())
    /// # }
    /// ```
    pub fn protocols<I, S>(mut self, protocols: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.protocols = protocols.into_iter().map(Into::into).collect();
        self
    }

    /// Reconnect timing (default: [`ReconnectOptions::default`]): how long to wait before
    /// each retry, how fast the wait grows, and when to give up.
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), tether_ws::Error> {
    /// use std::time::Duration;
    /// use tether_ws::{ReconnectOptions, Socket};
    ///
    /// // Many clients behind one server: start slower, wait up to a minute, give up after 20.
    /// let socket = Socket::builder("wss://example.com/live")
    ///     .backoff(
    ///         ReconnectOptions::default()
    ///             .min_delay(Duration::from_secs(2))
    ///             .max_delay(Duration::from_secs(60))
    ///             .max_retries(Some(20)),
    ///     )
    ///     .connect()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn backoff(mut self, options: ReconnectOptions) -> Self {
        self.reconnect = options;
        self
    }

    /// Outbox bounds (default: unbounded, drop-oldest): what [`Socket::send`] may hold while
    /// no connection is open, and what to do with a send that does not fit.
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), tether_ws::Error> {
    /// use tether_ws::{Overflow, QueueOptions, SendError, Socket};
    ///
    /// // Orders must not be lost silently: refuse the 51st rather than drop the oldest.
    /// let socket = Socket::builder("wss://example.com/orders")
    ///     .queue(QueueOptions::default().max_messages(Some(50)).overflow(Overflow::Reject))
    ///     .connect()?;
    /// if let Err(SendError::QueueFull(order)) = socket.send(r#"{"buy":"ACME"}"#) {
    ///     // Still ours: tell the user, try again later.
    ///     # let _ = order;
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn queue(mut self, options: QueueOptions) -> Self {
        self.queue = options;
        self
    }

    /// Turns on heartbeats (default: off): any message from the server counts as a reply,
    /// unless [`HeartbeatOptions::is_pong`] says which do (those are then not delivered). A
    /// connection with no reply within the timeout is closed and retried
    /// ([`RetryReason::HeartbeatTimeout`](super::RetryReason::HeartbeatTimeout)): what finds
    /// a connection that died without a close (a sleeping laptop, a dropped NAT mapping).
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), tether_ws::Error> {
    /// use std::time::Duration;
    /// use tether_ws::{HeartbeatOptions, Message, Socket};
    ///
    /// // A "ping" every 20 s; no "pong" within 5 s and the connection is replaced.
    /// let socket = Socket::builder("wss://example.com/live")
    ///     .heartbeat(
    ///         HeartbeatOptions::default()
    ///             .interval(Duration::from_secs(20))
    ///             .timeout(Duration::from_secs(5))
    ///             .is_pong(|m| *m == Message::from("pong")),
    ///     )
    ///     .connect()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn heartbeat(mut self, options: HeartbeatOptions) -> Self {
        self.heartbeat = Some(options);
        self
    }

    /// An attempt that does not open within this time fails (default 4 s; `None`: no limit):
    /// an [`Event::Error`] with
    /// [`ConnectionError::ConnectionTimeout`](super::ConnectionError::ConnectionTimeout), then
    /// a retry with backoff.
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), tether_ws::Error> {
    /// use std::time::Duration;
    /// use tether_ws::Socket;
    ///
    /// // Slow mobile networks: give each attempt 15 s before trying again.
    /// let socket = Socket::builder("wss://example.com/live")
    ///     .connection_timeout(Some(Duration::from_secs(15)))
    ///     .connect()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn connection_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.connection_timeout = timeout;
        self
    }

    /// Do not connect until [`Socket::reconnect`] (default false). The socket starts
    /// [`State::Closed`]; messages sent meanwhile wait in the outbox.
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), tether_ws::Error> {
    /// use tether_ws::Socket;
    ///
    /// // Made with the page, connected once the user has signed in.
    /// let socket = Socket::builder("wss://example.com/live").start_closed(true).connect()?;
    /// socket.send("hello")?; // queued until then
    /// # let signed_in = true;
    /// if signed_in {
    ///     socket.reconnect();
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn start_closed(mut self, yes: bool) -> Self {
        self.start_closed = yes;
        self
    }

    /// Retry at once when the browser comes back online (its `online` event) instead of
    /// waiting out the current backoff delay (default true).
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), tether_ws::Error> {
    /// use tether_ws::Socket;
    ///
    /// // Thousands of kiosks on one network: when it returns, keep the jittered schedule
    /// // rather than have them all reconnect in the same instant.
    /// let socket = Socket::builder("wss://example.com/kiosk")
    ///     .reconnect_on_online(false)
    ///     .connect()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn reconnect_on_online(mut self, yes: bool) -> Self {
        self.reconnect_on_online = yes;
        self
    }

    /// Defer retries while the page is hidden (default false): a background tab does not
    /// reconnect until it is shown again. An open connection is kept.
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), tether_ws::Error> {
    /// use tether_ws::Socket;
    ///
    /// // A dashboard nobody looks at need not keep retrying against a server that is down.
    /// let socket = Socket::builder("wss://example.com/metrics")
    ///     .pause_when_hidden(true)
    ///     .connect()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn pause_when_hidden(mut self, yes: bool) -> Self {
        self.pause_when_hidden = yes;
        self
    }

    /// Largest message accepted from the server, in bytes (UTF-8 for text; default: no
    /// limit). A larger one is not delivered: the connection is closed, reported as
    /// [`Event::Close`] with code 1009 after an [`Event::Error`] with
    /// [`ConnectionError::MessageTooBig`](super::ConnectionError::MessageTooBig), and retried.
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), tether_ws::Error> {
    /// use tether_ws::{ConnectionError, Event, Socket};
    ///
    /// // Protect the page from a runaway server: nothing over 1 MiB is decoded.
    /// let socket = Socket::builder("wss://example.com/feed")
    ///     .max_message_bytes(Some(1 << 20))
    ///     .connect()?;
    /// let _guard = socket.on_event(|event| {
    ///     if let Event::Error(ConnectionError::MessageTooBig) = event {
    ///         // Report it: the connection was closed (1009) and is being retried.
    ///     }
    /// });
    /// # Ok(())
    /// # }
    /// ```
    pub fn max_message_bytes(mut self, limit: Option<usize>) -> Self {
        self.max_message_bytes = limit;
        self
    }

    /// Turns on the continuity protocol (default: off): with a server that speaks it
    /// ([PROTOCOL.md]), every message is delivered once and in order, both ways, across
    /// reconnects. The client offers `tether.v1` (`tether.v1+<p>` for each of your
    /// subprotocols `<p>`, then the `<p>`s); each connection's session begins with an
    /// [`Event::Resume`] before its `Open`, and [`Event::Message`] carries the payload
    /// without the protocol's header. With a [`heartbeat`](Self::heartbeat), a connection
    /// that speaks the protocol sends the protocol's `ping` instead of the heartbeat message
    /// (when its server said it answers pings), and any frame from the server is the reply.
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), tether_ws::Error> {
    /// use tether_ws::{ContinuityOptions, Socket};
    ///
    /// // A chat where a reconnect must neither lose nor repeat a line.
    /// let socket = Socket::builder("wss://example.com/chat")
    ///     .protocols(["chat"])
    ///     .continuity(ContinuityOptions::default())
    ///     .connect()?;
    /// socket.send("hi")?; // delivered once, even if the connection drops meanwhile
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// [PROTOCOL.md]: https://github.com/tether-ws/tether-ws/blob/main/PROTOCOL.md
    pub fn continuity(mut self, options: ContinuityOptions) -> Self {
        self.continuity = Some(options);
        self
    }

    /// The backpressure threshold of the socket as a [`Sink`]: its `poll_ready` is `Pending`
    /// while more than `bytes` are not yet sent ([`Socket::buffered_amount`]: the socket's
    /// send buffer plus the outbox), and becomes `Ready` once they drain to `bytes` or fewer
    /// (default [`DEFAULT_HIGH_WATER_MARK`], 1 MiB). A message larger than the mark is still
    /// accepted when the sink is ready; `0` sends one message at a time, each waiting for the
    /// previous to leave the browser. [`Socket::send`] never waits and ignores the mark.
    ///
    /// ```no_run
    /// # async fn demo(frames: impl futures::Stream<Item = Vec<u8>> + Unpin) -> Result<(), tether_ws::Error> {
    /// use futures::{SinkExt, StreamExt};
    /// use tether_ws::{Message, Socket};
    ///
    /// // Never more than 64 KiB waiting: a slow connection slows the producer down.
    /// let mut socket = Socket::builder("wss://example.com/upload")
    ///     .high_water_mark(64 * 1024)
    ///     .connect()?;
    /// socket.send_all(&mut frames.map(|f| Ok(Message::Binary(f)))).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn high_water_mark(mut self, bytes: u64) -> Self {
        self.high_water_mark = bytes;
        self
    }

    /// Decides whether to reconnect after a close the socket did not ask for (default: always).
    /// When `f` returns `false` the socket stays [`State::Closed`] until
    /// [`Socket::reconnect`].
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), tether_ws::Error> {
    /// use tether_ws::Socket;
    ///
    /// // The server closes with 4001 when the session is revoked: retrying cannot help.
    /// let socket = Socket::builder("wss://example.com/live")
    ///     .should_reconnect(|close| close.code != 4001)
    ///     .connect()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn should_reconnect(mut self, f: impl Fn(&CloseInfo) -> bool + 'static) -> Self {
        self.should_reconnect = Some(Rc::new(f));
        self
    }

    fn config(&self) -> Result<Config, Error> {
        let cfg = Config {
            backoff: self.reconnect.to_core(),
            connection_timeout_ms: self.connection_timeout.map_or(f64::INFINITY, ms),
            queue: self.queue.to_core(),
            heartbeat: self.heartbeat.as_ref().map(|h| Heartbeat {
                interval_ms: ms(h.interval),
                timeout_ms: ms(h.timeout),
            }),
            start_closed: self.start_closed,
            reconnect_on_online: self.reconnect_on_online,
            pause_when_hidden: self.pause_when_hidden,
            max_message_bytes: self.max_message_bytes.map_or(u64::MAX, |n| n as u64),
            continuity: self.continuity.as_ref().map(ContinuityOptions::to_core),
        };
        cfg.validate().map_err(|e| Error::InvalidOption(rust_named(e)))?;
        let key = self.continuity.as_ref().and_then(|c| c.persist_key.as_deref());
        if key.is_some_and(|k| k.is_empty() || k.contains('#')) {
            return Err(Error::InvalidOption(ConfigError {
                option: "ContinuityOptions::persist_key",
                expected: "a non-empty string without '#'",
            }));
        }
        Ok(cfg)
    }

    /// Connects to `server`, an in-memory server with a manual clock, instead of the network
    /// (feature `testing`, native targets): the socket then works in plain `cargo test`, its
    /// rules the real ones. See [`testing`](crate::testing).
    ///
    /// ```
    /// use tether_ws::testing::TestServer;
    /// use tether_ws::{Socket, State};
    ///
    /// let server = TestServer::new();
    /// let socket = Socket::builder("wss://example.com/live").transport(&server).connect()?;
    /// server.next_connection().unwrap().accept();
    /// assert_eq!(socket.state(), State::Open);
    /// # Ok::<(), tether_ws::Error>(())
    /// ```
    #[cfg(all(feature = "testing", not(target_arch = "wasm32")))]
    pub fn transport(mut self, server: &crate::testing::TestServer) -> Self {
        self.transport = Some(server.clone());
        self
    }

    /// Checks the options and opens the socket (connecting at once unless `start_closed`).
    ///
    /// Fails with [`Error::Unsupported`] outside the browser (native and SSR builds; with
    /// feature `testing`, unless it connects to a `transport`, an in-memory test server). Every
    /// other error is a mistake in what was given, found before anything is opened: the
    /// URL ([`Error::InvalidUrl`]), a subprotocol ([`Error::InvalidProtocol`]), an option
    /// ([`Error::InvalidOption`], naming the setter) or a persist key in use
    /// ([`Error::PersistKeyInUse`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// use tether_ws::{Error, Socket};
    ///
    /// let err = Socket::builder("wss://example.com/live")
    ///     .connection_timeout(Some(Duration::ZERO)) // meant: no limit, which is `None`
    ///     .connect()
    ///     .unwrap_err();
    /// let Error::InvalidOption(e) = &err else { panic!("{err}") };
    /// assert_eq!(e.option, "SocketBuilder::connection_timeout");
    /// ```
    pub fn connect(self) -> Result<Socket, Error> {
        let config = self.config()?;
        imp::connect(self, config).map(|inner| Socket {
            inner: Rc::new(inner),
        })
    }
}

/// A reconnecting WebSocket for Rust (Yew, Leptos, plain wasm-bindgen).
///
/// Cloning gives another handle to the same connection; dropping the last handle closes it
/// and frees every listener and timer.
///
/// ```no_run
/// # async fn demo() -> Result<(), tether_ws::Error> {
/// use futures::StreamExt;
/// use tether_ws::{Event, Message, Socket};
///
/// let socket = Socket::builder("wss://example.com/feed").connect()?;
/// socket.send(Message::Text("hello".into()))?;
/// let mut events = socket.events();
/// while let Some(event) = events.next().await {
///     if let Event::Message(Message::Text(text)) = event {
///         println!("{text}");
///     }
/// }
/// # Ok(())
/// # }
/// ```
///
/// `Socket` is `!Send` (browser objects live on one thread): in Leptos keep it in
/// `StoredValue::new_local` or a local signal; or let a hook keep it (features `leptos` and
/// `yew`: `tether_ws::leptos::use_socket`, `tether_ws::yew::use_socket`), which also makes
/// it on the client only and closes it when the component goes.
///
/// It is also a [`Sink`] of [`Message`]s, with backpressure: `poll_ready` waits while more
/// than the [`high_water_mark`](SocketBuilder::high_water_mark) is not yet sent, so
/// `futures::SinkExt::send_all` / `StreamExt::forward` never let the send buffer and the
/// outbox grow without bound. Each clone is a sink of the same connection.
///
/// | `Sink` method | what it does |
/// | --- | --- |
/// | `poll_ready` | `Ready` once at most the high-water mark is not yet sent ([`buffered_amount`](Socket::buffered_amount)) |
/// | `start_send` | [`send`](Socket::send); a message refused under [`Overflow::Reject`](super::Overflow::Reject) is the error, [`SendError::QueueFull`], carrying it |
/// | `poll_flush` | `Ready` once nothing is queued or buffered ([`flushed`](Socket::flushed)) |
/// | `poll_close` | flushes, closes (code 1000) and is `Ready` once the socket is [`State::Closed`]; at once if it already is |
///
/// As with [`send`](Socket::send), a message the overflow policy discards is not an error (an
/// [`Event::Dropped`] carries it), and while the socket is not open messages are queued:
/// `poll_ready` and `poll_flush` then wait for the next connection (after
/// [`close`](Socket::close), for a [`reconnect`](Socket::reconnect)). The browser has no
/// event for its send buffer draining: while a task waits for it on an open socket, the
/// socket checks [`buffered_amount`](Socket::buffered_amount) on a timer, after 1 ms and
/// then at intervals doubling up to 32 ms; no timer runs when nothing waits.
///
/// [`send`](Socket::send) and [`close`](Socket::close) are inherent methods, which take
/// precedence over `SinkExt`'s: call those two as `SinkExt::send(&mut socket, message)` and
/// `SinkExt::close(&mut socket)`.
///
/// ```no_run
/// # async fn demo() -> Result<(), tether_ws::Error> {
/// use futures::{stream, SinkExt, StreamExt};
/// use tether_ws::{Message, Socket};
///
/// let mut socket = Socket::builder("wss://example.com/log").connect()?;
/// let mut lines = stream::iter(["one", "two", "three"]).map(|l| Ok(Message::from(l)));
/// socket.send_all(&mut lines).await?; // sent in order, flushed
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Socket {
    inner: Rc<imp::Inner>,
}

/// Equality is identity: two `Socket`s are equal when they are handles of the same
/// connection (clones of one [`connect`](SocketBuilder::connect)), whatever their state; two
/// sockets connected to the same URL are not. This is what a Yew prop, a `ContextProvider`
/// value or a `use_effect_with` dependency needs: a component re-renders, or an effect runs
/// again, when it is handed another socket, not when the socket's state changes.
///
/// ```no_run
/// # fn demo() -> Result<(), tether_ws::Error> {
/// use tether_ws::Socket;
///
/// let a = Socket::builder("wss://example.com/live").connect()?;
/// let b = Socket::builder("wss://example.com/live").connect()?;
/// assert_eq!(a, a.clone()); // the same connection
/// assert_ne!(a, b); // another one, to the same URL
/// # Ok(())
/// # }
/// ```
impl PartialEq for Socket {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Eq for Socket {}

/// A handle that does not keep the socket alive (the hooks' event callbacks hold one: the
/// socket owns its callbacks, so a strong handle there would keep it alive forever).
#[cfg(any(feature = "leptos", feature = "yew"))]
pub(crate) struct WeakSocket(std::rc::Weak<imp::Inner>);

#[cfg(any(feature = "leptos", feature = "yew"))]
impl WeakSocket {
    /// The socket, unless its last handle is gone (or going: during its drop).
    pub(crate) fn upgrade(&self) -> Option<Socket> {
        self.0.upgrade().map(|inner| Socket { inner })
    }
}

/// Keeps an [`Socket::on_event`] callback registered; dropping it unsubscribes. The guard
/// does not keep the socket alive: store the [`Socket`] too (for example both as fields of
/// a component), and once the last socket handle is dropped the callback is never called
/// again.
///
/// ```no_run
/// use tether_ws::{Event, Socket, Subscription};
///
/// // A view that logs while it is shown: dropping it unsubscribes.
/// struct Panel {
///     socket: Socket,
///     _log: Subscription,
/// }
///
/// fn panel(socket: Socket) -> Panel {
///     let _log = socket.on_event(|event| {
///         if let Event::Close(info) = event {
///             println!("closed: {}", info.code);
///         }
///     });
///     Panel { socket, _log }
/// }
/// ```
#[must_use = "the callback is unsubscribed when this guard is dropped"]
pub struct Subscription {
    subscribers: std::rc::Weak<Subscribers>,
    id: u64,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(s) = self.subscribers.upgrade() {
            s.remove(self.id);
        }
    }
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

impl Socket {
    /// Starts configuring a socket for `url` (ws:, wss:, or http(s): which maps to ws(s):),
    /// with the core's defaults ([`Config::default`]).
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), tether_ws::Error> {
    /// use tether_ws::Socket;
    ///
    /// // The page's own origin is https: the socket connects to wss://example.com/live.
    /// let socket = Socket::builder("https://example.com/live").connect()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn builder(url: impl Into<String>) -> SocketBuilder {
        let d = Config::default();
        SocketBuilder {
            url: url.into(),
            url_provider: None,
            protocols: Vec::new(),
            reconnect: ReconnectOptions::default(),
            queue: QueueOptions::default(),
            heartbeat: d.heartbeat.map(|h| HeartbeatOptions {
                interval: duration(h.interval_ms),
                timeout: duration(h.timeout_ms),
                ..HeartbeatOptions::default()
            }),
            connection_timeout: d
                .connection_timeout_ms
                .is_finite()
                .then(|| duration(d.connection_timeout_ms)),
            start_closed: d.start_closed,
            reconnect_on_online: d.reconnect_on_online,
            pause_when_hidden: d.pause_when_hidden,
            should_reconnect: None,
            max_message_bytes: limit(d.max_message_bytes, u64::MAX)
                .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
            continuity: None,
            high_water_mark: DEFAULT_HIGH_WATER_MARK,
            #[cfg(all(feature = "testing", not(target_arch = "wasm32")))]
            transport: None,
        }
    }

    /// Sends now if open, else queues for the next connection. Says what became of the
    /// message: [`Sent::Written`] to the socket, [`Sent::Queued`] in the outbox, or
    /// [`Sent::Dropped`] by the overflow policy (with an [`Event::Dropped`] that carries it).
    /// Under [`Overflow::Reject`](super::Overflow::Reject) a message that does not fit is
    /// refused, and given back: [`SendError::QueueFull`].
    ///
    /// ```no_run
    /// # fn demo(socket: &tether_ws::Socket) {
    /// use tether_ws::{SendError, Sent};
    ///
    /// match socket.send("hello") {
    ///     Ok(Sent::Written) => {}             // on its way
    ///     Ok(_) => {}                         // queued, or dropped under the overflow policy
    ///     Err(e) => keep(e.into_message()),   // refused (Overflow::Reject): yours again
    /// }
    /// # fn keep(_: tether_ws::Message) {}
    /// # }
    /// ```
    pub fn send(&self, message: impl Into<Message>) -> Result<Sent, SendError> {
        imp::send(&self.inner, message.into(), None)
    }

    /// Like [`Socket::send`], but if the message has to be queued it takes the place of the
    /// queued message sent with the same `key` (reported as `Dropped` with reason `Replaced`):
    /// for state where only the latest value matters, such as a cursor position.
    ///
    /// ```no_run
    /// # fn demo(socket: &tether_ws::Socket) -> Result<(), tether_ws::SendError> {
    /// // While disconnected, the outbox keeps only the latest position.
    /// socket.send_replacing(r#"{"x":10,"y":20}"#, "cursor")?;
    /// socket.send_replacing(r#"{"x":11,"y":20}"#, "cursor")?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn send_replacing(&self, message: impl Into<Message>, key: &str) -> Result<Sent, SendError> {
        imp::send(&self.inner, message.into(), Some(key))
    }

    /// Serializes `value` as JSON and sends it as text, as [`Socket::send`] does. Fails with
    /// [`Error::Encode`] if serde_json cannot encode it, and with [`Error::QueueFull`] if it
    /// is refused (the caller still has `value`).
    ///
    /// ```no_run
    /// # fn demo(socket: &tether_ws::Socket) -> Result<(), tether_ws::Error> {
    /// use serde::Serialize;
    ///
    /// #[derive(Serialize)]
    /// struct Join<'a> {
    ///     room: &'a str,
    /// }
    ///
    /// socket.send_json(&Join { room: "lobby" })?; // sends {"room":"lobby"}
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// For a socket that only speaks one pair of JSON types, see [`TypedSocket`](super::TypedSocket).
    pub fn send_json<T: Serialize + ?Sized>(&self, value: &T) -> Result<Sent, Error> {
        let text = serde_json::to_string(value).map_err(|e| Error::Encode(e.into()))?;
        self.send(Message::Text(text)).map_err(Error::from)
    }

    /// Closes for good (no reconnect until [`Socket::reconnect`]). The code must be 1000 or
    /// 3000–4999 and the reason at most 123 bytes ([`Error::InvalidClose`] otherwise).
    /// Messages still in the outbox stay there for a later [`reconnect`](Self::reconnect).
    ///
    /// ```no_run
    /// # fn demo(socket: &tether_ws::Socket) -> Result<(), tether_ws::Error> {
    /// // Signing out: end the connection and do not retry.
    /// socket.close(1000, "signed out")?;
    /// assert!(socket.close(1001, "").is_err()); // 1001 is the browser's, not ours
    /// # Ok(())
    /// # }
    /// ```
    pub fn close(&self, code: u16, reason: &str) -> Result<(), Error> {
        check_close_args(code, reason).map_err(Error::InvalidClose)?;
        imp::close(&self.inner, code, reason);
        Ok(())
    }

    /// Closes the current connection, if any, and connects again at once with backoff reset.
    /// Also what opens a socket that is [`State::Closed`]: closed, out of retries, or made with
    /// [`start_closed`](SocketBuilder::start_closed).
    ///
    /// ```no_run
    /// # fn demo(socket: &tether_ws::Socket) {
    /// use tether_ws::State;
    ///
    /// // A "Retry now" button: skip the rest of the backoff delay, or start again after
    /// // the socket gave up.
    /// if matches!(socket.state(), State::Reconnecting | State::Closed) {
    ///     socket.reconnect();
    /// }
    /// # }
    /// ```
    pub fn reconnect(&self) {
        imp::reconnect(&self.inner)
    }

    /// A new stream of every event from now on. Any number of streams may be open, each
    /// with every event; see [`Event`] for a match over them.
    ///
    /// ```no_run
    /// # async fn demo(socket: tether_ws::Socket) {
    /// use futures::{future, StreamExt};
    /// use tether_ws::{Event, Message};
    ///
    /// // Only the text messages, for one part of the app; another can read its own stream.
    /// let mut texts = socket.events().filter_map(|event| {
    ///     future::ready(match event {
    ///         Event::Message(Message::Text(text)) => Some(text),
    ///         _ => None,
    ///     })
    /// });
    /// while let Some(text) = texts.next().await {
    ///     println!("{text}");
    /// }
    /// # }
    /// ```
    pub fn events(&self) -> EventStream {
        self.subscribers().stream()
    }

    /// Calls `f` for every event until the returned guard is dropped (or the socket is),
    /// synchronously as the event happens: no task or executor needed.
    ///
    /// ```no_run
    /// # fn demo(socket: &tether_ws::Socket) {
    /// use tether_ws::Event;
    ///
    /// let guard = socket.on_event(|event| match event {
    ///     Event::Open => println!("online"),
    ///     Event::Reconnecting { delay, .. } => println!("offline, retrying in {delay:?}"),
    ///     _ => {}
    /// });
    /// // ... later, to stop listening:
    /// drop(guard);
    /// # }
    /// ```
    pub fn on_event(&self, f: impl Fn(&Event) + 'static) -> Subscription {
        let subscribers = self.subscribers();
        let id = subscribers.add(Rc::new(f));
        Subscription {
            subscribers: Rc::downgrade(subscribers),
            id,
        }
    }

    /// The current state.
    ///
    /// ```no_run
    /// # fn demo(socket: &tether_ws::Socket) {
    /// use tether_ws::State;
    ///
    /// let label = match socket.state() {
    ///     State::Open => "live",
    ///     State::Connecting | State::Reconnecting => "connecting…",
    ///     State::Closing | State::Closed => "offline",
    /// };
    /// # let _ = label;
    /// # }
    /// ```
    pub fn state(&self) -> State {
        imp::state(&self.inner)
    }

    /// Drops this handle keeping the persisted session
    /// ([`ContinuityOptions::persist`]): when the last handle goes (at once if this was it),
    /// the socket ends as a page unload ends it instead of as a drop does. The
    /// acknowledgements owed are written, the session's record is saved, and the session and
    /// the messages not yet acknowledged or still queued stay in storage, for the next
    /// socket made with the same persist key (on this page or the next load in this tab) to
    /// take up; the connection is closed (1000) without the protocol's `bye`, so the server
    /// keeps the session for its TTL. No `Dropped` event comes for the queued messages:
    /// they are not dropped but kept. Without persistence (or with it turned off by a
    /// storage failure), the same as dropping the handle.
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), tether_ws::Error> {
    /// use tether_ws::{ContinuityOptions, Persist, Socket};
    ///
    /// let continuity = ContinuityOptions::default().persist(Persist::Session).persist_key("chat");
    /// let socket = Socket::builder("wss://example.com/chat").continuity(continuity.clone()).connect()?;
    /// socket.send("hello")?;
    /// // The component that held it goes; the next one carries on with the same session.
    /// socket.release();
    /// let socket = Socket::builder("wss://example.com/chat").continuity(continuity).connect()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn release(self) {
        imp::keep_session(&self.inner);
    }

    /// Retries since the last connection that stayed up for
    /// [`min_uptime`](ReconnectOptions::min_uptime).
    ///
    /// ```no_run
    /// # fn demo(socket: &tether_ws::Socket) {
    /// // After a few failures, tell the user rather than keep spinning silently.
    /// if socket.retry_count() >= 3 {
    ///     println!("Still trying to reach the server ({} attempts)…", socket.retry_count());
    /// }
    /// # }
    /// ```
    pub fn retry_count(&self) -> u32 {
        imp::retry_count(&self.inner)
    }

    /// Messages waiting in the outbox.
    ///
    /// ```no_run
    /// # fn demo(socket: &tether_ws::Socket) {
    /// // "3 changes not yet saved" while offline.
    /// let unsent = socket.queued_messages();
    /// if unsent > 0 {
    ///     println!("{unsent} changes not yet saved");
    /// }
    /// # }
    /// ```
    pub fn queued_messages(&self) -> usize {
        imp::queued_messages(&self.inner)
    }

    /// Bytes waiting in the outbox (UTF-8 for text), the JS face's `queuedBytes`.
    ///
    /// ```no_run
    /// # fn demo(socket: &tether_ws::Socket, photo: Vec<u8>) {
    /// // Offline: queue a photo only while the outbox holds less than 5 MB.
    /// if socket.queued_bytes() + photo.len() as u64 <= 5_000_000 {
    ///     let _ = socket.send(photo);
    /// }
    /// # }
    /// ```
    pub fn queued_bytes(&self) -> u64 {
        imp::queued_bytes(&self.inner)
    }

    /// Bytes not yet sent, the JS face's `bufferedAmount`: those of the current socket's
    /// send buffer (its `bufferedAmount`; 0 without a socket) plus the outbox's
    /// ([`queued_bytes`](Self::queued_bytes)). A measure of backpressure: a sender that
    /// waits while it is high never lets either grow without bound.
    ///
    /// ```no_run
    /// # fn demo(socket: &tether_ws::Socket, frame: Vec<u8>) {
    /// // Skip a video frame rather than let them pile up behind a slow connection.
    /// if socket.buffered_amount() < 1 << 20 {
    ///     let _ = socket.send(frame);
    /// }
    /// # }
    /// ```
    pub fn buffered_amount(&self) -> u64 {
        imp::buffered_amount(&self.inner)
    }

    /// The URL connected to, absolute, as the browser shows it (`http:` mapped to `ws:`):
    /// the socket's, else the latest attempt's (before the first, the URL given to
    /// [`Socket::builder`]; with a [`url_provider`](SocketBuilder::url_provider), what it
    /// returned last). The JS face's `url`.
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), tether_ws::Error> {
    /// let socket = tether_ws::Socket::builder("http://127.0.0.1:8080/live").connect()?;
    /// assert_eq!(socket.url(), "ws://127.0.0.1:8080/live");
    /// # Ok(())
    /// # }
    /// ```
    pub fn url(&self) -> String {
        imp::url(&self.inner)
    }

    /// The subprotocol the server selected (`""` when none, or not connected); with
    /// continuity, your part of it (`"chat"` for `tether.v1+chat`). Offered with
    /// [`protocols`](SocketBuilder::protocols), whose example reads it.
    ///
    /// ```no_run
    /// # fn demo(socket: &tether_ws::Socket) {
    /// if socket.protocol() == "chat.v1" {
    ///     // An older server: send the v1 form of each message.
    /// }
    /// # }
    /// ```
    pub fn protocol(&self) -> String {
        imp::protocol(&self.inner)
    }

    /// The extensions the server selected (`""` when none, or not connected), such as
    /// `"permessage-deflate; client_max_window_bits=15"`.
    ///
    /// ```no_run
    /// # fn demo(socket: &tether_ws::Socket) {
    /// // Compressed by the browser: no need to gzip large JSON by hand.
    /// let compressed = socket.extensions().contains("permessage-deflate");
    /// # let _ = compressed;
    /// # }
    /// ```
    pub fn extensions(&self) -> String {
        imp::extensions(&self.inner)
    }

    /// A future that resolves when the socket is next open: at once if it is, else at its
    /// next [`Event::Open`] (through any number of failed attempts and retries). Fails with
    /// [`Error::Closed`] if the socket is, or becomes, [`State::Closed`] first: closed by
    /// [`close`](Socket::close), out of retries, or made with
    /// [`start_closed`](SocketBuilder::start_closed) and not yet
    /// [`reconnect`](Socket::reconnect)ed. It holds a handle: the socket lives while it waits.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), tether_ws::Error> {
    /// let socket = tether_ws::Socket::builder("wss://example.com/live").connect()?;
    /// socket.opened().await?;
    /// assert_eq!(socket.state(), tether_ws::State::Open);
    /// # Ok(())
    /// # }
    /// ```
    pub fn opened(&self) -> Opened {
        Opened { socket: self.clone() }
    }

    /// A future that resolves once nothing is queued in the outbox or buffered by the socket
    /// ([`buffered_amount`](Socket::buffered_amount) is 0): every message sent so far has
    /// been handed to the network. At once if that is already so. While the socket is not
    /// open it waits for the next connection to flush the outbox (after
    /// [`close`](Socket::close), for a [`reconnect`](Socket::reconnect)). It holds a handle:
    /// the socket lives while it waits.
    ///
    /// ```no_run
    /// # async fn demo(socket: tether_ws::Socket) -> Result<(), tether_ws::Error> {
    /// socket.send("last words")?;
    /// socket.flushed().await;
    /// socket.close(1000, "done")?; // (the browser sends what it buffered first anyway)
    /// # Ok(())
    /// # }
    /// ```
    pub fn flushed(&self) -> Flushed {
        Flushed { socket: self.clone() }
    }

    /// `Ready` once `until` holds; else registers the task to be woken when it may.
    fn poll_until(&self, cx: &mut Context<'_>, until: Until) -> Poll<()> {
        let holds = match until {
            Until::Open => matches!(self.state(), State::Open | State::Closed),
            Until::Closed => self.state() == State::Closed,
            Until::AtMost(bytes) => self.buffered_amount() <= bytes,
        };
        if holds {
            if matches!(until, Until::AtMost(_)) {
                imp::drained(&self.inner);
            }
            return Poll::Ready(());
        }
        imp::wait(&self.inner, until, cx);
        Poll::Pending
    }

    fn subscribers(&self) -> &Rc<Subscribers> {
        imp::subscribers(&self.inner)
    }

    #[cfg(any(feature = "leptos", feature = "yew"))]
    pub(crate) fn downgrade(&self) -> WeakSocket {
        WeakSocket(Rc::downgrade(&self.inner))
    }
}

/// See the table on [`Socket`].
impl Sink<Message> for Socket {
    type Error = SendError;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SendError>> {
        let mark = imp::high_water_mark(&self.inner);
        self.poll_until(cx, Until::AtMost(mark)).map(Ok)
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), SendError> {
        self.send(item).map(drop)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SendError>> {
        self.poll_until(cx, Until::AtMost(0)).map(Ok)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SendError>> {
        match self.state() {
            State::Closed => return Poll::Ready(Ok(())),
            // (Closing already: nothing more will be written.)
            State::Closing => {}
            _ => {
                ready!(self.poll_until(cx, Until::AtMost(0)));
                imp::close(&self.inner, 1000, "");
            }
        }
        self.poll_until(cx, Until::Closed).map(Ok)
    }
}

/// The future of [`Socket::opened`]: `Ok(())` once the socket is open,
/// `Err(`[`Error::Closed`]`)` if it is closed for good first.
///
/// ```no_run
/// # async fn demo(socket: tether_ws::Socket) {
/// use tether_ws::Opened;
///
/// let opened: Opened = socket.opened();
/// if opened.await.is_err() {
///     socket.reconnect(); // closed: try again, backoff reset
/// }
/// # }
/// ```
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct Opened {
    socket: Socket,
}

impl Future for Opened {
    type Output = Result<(), Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        ready!(self.socket.poll_until(cx, Until::Open));
        match self.socket.state() {
            State::Open => Poll::Ready(Ok(())),
            _ => Poll::Ready(Err(Error::Closed)),
        }
    }
}

/// The future of [`Socket::flushed`]: ready once nothing is queued or buffered.
///
/// ```no_run
/// # async fn demo(socket: tether_ws::Socket, timeout: impl std::future::Future<Output = ()> + Unpin) {
/// use futures::future::{select, Either};
///
/// // Wait for the sends to leave, at most until `timeout` (a timer of your choice).
/// match select(socket.flushed(), timeout).await {
///     Either::Left(((), _)) => {}
///     Either::Right(_) => println!("{} bytes still unsent", socket.buffered_amount()),
/// }
/// # }
/// ```
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct Flushed {
    socket: Socket,
}

impl Future for Flushed {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.socket.poll_until(cx, Until::AtMost(0))
    }
}

/// A core event as the API tells it, the message of a `Dropped` made by `message` (the
/// driver's payload: a JS value in the browser, a [`Message`] on a test server).
#[cfg(any(target_arch = "wasm32", all(feature = "testing", not(target_arch = "wasm32"))))]
fn api_event<P>(event: crate::core::Event<P>, message: impl FnOnce(P) -> Message) -> Event {
    use super::error::ConnectionError;
    use crate::core::{ErrorKind, Event as CoreEvent};
    match event {
        CoreEvent::Open => Event::Open,
        CoreEvent::Close(info) => Event::Close(info),
        CoreEvent::Error(kind) => Event::Error(match kind {
            ErrorKind::ConnectionTimeout => ConnectionError::ConnectionTimeout,
            ErrorKind::MessageTooBig => ConnectionError::MessageTooBig,
            ErrorKind::Socket => ConnectionError::Socket,
            ErrorKind::ProtocolError => ConnectionError::ProtocolError,
            ErrorKind::NoContinuity => ConnectionError::NoContinuity,
        }),
        CoreEvent::Reconnecting {
            attempt,
            delay_ms,
            reason,
        } => Event::Reconnecting {
            attempt,
            delay: Duration::from_secs_f64(delay_ms.max(0.0) / 1000.0),
            reason,
        },
        CoreEvent::StateChange { from, to } => Event::StateChange { from, to },
        CoreEvent::Dropped { payload, reason } => Event::Dropped {
            message: message(payload),
            reason,
        },
        CoreEvent::Requeued { count, bytes } => Event::Requeued { count, bytes },
        // (The browser driver tells resumes with what persistence adds: `Callbacks::resume`.)
        CoreEvent::Resume {
            start,
            resent,
            dropped,
        } => Event::Resume {
            start,
            resent,
            dropped,
            restored: false,
            duplicated: false,
        },
    }
}

/// A message from the server to the subscribers, unless it is the heartbeat's reply
/// (`heartbeat`: heartbeats are on; `is_pong` says which messages are replies). Returns
/// whether it counts as a reply: without `is_pong`, every message does.
#[cfg(any(target_arch = "wasm32", all(feature = "testing", not(target_arch = "wasm32"))))]
fn deliver(
    subscribers: &Subscribers,
    is_pong: Option<&super::types::IsPong>,
    message: Message,
    heartbeat: bool,
) -> bool {
    if let Some(is_pong) = is_pong.filter(|_| heartbeat) {
        if is_pong(&message) {
            return true;
        }
        subscribers.publish(Event::Message(message));
        return false;
    }
    subscribers.publish(Event::Message(message));
    true
}

#[cfg(target_arch = "wasm32")]
mod imp {
    //! The browser implementation: the shared driver, with callbacks that decode messages into
    //! Rust values and fans events out to subscribers.
    use std::rc::Rc;
    use std::task::Context;

    use std::cell::{Cell, RefCell};

    use gloo_timers::callback::Timeout;
    use wasm_bindgen::{JsCast, JsValue};
    use web_sys::BinaryType;

    use super::super::error::{ConnectionError, Error, PersistError, SendError};
    use super::super::subscribers::Subscribers;
    use super::super::types::{CloseInfo, Event, IsPong, Message, Persist, Sent, SessionStart, State};
    use super::super::waiters::{Until, Waiters};
    use super::{ShouldReconnect, SocketBuilder};
    use crate::browser::{self, check_protocols, check_url, Callbacks, Driver, DriverOptions};
    use crate::core::{self, Config};

    pub struct Inner {
        driver: Driver,
        callbacks: Rc<SocketCallbacks>,
        /// `Socket::release` was called: the end keeps the persisted session.
        keep_session: Cell<bool>,
        /// `SocketBuilder::high_water_mark`.
        high_water_mark: u64,
        /// While a task waits for bytes to drain on an open socket: the timer that wakes it
        /// to look again (the browser has no event for `bufferedAmount`), and its next delay.
        drain_timer: RefCell<Option<Timeout>>,
        drain_delay_ms: Cell<u32>,
    }

    /// The drain timer's first delay and its cap (it doubles while a task still waits).
    const DRAIN_FIRST_MS: u32 = 1;
    const DRAIN_MAX_MS: u32 = 32;

    impl Drop for Inner {
        fn drop(&mut self) {
            if self.keep_session.get() {
                self.driver.release();
            } else {
                self.driver.dispose();
            }
            self.callbacks.subscribers.end();
        }
    }

    struct SocketCallbacks {
        subscribers: Rc<Subscribers>,
        should_reconnect: Option<ShouldReconnect>,
        /// With heartbeats on: which messages are their replies (not delivered).
        is_pong: Option<IsPong>,
        /// Tasks waiting for the socket to open, close or drain.
        waiters: Rc<Waiters>,
    }

    fn to_js(message: &Message) -> JsValue {
        match message {
            Message::Text(s) => JsValue::from_str(s),
            Message::Binary(b) => js_sys::Uint8Array::from(&b[..]).into(),
        }
    }

    /// Text stays text; ArrayBuffers and views become bytes (the Rust face asks for
    /// arraybuffer delivery, so Blobs never arrive).
    fn from_js(v: &JsValue) -> Message {
        match v.as_string() {
            Some(s) => Message::Text(s),
            None if v.is_instance_of::<js_sys::ArrayBuffer>() || js_sys::ArrayBuffer::is_view(v) => {
                Message::Binary(js_sys::Uint8Array::new(v).to_vec())
            }
            None => Message::Binary(Vec::new()),
        }
    }

    impl Callbacks for SocketCallbacks {
        fn event(&self, event: core::Event<JsValue>) {
            let event = super::api_event(event, |payload| from_js(&payload));
            // (Any event but a message may change the state or what is queued.)
            self.subscribers.publish(event);
            self.waiters.wake(false);
        }

        fn resume(
            &self,
            start: SessionStart,
            resent: usize,
            dropped: usize,
            restored: bool,
            duplicated: bool,
        ) {
            self.subscribers.publish(Event::Resume {
                start,
                resent,
                dropped,
                restored,
                duplicated,
            });
        }

        fn persist_failed(&self, error: PersistError) {
            self.subscribers
                .publish(Event::Error(ConnectionError::Persistence(error)));
        }

        fn message(&self, data: &JsValue, heartbeat: bool) -> bool {
            super::deliver(&self.subscribers, self.is_pong.as_ref(), from_js(data), heartbeat)
        }

        fn should_reconnect(&self, info: &CloseInfo) -> Option<bool> {
            self.should_reconnect.as_ref().map(|f| f(info))
        }
    }

    pub fn connect(b: SocketBuilder, config: Config) -> Result<Inner, Error> {
        let url = check_url(&b.url).map_err(Error::InvalidUrl)?;
        check_protocols(&b.protocols).map_err(Error::InvalidProtocol)?;
        let callbacks = Rc::new(SocketCallbacks {
            subscribers: Rc::new(Subscribers::default()),
            should_reconnect: b.should_reconnect,
            is_pong: b.heartbeat.as_ref().and_then(|h| h.is_pong.clone()),
            waiters: Rc::new(Waiters::default()),
        });
        // Persisted under its key, or the URL (absolute, as checked).
        let persist_key = b
            .continuity
            .as_ref()
            .filter(|c| c.persist == Some(Persist::Session))
            .map(|c| c.persist_key.clone().unwrap_or_else(|| url.clone()));
        let options = DriverOptions {
            config,
            url,
            url_provider: b.url_provider.map(|provide| -> Box<dyn Fn() -> Option<String>> {
                Box::new(move || check_url(&provide()).ok())
            }),
            protocols: b.protocols,
            binary_type: BinaryType::Arraybuffer,
            heartbeat_message: b.heartbeat.as_ref().map(|h| to_js(&h.message)),
            persist_key,
        };
        let driver = Driver::start(options, callbacks.clone()).map_err(|_| Error::PersistKeyInUse)?;
        Ok(Inner {
            driver,
            callbacks,
            keep_session: Cell::new(false),
            high_water_mark: b.high_water_mark,
            drain_timer: RefCell::new(None),
            drain_delay_ms: Cell::new(DRAIN_FIRST_MS),
        })
    }

    pub fn high_water_mark(inner: &Inner) -> u64 {
        inner.high_water_mark
    }

    /// Registers the task of `cx` until `until` may hold; for bytes on an open socket, arms
    /// the drain timer.
    pub fn wait(inner: &Rc<Inner>, until: Until, cx: &mut Context<'_>) {
        inner.callbacks.waiters.register(until, cx.waker());
        let bytes = matches!(until, Until::AtMost(_));
        if bytes && inner.driver.state() == State::Open && inner.drain_timer.borrow().is_none() {
            let delay = inner.drain_delay_ms.get();
            inner.drain_delay_ms.set((delay * 2).min(DRAIN_MAX_MS));
            let weak = Rc::downgrade(inner);
            let timer = Timeout::new(delay, move || {
                if let Some(inner) = weak.upgrade() {
                    let fired = inner.drain_timer.borrow_mut().take();
                    drop(fired);
                    // (Those still waiting register again, which arms the next.)
                    inner.callbacks.waiters.wake(true);
                }
            });
            *inner.drain_timer.borrow_mut() = Some(timer);
        }
    }

    /// A task found the bytes drained: the next wait starts with a short delay again.
    pub fn drained(inner: &Inner) {
        if !inner.callbacks.waiters.wants_bytes() {
            inner.drain_delay_ms.set(DRAIN_FIRST_MS);
        }
    }

    pub fn keep_session(inner: &Inner) {
        inner.keep_session.set(true);
    }

    pub fn send(inner: &Inner, message: Message, key: Option<&str>) -> Result<Sent, SendError> {
        let bytes = message.len() as u64;
        match inner.driver.send(to_js(&message), key, |_| bytes) {
            browser::Sent::Written => Ok(Sent::Written),
            browser::Sent::Queued => Ok(Sent::Queued),
            browser::Sent::Dropped => Ok(Sent::Dropped),
            // (The driver gives back its JS copy; the Rust value is still here.)
            browser::Sent::Rejected => Err(SendError::QueueFull(message)),
        }
    }

    pub fn close(inner: &Inner, code: u16, reason: &str) {
        inner.driver.close(code, reason);
    }

    pub fn reconnect(inner: &Inner) {
        inner.driver.reconnect(1000, "");
    }

    pub fn state(inner: &Inner) -> State {
        inner.driver.state()
    }

    pub fn retry_count(inner: &Inner) -> u32 {
        inner.driver.retry_count()
    }

    pub fn queued_messages(inner: &Inner) -> usize {
        inner.driver.queued_messages()
    }

    pub fn queued_bytes(inner: &Inner) -> u64 {
        inner.driver.queued_bytes()
    }

    pub fn buffered_amount(inner: &Inner) -> u64 {
        inner.driver.buffered_amount()
    }

    pub fn url(inner: &Inner) -> String {
        inner.driver.url()
    }

    pub fn protocol(inner: &Inner) -> String {
        inner.driver.protocol()
    }

    pub fn extensions(inner: &Inner) -> String {
        inner.driver.extensions()
    }

    pub fn subscribers(inner: &Inner) -> &Rc<Subscribers> {
        &inner.callbacks.subscribers
    }
}

#[cfg(all(feature = "testing", not(target_arch = "wasm32")))]
#[path = "socket_testing.rs"]
mod imp;

#[cfg(all(not(feature = "testing"), not(target_arch = "wasm32")))]
mod imp {
    //! Outside the browser there is no WebSocket: `connect` fails with `Unsupported`, so no
    //! `Socket` can exist and the other functions are unreachable by construction.
    use std::rc::Rc;

    use super::super::error::{Error, SendError};
    use super::super::subscribers::Subscribers;
    use super::super::types::{Message, Sent, State};
    use super::super::waiters::Until;
    use super::SocketBuilder;
    use crate::core::Config;
    use std::task::Context;

    /// Uninhabited: a native build never holds a live socket.
    pub enum Inner {}

    pub fn connect(_: SocketBuilder, _: Config) -> Result<Inner, Error> {
        Err(Error::Unsupported)
    }
    pub fn send(inner: &Inner, _: Message, _: Option<&str>) -> Result<Sent, SendError> {
        match *inner {}
    }
    pub fn close(inner: &Inner, _: u16, _: &str) {
        match *inner {}
    }
    pub fn reconnect(inner: &Inner) {
        match *inner {}
    }
    pub fn keep_session(inner: &Inner) {
        match *inner {}
    }
    pub fn state(inner: &Inner) -> State {
        match *inner {}
    }
    pub fn retry_count(inner: &Inner) -> u32 {
        match *inner {}
    }
    pub fn queued_messages(inner: &Inner) -> usize {
        match *inner {}
    }
    pub fn queued_bytes(inner: &Inner) -> u64 {
        match *inner {}
    }
    pub fn buffered_amount(inner: &Inner) -> u64 {
        match *inner {}
    }
    pub fn url(inner: &Inner) -> String {
        match *inner {}
    }
    pub fn protocol(inner: &Inner) -> String {
        match *inner {}
    }
    pub fn extensions(inner: &Inner) -> String {
        match *inner {}
    }
    pub fn subscribers(inner: &Inner) -> &Rc<Subscribers> {
        match *inner {}
    }
    pub fn high_water_mark(inner: &Inner) -> u64 {
        match *inner {}
    }
    pub fn wait(inner: &Rc<Inner>, _: Until, _: &mut Context<'_>) {
        match **inner {}
    }
    pub fn drained(inner: &Inner) {
        match *inner {}
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn native_connect_is_a_clear_error() {
        let err = Socket::builder("ws://127.0.0.1:1/").connect().err();
        assert_eq!(err, Some(Error::Unsupported));
        assert!(Error::Unsupported.to_string().contains("browser"));
    }

    #[test]
    fn options_are_validated_before_connecting() {
        let bad = ReconnectOptions {
            grow_factor: 0.5,
            ..Default::default()
        };
        let err = Socket::builder("ws://x/").backoff(bad).connect().err();
        let Some(Error::InvalidOption(e)) = err else {
            panic!("expected an option error, got {err:?}")
        };
        assert_eq!(e.option, "ReconnectOptions::grow_factor");
        assert_eq!(
            e.to_string(),
            "invalid option `ReconnectOptions::grow_factor`: expected a finite number >= 1"
        );
    }

    /// The option a builder fails with.
    fn option_error(b: SocketBuilder) -> ConfigError {
        match b.connect().err() {
            Some(Error::InvalidOption(e)) => e,
            other => panic!("expected an option error, got {other:?}"),
        }
    }

    #[test]
    fn option_errors_name_the_rust_setters_not_the_js_options() {
        let b = || Socket::builder("ws://x/");
        let cases = [
            (
                b().backoff(ReconnectOptions::default().jitter(super::super::Jitter::Proportional(1.5))),
                "ReconnectOptions::jitter",
            ),
            (
                b().backoff(ReconnectOptions::default().grow_factor(f64::NAN)),
                "ReconnectOptions::grow_factor",
            ),
            (
                b().connection_timeout(Some(Duration::ZERO)),
                "SocketBuilder::connection_timeout",
            ),
            (
                b().heartbeat(HeartbeatOptions::default().interval(Duration::ZERO)),
                "HeartbeatOptions::interval",
            ),
            (
                b().heartbeat(HeartbeatOptions::default().timeout(Duration::ZERO)),
                "HeartbeatOptions::timeout",
            ),
        ];
        for (builder, name) in cases {
            let e = option_error(builder);
            assert_eq!(e.option, name);
            assert!(!e.expected.contains("milliseconds"), "{e}: Rust takes Durations");
        }
    }

    /// Every rule of the core's validation, broken one at a time, comes out with a Rust name
    /// (also those no Rust value can break: a `Duration` is never negative or infinite).
    #[test]
    fn every_core_option_error_has_a_rust_name() {
        let breaks: [fn(&mut Config); 11] = [
            |c| c.backoff.min_delay_ms = f64::INFINITY,
            |c| c.backoff.max_delay_ms = -1.0,
            |c| c.backoff.grow_factor = 0.5,
            |c| c.backoff.min_uptime_ms = -1.0,
            |c| c.backoff.jitter = 2.0,
            |c| c.connection_timeout_ms = 0.0,
            |c| {
                c.heartbeat = Some(Heartbeat {
                    interval_ms: 0.0,
                    timeout_ms: 1.0,
                })
            },
            |c| {
                c.heartbeat = Some(Heartbeat {
                    interval_ms: 1.0,
                    timeout_ms: 0.0,
                })
            },
            |c| {
                c.continuity = Some(crate::core::Continuity {
                    window: 0,
                    ..Default::default()
                })
            },
            |c| {
                c.continuity = Some(crate::core::Continuity {
                    window_bytes: 0,
                    ..Default::default()
                })
            },
            |c| {
                c.continuity = Some(crate::core::Continuity {
                    ack_delay_ms: f64::NAN,
                    ..Default::default()
                })
            },
        ];
        let mut names = Vec::new();
        for (i, break_it) in breaks.iter().enumerate() {
            let mut cfg = Config::default();
            break_it(&mut cfg);
            let js = cfg.validate().expect_err("broken");
            let rust = rust_named(js.clone());
            assert!(
                rust.option.contains("::") && rust.option != js.option,
                "rule {i}: {js} is still named for JS: {rust}"
            );
            names.push(rust.option);
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), breaks.len(), "one name per rule: {names:?}");
    }

    #[test]
    fn continuity_options_map_to_the_core_and_are_validated() {
        use crate::api::{ContinuityMode, ContinuityOptions};
        use crate::core::Continuity;

        let builder = |c: ContinuityOptions| Socket::builder("ws://x/").continuity(c);
        let cfg = builder(ContinuityOptions::default()).config().unwrap();
        assert_eq!(
            cfg.continuity,
            Some(Continuity::default()),
            "the defaults are the core's"
        );
        assert_eq!(
            Socket::builder("ws://x/").config().unwrap().continuity,
            None,
            "off by default"
        );

        let options = ContinuityOptions::default()
            .mode(ContinuityMode::Required)
            .window(8)
            .window_bytes(None)
            .ack_delay(Duration::from_millis(40))
            .resend(false);
        let expected = Continuity {
            required: true,
            window: 8,
            window_bytes: u64::MAX,
            ack_delay_ms: 40.0,
            resend: false,
        };
        assert_eq!(builder(options).config().unwrap().continuity, Some(expected));

        let option = |b: SocketBuilder| option_error(b).option;
        assert_eq!(
            option(builder(ContinuityOptions::default().window(0))),
            "ContinuityOptions::window"
        );
        assert_eq!(
            option(builder(ContinuityOptions::default().window_bytes(Some(0)))),
            "ContinuityOptions::window_bytes"
        );
        // With a heartbeat too (on a session it is the protocol's ping).
        let with_heartbeat = builder(ContinuityOptions::default()).heartbeat(HeartbeatOptions::default());
        assert!(with_heartbeat.config().is_ok());

        // Persistence is the driver's: the core's options are the same with it.
        use crate::api::Persist;
        let persisted = ContinuityOptions::default().persist(Persist::Session);
        assert_eq!(
            builder(persisted.clone()).config().unwrap().continuity,
            Some(Continuity::default())
        );
        for key in ["", "a#1"] {
            assert_eq!(
                option(builder(persisted.clone().persist_key(key))),
                "ContinuityOptions::persist_key"
            );
        }
    }
}
