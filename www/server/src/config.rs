//! The server's settings: the session engine's limits and timings, and the I/O's.

use std::fmt;
use std::sync::Arc;

use tokio_tungstenite::tungstenite::http::{self, StatusCode};

use crate::store::SessionStore;

/// The session engine's settings ([`tether_ws::core::continuity::ServerConfig`]): the TTL
/// (120 s), the window (256 messages, 1 MiB each way), the ack delay (250 ms), the queue of
/// a session beyond its window (1,024 messages, 4 MiB: past it the session ends with
/// `"overflow"`), and the sessions the table holds (10,000: past it a `hello` that would
/// open one more is closed with 4003).
pub type SessionConfig = tether_ws::core::continuity::ServerConfig;

/// The window of one direction (messages and bytes sent and not yet acknowledged).
pub type Window = tether_ws::core::continuity::Window;

/// The HTTP request of a WebSocket upgrade, as the [`AuthHook`] sees it (no body).
pub type Request = http::Request<()>;

/// The application's check of a connection, run on every upgrade (resumes included) before
/// the WebSocket exists: `Err` refuses it with the [`Refusal`]'s HTTP status.
pub type AuthHook = Arc<dyn Fn(&Request) -> Result<(), Refusal> + Send + Sync>;

/// Why an upgrade was refused: the HTTP status and a short text for the response body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The status of the response (401, 403, …).
    pub status: StatusCode,
    /// The response's body.
    pub reason: String,
}

impl Refusal {
    /// A refusal with `status` (a status that is not a 4xx or 5xx becomes 403).
    pub fn new(status: StatusCode, reason: impl Into<String>) -> Self {
        let status = if status.is_client_error() || status.is_server_error() {
            status
        } else {
            StatusCode::FORBIDDEN
        };
        Refusal {
            status,
            reason: reason.into(),
        }
    }

    /// 401: the request carries no valid credentials.
    pub fn unauthorized(reason: impl Into<String>) -> Self {
        Refusal::new(StatusCode::UNAUTHORIZED, reason)
    }

    /// 403: the credentials are valid but not enough.
    pub fn forbidden(reason: impl Into<String>) -> Self {
        Refusal::new(StatusCode::FORBIDDEN, reason)
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status, self.reason)
    }
}

impl std::error::Error for Refusal {}

/// The server's settings. Every limit has a default; what the server does at each is said
/// on its field.
///
/// ```
/// use tether_server::{Config, Refusal};
///
/// let cfg = Config {
///     max_connections: 100,
///     protocols: vec!["chat".into()], // selects `tether.v1+chat` when offered
///     allowed_origins: Some(vec!["https://app.example".into()]),
///     ..Config::default()
/// }
/// .with_auth(|req| match req.uri().query() {
///     Some(q) if q.contains("ticket=") => Ok(()),
///     _ => Err(Refusal::unauthorized("no ticket")),
/// });
/// assert_eq!(cfg.sessions.ttl_ms, 120_000);
/// ```
#[derive(Clone)]
pub struct Config {
    /// The session engine's limits and timings (TTL, window, queue, sessions).
    pub sessions: SessionConfig,
    /// Connections open at once, counted from the TCP accept ([`Server::serve`],
    /// [`Server::accept`]) or the upgrade request (axum) until the socket ends: one more is
    /// dropped at once (the accept loop), or refused with HTTP 503 (axum). 1,024.
    ///
    /// [`Server::serve`]: crate::Server::serve
    /// [`Server::accept`]: crate::Server::accept
    pub max_connections: usize,
    /// The largest payload a client may send, bytes: a frame larger than this plus its
    /// data header (35 bytes at most) closes the connection with 1009. The frame limit is
    /// never below 4,096 bytes, the protocol's largest control frame. 1 MiB.
    pub max_message_bytes: usize,
    /// How long a connection may take from its TCP accept (or its upgrade, on axum) to its
    /// `hello`, ms: then it is closed with 4002 (the protocol wants `hello` first), or just
    /// dropped if it never finished the HTTP upgrade. 10 s.
    pub hello_timeout_ms: u64,
    /// How long one write to a client may take, ms: a client that stops reading is closed
    /// with 1013 (its session stays; it may resume). Its outgoing queue is bounded too (the
    /// window plus 64 frames), and when it fills the client is closed the same way. 10 s.
    pub write_timeout_ms: u64,
    /// Liveness: a connection that sends nothing, not even the pong to the ping it gets
    /// after half this time of silence, for this long, ms, is closed with 1001 and its
    /// session detached (so that its TTL runs: a client that vanished without a TCP close
    /// must not hold its session attached). 60 s; 0 turns it off.
    pub idle_timeout_ms: u64,
    /// Events that may wait for the application ([`Server::events`]): while this many are
    /// unread, the server reads no frame from any client (their windows fill, and they
    /// wait); a message is acknowledged to its client once it is in this queue. Only
    /// `Ended` events of sessions the server ends on its own (TTL, overflow) are queued past
    /// it, at most one per session. 1,024.
    ///
    /// [`Server::events`]: crate::Server::events
    pub event_capacity: usize,
    /// The application's subprotocols, in order of preference: the server selects the
    /// first `tether.v1+<p>` the client offers, else `tether.v1`. A client that offers
    /// neither is refused with HTTP 400. Empty by default (only `tether.v1`).
    pub protocols: Vec<String>,
    /// `None` (the default): any `Origin`, or none. `Some(list)`: the `Origin` header must
    /// be one of the list (ASCII case-insensitive, e.g. `"https://app.example"`), else HTTP
    /// 403; a request without `Origin` is refused too (a non-browser client sets one).
    pub allowed_origins: Option<Vec<String>>,
    /// The application's own authentication, run on every upgrade (see [`AuthHook`]).
    pub auth: Option<AuthHook>,
    /// A store shared with other servers, so that a session resumes on any of them (see
    /// [`crate::store`]; [`crate::RedisStore`] is one). `None` (the default): the sessions
    /// live in this server's memory only.
    pub store: Option<Arc<dyn SessionStore>>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            sessions: SessionConfig::default(),
            max_connections: 1024,
            max_message_bytes: 1_048_576,
            hello_timeout_ms: 10_000,
            write_timeout_ms: 10_000,
            idle_timeout_ms: 60_000,
            event_capacity: 1024,
            protocols: Vec::new(),
            allowed_origins: None,
            auth: None,
            store: None,
        }
    }
}

impl Config {
    /// Sets [`Config::auth`].
    pub fn with_auth(
        mut self,
        auth: impl Fn(&Request) -> Result<(), Refusal> + Send + Sync + 'static,
    ) -> Self {
        self.auth = Some(Arc::new(auth));
        self
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("sessions", &self.sessions)
            .field("max_connections", &self.max_connections)
            .field("max_message_bytes", &self.max_message_bytes)
            .field("hello_timeout_ms", &self.hello_timeout_ms)
            .field("write_timeout_ms", &self.write_timeout_ms)
            .field("idle_timeout_ms", &self.idle_timeout_ms)
            .field("event_capacity", &self.event_capacity)
            .field("protocols", &self.protocols)
            .field("allowed_origins", &self.allowed_origins)
            .field("auth", &self.auth.as_ref().map(|_| "Fn"))
            .field("store", &self.store.as_ref().map(|s| s.node().to_owned()))
            .finish()
    }
}
