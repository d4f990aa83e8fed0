//! Testing support (feature `testing`, native targets): an in-memory server and a manual
//! clock, so that an application's code that uses a [`Socket`](crate::Socket) runs in plain
//! `cargo test`, with no browser and no network.
//!
//! A [`TestServer`] is both: sockets built with
//! [`SocketBuilder::transport`](crate::SocketBuilder::transport) connect to it, each attempt
//! arriving as a [`TestConn`] that the test accepts or refuses, then drives (messages from
//! the server, a clean close, a dropped connection) and reads (what the socket sent, how it
//! closed). Time moves only when the test says so ([`TestServer::advance`]): backoff delays,
//! connection timeouts and heartbeats fire exactly when they fall due, in order.
//!
//! The socket's rules are the real ones: the same state machine as in the browser (`core`),
//! driven by a third driver that keeps the browser driver's skeleton, with the in-memory
//! link in place of the `WebSocket`. What differs is the transport: the server selects a
//! subprotocol only when told to ([`TestConn::accept_protocol`]), a write leaves at once
//! (`bufferedAmount` is always 0), the closing handshake completes at once, and there is no
//! page (online/offline, visibility, storage). The continuity protocol is not simulated: a
//! socket with `continuity(..)` meets a server that does not speak it.
//!
//! ```
//! use futures::FutureExt;
//! use futures::StreamExt;
//! use std::time::Duration;
//! use tether_ws::testing::TestServer;
//! use tether_ws::{Event, Message, Socket, State};
//!
//! let server = TestServer::new();
//! let socket = Socket::builder("wss://example.com/chat").transport(&server).connect()?;
//! let mut events = socket.events();
//!
//! // The socket's first attempt: open it, talk both ways.
//! let conn = server.next_connection().expect("the socket connected");
//! conn.accept();
//! assert_eq!(socket.state(), State::Open);
//! socket.send("hello")?;
//! assert_eq!(conn.received(), [Message::Text("hello".into())]);
//! conn.send("welcome");
//!
//! // Events are buffered in the stream: read them without an executor.
//! let mut next = || events.next().now_or_never().flatten();
//! assert!(matches!(next(), Some(Event::StateChange { .. })));
//! assert!(matches!(next(), Some(Event::Open)));
//! assert_eq!(next(), Some(Event::Message(Message::Text("welcome".into()))));
//!
//! // The connection drops: the socket waits its backoff delay, then tries again.
//! conn.drop_connection();
//! assert_eq!(socket.state(), State::Reconnecting);
//! server.advance(Duration::from_secs(10));
//! assert!(server.next_connection().is_some());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Under `wasm-pack test` the same tests need no change if the code under test is also built
//! natively: keep them in a module that `cargo test` runs (the in-memory transport exists on
//! native targets only; in the browser, sockets talk to a real server).

mod driver;

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::{Rc, Weak};
use std::time::Duration;

use crate::api::Message;
use crate::core::{CloseInfo, ConnId};

pub(crate) use driver::{Callbacks, Driver, DriverOptions, Sent as DriverSent};

/// An in-memory WebSocket server and the clock of the sockets that connect to it. Cloning
/// gives another handle to the same server.
#[derive(Clone, Default)]
pub struct TestServer {
    shared: Rc<Shared>,
}

/// What a server and its sockets share.
#[derive(Default)]
pub(crate) struct Shared {
    /// The clock, in milliseconds since the server was made.
    now: Cell<f64>,
    /// Connection attempts not yet taken by the test, oldest first.
    waiting: RefCell<VecDeque<TestConn>>,
    /// The sockets' drivers, for their timers.
    drivers: RefCell<Vec<Weak<driver::Inner>>>,
}

/// Timers fired by one [`TestServer::advance`] before it gives up on a clock that does not
/// move (a machine that keeps asking for the same moment would be a bug in the core).
const MAX_TIMERS_PER_ADVANCE: usize = 100_000;

impl TestServer {
    /// A server with no connections and its clock at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// The oldest connection attempt not yet taken, if any. Each attempt of each socket comes
    /// here once, in the order they were made.
    pub fn next_connection(&self) -> Option<TestConn> {
        self.shared.waiting.borrow_mut().pop_front()
    }

    /// Connection attempts waiting to be taken with [`TestServer::next_connection`].
    pub fn connections_waiting(&self) -> usize {
        self.shared.waiting.borrow().len()
    }

    /// Moves the clock forward by `by`, firing the sockets' timers that fall due on the way,
    /// each at its own moment, earliest first.
    ///
    /// # Panics
    ///
    /// If timers keep firing without the clock moving (100,000 in one call), which would be
    /// a bug in the state machine.
    pub fn advance(&self, by: Duration) {
        let target = self.shared.now.get() + by.as_secs_f64() * 1000.0;
        for _ in 0..MAX_TIMERS_PER_ADVANCE {
            let due = self.shared.next_due(target);
            let Some((at, inner)) = due else {
                self.shared.now.set(target);
                return;
            };
            self.shared.now.set(self.shared.now.get().max(at));
            inner.on_timer();
        }
        panic!("TestServer::advance: {MAX_TIMERS_PER_ADVANCE} timers fired without the clock moving");
    }

    /// The time on the clock: how far it was advanced since the server was made.
    pub fn now(&self) -> Duration {
        Duration::from_secs_f64(self.shared.now.get() / 1000.0)
    }

    pub(crate) fn shared(&self) -> &Rc<Shared> {
        &self.shared
    }
}

impl Shared {
    pub(crate) fn now_ms(&self) -> f64 {
        self.now.get()
    }

    pub(crate) fn register(&self, driver: Weak<driver::Inner>) {
        self.drivers.borrow_mut().push(driver);
    }

    pub(crate) fn arrived(&self, conn: TestConn) {
        self.waiting.borrow_mut().push_back(conn);
    }

    /// The live driver whose timer falls due first, at or before `until`.
    fn next_due(&self, until: f64) -> Option<(f64, Rc<driver::Inner>)> {
        let mut drivers = self.drivers.borrow_mut();
        drivers.retain(|d| d.strong_count() > 0);
        drivers
            .iter()
            .filter_map(Weak::upgrade)
            .filter_map(|d| d.armed().filter(|&at| at <= until).map(|at| (at, d)))
            .min_by(|a, b| a.0.total_cmp(&b.0))
    }
}

/// Where a link stands, as the server sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LinkState {
    Connecting,
    Open,
    Closed,
}

/// One connection attempt, as both ends hold it.
pub(crate) struct Link {
    id: ConnId,
    url: String,
    protocols: Vec<String>,
    state: Cell<LinkState>,
    /// The subprotocol the server selected.
    protocol: RefCell<String>,
    /// Messages from the socket, not yet read by the test.
    received: RefCell<VecDeque<Message>>,
    /// The close code and reason the socket sent, if it closed the connection.
    closed_by_client: RefCell<Option<(u16, String)>>,
    client: Weak<driver::Inner>,
}

impl Link {
    pub(crate) fn new(id: ConnId, url: String, protocols: Vec<String>, client: Weak<driver::Inner>) -> Self {
        Link {
            id,
            url,
            protocols,
            state: Cell::new(LinkState::Connecting),
            protocol: RefCell::new(String::new()),
            received: RefCell::new(VecDeque::new()),
            closed_by_client: RefCell::new(None),
            client,
        }
    }

    pub(crate) fn is_open(&self) -> bool {
        self.state.get() == LinkState::Open
    }

    pub(crate) fn protocol(&self) -> String {
        self.protocol.borrow().clone()
    }

    /// The socket wrote `message`: the server has it (if the link is open).
    pub(crate) fn write(&self, message: Message) -> bool {
        if !self.is_open() {
            return false;
        }
        self.received.borrow_mut().push_back(message);
        true
    }

    /// The socket closed the link (the closing handshake completes at once). False if it
    /// was closed already.
    pub(crate) fn close_from_client(&self, code: u16, reason: &str) -> bool {
        if self.state.replace(LinkState::Closed) == LinkState::Closed {
            return false;
        }
        *self.closed_by_client.borrow_mut() = Some((code, reason.into()));
        true
    }

    fn client(&self) -> Option<Rc<driver::Inner>> {
        self.client.upgrade()
    }
}

/// The server's end of one connection attempt (from [`TestServer::next_connection`]).
/// Cloning gives another handle to the same connection.
///
/// ```
/// use tether_ws::testing::TestServer;
/// use tether_ws::{Message, Socket};
///
/// let server = TestServer::new();
/// let socket = Socket::builder("wss://example.com/live")
///     .protocols(["chat"])
///     .transport(&server)
///     .connect()?;
/// let conn = server.next_connection().unwrap();
/// assert_eq!(conn.url(), "wss://example.com/live");
/// assert_eq!(conn.protocols(), ["chat"]);
/// conn.accept_protocol("chat");
/// assert_eq!(socket.protocol(), "chat");
/// socket.close(1000, "done")?;
/// assert_eq!(conn.closed_by_client(), Some((1000, "done".into())));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct TestConn {
    link: Rc<Link>,
}

impl TestConn {
    pub(crate) fn new(link: Rc<Link>) -> Self {
        TestConn { link }
    }

    /// The URL the socket connected to.
    pub fn url(&self) -> &str {
        &self.link.url
    }

    /// The subprotocols the socket offered.
    pub fn protocols(&self) -> &[String] {
        &self.link.protocols
    }

    /// Completes the handshake: the socket opens. Nothing happens unless the attempt is
    /// still connecting.
    pub fn accept(&self) {
        self.open_with("");
    }

    /// Completes the handshake selecting `protocol`. One the socket did not offer fails the
    /// connection, as a browser does (an error, then a close with 1006).
    pub fn accept_protocol(&self, protocol: &str) {
        if !self.link.protocols.iter().any(|p| p == protocol) {
            self.fail();
            return;
        }
        self.open_with(protocol);
    }

    fn open_with(&self, protocol: &str) {
        if self.link.state.get() != LinkState::Connecting {
            return;
        }
        self.link.state.set(LinkState::Open);
        *self.link.protocol.borrow_mut() = protocol.into();
        if let Some(client) = self.link.client() {
            client.on_open(self.link.id);
        }
    }

    /// Refuses the handshake (a server that answers 4xx/5xx, or none at all): the socket
    /// sees an error, then a close with 1006.
    pub fn refuse(&self) {
        if self.link.state.get() == LinkState::Connecting {
            self.fail();
        }
    }

    /// Cuts the connection without a closing handshake (the network went, the server
    /// crashed): an error, then a close with 1006 that was not clean.
    pub fn drop_connection(&self) {
        if self.link.state.get() != LinkState::Closed {
            self.fail();
        }
    }

    fn fail(&self) {
        self.link.state.set(LinkState::Closed);
        if let Some(client) = self.link.client() {
            client.on_error(self.link.id);
        }
        let info = CloseInfo {
            code: 1006,
            reason: String::new(),
            was_clean: false,
        };
        self.told_closed(info);
    }

    fn told_closed(&self, info: CloseInfo) {
        if let Some(client) = self.link.client() {
            client.on_close(self.link.id, info);
        }
    }

    /// Closes the open connection from the server's side with `code` and `reason` (a clean
    /// close).
    pub fn close(&self, code: u16, reason: &str) {
        if self.link.state.get() != LinkState::Open {
            return;
        }
        self.link.state.set(LinkState::Closed);
        let info = CloseInfo {
            code,
            reason: reason.into(),
            was_clean: true,
        };
        self.told_closed(info);
    }

    /// Sends `message` to the socket. False (nothing sent) unless the connection is open.
    pub fn send(&self, message: impl Into<Message>) -> bool {
        if !self.link.is_open() {
            return false;
        }
        if let Some(client) = self.link.client() {
            client.on_message(self.link.id, message.into());
        }
        true
    }

    /// What the socket sent since the last call, oldest first.
    pub fn received(&self) -> Vec<Message> {
        self.link.received.borrow_mut().drain(..).collect()
    }

    /// Whether the handshake completed and the connection is not closed yet.
    pub fn is_open(&self) -> bool {
        self.link.is_open()
    }

    /// Whether the connection is closed (by either side, or refused).
    pub fn is_closed(&self) -> bool {
        self.link.state.get() == LinkState::Closed
    }

    /// The code and reason the socket closed the connection with, if it was the socket that
    /// closed it (`close()`, a reconnect, a timeout, being dropped).
    pub fn closed_by_client(&self) -> Option<(u16, String)> {
        self.link.closed_by_client.borrow().clone()
    }
}

impl std::fmt::Debug for TestConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestConn")
            .field("url", &self.link.url)
            .field("state", &self.link.state.get())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for TestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestServer")
            .field("now", &self.now())
            .field("connections_waiting", &self.connections_waiting())
            .finish_non_exhaustive()
    }
}
