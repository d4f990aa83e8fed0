//! The connection state machine. It owns the rules (when to connect, retry, give up, flush,
//! declare a connection dead) and nothing else: the driver feeds it what happened (`handle_*`)
//! and what the user asked for (`send`, `close`, `reconnect`), then carries out the actions it
//! polls (`poll_action`) and arms one timer for `poll_timeout`.
//!
//! Every connection attempt gets a fresh [`ConnId`]. Inputs naming an older id are ignored,
//! and the machine asks for a new connection only after the previous one was closed or
//! abandoned, so there is never more than one live socket.

use alloc::collections::VecDeque;
use alloc::string::String;

use super::backoff;
use super::config::Config;
use super::continuity::ResumeReason;
use super::inflight::InFlight;
use super::outbox::{Admission, Outbox};
use super::rng::Rng;
use super::session::{new_session, Session};

mod protocol;

/// The public state of a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// A connection attempt is under way.
    Connecting,
    /// Connected; sends go straight to the socket.
    Open,
    /// `close()` was called; waiting for the closing handshake.
    Closing,
    /// Waiting before the next attempt.
    Reconnecting,
    /// Not connected and not retrying (closed by the user, out of retries, or start-closed).
    Closed,
}

impl State {
    /// The JS name: `"connecting"`, `"open"`, `"closing"`, `"reconnecting"` or `"closed"`.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Connecting => "connecting",
            State::Open => "open",
            State::Closing => "closing",
            State::Reconnecting => "reconnecting",
            State::Closed => "closed",
        }
    }

    /// The `WebSocket.readyState` number: CONNECTING also covers waiting to retry.
    pub fn ready_state(self) -> u16 {
        match self {
            State::Connecting | State::Reconnecting => 0,
            State::Open => 1,
            State::Closing => 2,
            State::Closed => 3,
        }
    }
}

impl core::fmt::Display for State {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Identifies one connection attempt and the socket it creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId(pub u64);

/// How a connection ended, as reported to the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseInfo {
    /// The close code (1006 when the connection was lost or abandoned without a handshake).
    pub code: u16,
    /// The close reason.
    pub reason: String,
    /// Whether the closing handshake completed.
    pub was_clean: bool,
}

/// Why a retry is scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryReason {
    /// The connection closed or could not be established.
    Closed,
    /// The attempt did not open within `connectionTimeout`.
    ConnectionTimeout,
    /// No heartbeat reply within `timeoutMs`.
    HeartbeatTimeout,
    /// The server sent a message larger than `maxMessageBytes`.
    MessageTooBig,
    /// The server broke the continuity protocol (closed with 4002).
    ProtocolError,
    /// The server does not speak the continuity protocol, which is required.
    NoContinuity,
}

impl RetryReason {
    /// The JS name used in `reconnecting` events.
    pub fn as_str(self) -> &'static str {
        match self {
            RetryReason::Closed => "closed",
            RetryReason::ConnectionTimeout => "connection-timeout",
            RetryReason::HeartbeatTimeout => "heartbeat-timeout",
            RetryReason::MessageTooBig => "message-too-big",
            RetryReason::ProtocolError => "protocol-error",
            RetryReason::NoContinuity => "no-continuity",
        }
    }
}

/// Why a queued message was discarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// The outbox limits were exceeded.
    Overflow,
    /// The socket was disposed with the message still queued.
    Disposed,
    /// A newer message with the same replace key took its place.
    Replaced,
    /// Sent in a continuity session the server lost, never acknowledged, and not sent again
    /// (`continuity.resend: false`).
    SessionLost,
}

impl DropReason {
    /// The JS name used in `drop` events.
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::Overflow => "overflow",
            DropReason::Disposed => "disposed",
            DropReason::Replaced => "replaced",
            DropReason::SessionLost => "session-lost",
        }
    }
}

/// Why an `error` event is emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The browser reported an error on the socket, or the attempt could not be started.
    Socket,
    /// The attempt did not open within `connectionTimeout`.
    ConnectionTimeout,
    /// The server sent a message larger than `maxMessageBytes`.
    MessageTooBig,
    /// The server broke the continuity protocol.
    ProtocolError,
    /// Continuity is required and the server does not speak it.
    NoContinuity,
}

/// How a connection's continuity session began, for the `resume` event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStart {
    /// The session was resumed: nothing lost either way.
    Resumed,
    /// A new session: the hello named none (the first connection).
    New,
    /// The previous session is lost: the server did not know it (restarted without its
    /// state, or forgot it after `bye`).
    Unknown,
    /// The previous session outlived its TTL.
    Expired,
    /// The server refused the session's token.
    Auth,
    /// The server's buffer for this client overflowed while it was away.
    Overflow,
    /// The server does not speak the protocol: this connection is a plain WebSocket
    /// (`continuity: "prefer"`).
    Unsupported,
    /// The server selected the protocol and never said `welcome`: the next attempts offer
    /// only the application's subprotocols (`"prefer"`).
    NoWelcome,
}

impl SessionStart {
    /// The JS name used in `resume` events (`reason`; `null` when resumed).
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStart::Resumed => "resumed",
            SessionStart::New => "new",
            SessionStart::Unknown => "unknown",
            SessionStart::Expired => "expired",
            SessionStart::Auth => "auth",
            SessionStart::Overflow => "overflow",
            SessionStart::Unsupported => "unsupported",
            SessionStart::NoWelcome => "no-welcome",
        }
    }

    fn from_welcome(reason: Option<ResumeReason>) -> Self {
        match reason {
            None => SessionStart::Resumed,
            Some(ResumeReason::New) => SessionStart::New,
            Some(ResumeReason::Unknown) => SessionStart::Unknown,
            Some(ResumeReason::Expired) => SessionStart::Expired,
            Some(ResumeReason::Auth) => SessionStart::Auth,
            Some(ResumeReason::Overflow) => SessionStart::Overflow,
        }
    }
}

/// Something the user should hear about.
#[derive(Debug, PartialEq)]
pub enum Event<P> {
    /// The connection is open (queued messages were already handed to the socket).
    Open,
    /// A connection ended.
    Close(CloseInfo),
    /// A connection failed.
    Error(ErrorKind),
    /// A retry is scheduled.
    Reconnecting {
        /// 1 for the first retry after a drop.
        attempt: u32,
        /// Wait before the attempt, jitter included, ms.
        delay_ms: f64,
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
        payload: P,
        /// Why.
        reason: DropReason,
    },
    /// A connection died with messages still in the browser's send buffer: they never left,
    /// so they were put back at the head of the outbox to be sent on the next connection.
    /// Emitted just before that connection's `Close`.
    Requeued {
        /// How many messages.
        count: usize,
        /// Their size in bytes.
        bytes: u64,
    },
    /// A connection's continuity session began (continuity on): emitted before `Open`.
    /// (With the `continuity` feature.)
    #[cfg(feature = "continuity")]
    Resume {
        /// How: resumed, or why not.
        start: SessionStart,
        /// Messages in doubt from a lost session sent again first.
        resent: usize,
        /// Messages in doubt from a lost session reported dropped (`continuity.resend`
        /// false), each in a `Dropped` event.
        dropped: usize,
    },
}

impl<P> Event<P> {
    /// The same event with its payload (a [`Event::Dropped`]'s message) turned by `f`: a
    /// driver that keeps more than the message beside it hands the user only the message.
    pub fn map_payload<Q>(self, f: impl FnOnce(P) -> Q) -> Event<Q> {
        match self {
            Event::Open => Event::Open,
            Event::Close(info) => Event::Close(info),
            Event::Error(kind) => Event::Error(kind),
            Event::Reconnecting {
                attempt,
                delay_ms,
                reason,
            } => Event::Reconnecting {
                attempt,
                delay_ms,
                reason,
            },
            Event::StateChange { from, to } => Event::StateChange { from, to },
            Event::Dropped { payload, reason } => Event::Dropped {
                payload: f(payload),
                reason,
            },
            Event::Requeued { count, bytes } => Event::Requeued { count, bytes },
            #[cfg(feature = "continuity")]
            Event::Resume {
                start,
                resent,
                dropped,
            } => Event::Resume {
                start,
                resent,
                dropped,
            },
        }
    }
}

/// Work for the driver.
#[derive(Debug, PartialEq)]
pub enum Action<P> {
    /// Open a socket for attempt `id` (resolving the URL first if it is provided lazily).
    Connect {
        /// The attempt.
        id: ConnId,
    },
    /// Socket `id` is open (welcomed, with continuity): write to it, in order, first each
    /// message [`Machine::poll_replay`] gives (continuity), then each [`Machine::poll_flush`]
    /// gives, until it returns `None`. (Pulled one by one rather than handed
    /// over as a batch so that a send made meanwhile can never overtake the backlog.)
    Flush {
        /// The socket.
        id: ConnId,
    },
    /// Write the configured heartbeat message to socket `id`.
    SendHeartbeat {
        /// The socket.
        id: ConnId,
    },
    /// Write a text frame of the continuity protocol to socket `id` (a `hello`, an ack,
    /// a `bye`), as it is. (With the `continuity` feature.)
    #[cfg(feature = "continuity")]
    SendFrame {
        /// The socket.
        id: ConnId,
        /// The frame.
        text: String,
    },
    /// Close socket `id`. When `abandon` is set the machine has already moved on: stop
    /// listening to that socket now rather than waiting for its close event.
    Close {
        /// The socket.
        id: ConnId,
        /// Close code for the handshake.
        code: u16,
        /// Close reason for the handshake.
        reason: String,
        /// Detach from the socket immediately.
        abandon: bool,
    },
    /// Tell the user.
    Emit(Event<P>),
}

/// What `send` decided.
#[derive(Debug, PartialEq, Eq)]
pub enum SendOutcome<P> {
    /// Write it to socket `id` now (it is open and nothing is queued before it), then report
    /// [`Machine::handle_written`] or [`Machine::handle_unsent`].
    Write(ConnId, P),
    /// Queued for the next open connection.
    Queued,
    /// Discarded; a `Dropped` event was emitted.
    Dropped,
    /// Refused under `overflow: reject`; the caller keeps the message.
    Rejected(P),
}

/// The sans-IO connection state machine. `P` is the message type.
#[derive(Debug)]
pub struct Machine<P> {
    cfg: Config,
    rng: Rng,
    state: State,
    /// The attempt or socket currently owned, if any.
    current: Option<ConnId>,
    next_id: u64,
    /// Retries since the last stable connection.
    retry_count: u32,
    /// The current run of retries follows a connection that stayed up for `min_uptime`.
    after_stable: bool,
    opened_at: f64,
    /// A write to the open socket failed (it is closing under us): queue until the next open.
    socket_unwritable: bool,
    /// `reconnect()` let go of a socket that was open or closing, and the next one does not
    /// exist yet: `readyState` reads CLOSING meanwhile, as that socket's would.
    replacing: bool,
    offline: bool,
    hidden: bool,
    timers: Timers,
    outbox: Outbox<P>,
    /// Writes to the open socket that may not have left the browser yet.
    in_flight: InFlight<P>,
    /// The continuity session, when continuity is on.
    session: Option<Session<P>>,
    /// The current socket speaks the continuity protocol (its server selected it).
    speaking: bool,
    /// A server selected the protocol and never welcomed: offer only the app's protocols.
    plain_only: bool,
    /// Attempts in a row that offered the protocol and closed before opening, and whether the
    /// next one offers nothing instead: a server that selects no subprotocol fails a
    /// handshake that offered one (browsers fail it), so `prefer` alternates after two.
    offer_failures: u32,
    plain_once: bool,
    /// The current attempt offered the protocol.
    attempt_offered: bool,
    /// The size of the message in hand, when continuity needed it before the write.
    held_size: Option<u64>,
    /// The messages to replay after a resume (during the flush), by number.
    replay: core::ops::Range<u64>,
    actions: VecDeque<Action<P>>,
}

/// Deadlines, in the driver's clock (ms). `None` means not armed.
#[derive(Debug, Default, Clone, Copy)]
struct Timers {
    connect: Option<f64>,
    retry: Option<f64>,
    uptime: Option<f64>,
    heartbeat_send: Option<f64>,
    heartbeat_dead: Option<f64>,
    closing: Option<f64>,
}

impl Timers {
    fn earliest(&self) -> Option<f64> {
        [
            self.connect,
            self.retry,
            self.uptime,
            self.heartbeat_send,
            self.heartbeat_dead,
            self.closing,
        ]
        .into_iter()
        .flatten()
        // An infinite deadline (minUptime or a delay of Infinity) never comes: report none,
        // as a browser setTimeout(f, Infinity) would fire at once.
        .filter(|at| at.is_finite())
        .reduce(f64::min)
    }
}

/// An empty range of message numbers: nothing to replay.
const NO_REPLAY: core::ops::Range<u64> = 0..0;

/// How long `close()` waits for the closing handshake before giving up on it, ms.
const CLOSING_TIMEOUT_MS: f64 = 5000.0;

/// The code sent when the machine abandons a connection (timeout, dead heartbeat, too-big
/// message: browsers only let pages send 1000 and 3000-4999).
const ABANDON_CODE: u16 = 4000;

/// The code reported for connections lost without a closing handshake.
pub const ABNORMAL_CLOSURE: u16 = 1006;

/// The code reported when the connection is closed over a message above `maxMessageBytes`.
pub const MESSAGE_TOO_BIG: u16 = 1009;

/// A close without a handshake, as reported to the user.
fn abnormal(reason: &str) -> CloseInfo {
    CloseInfo {
        code: ABNORMAL_CLOSURE,
        reason: reason.into(),
        was_clean: false,
    }
}

fn is_due(deadline: Option<f64>, now: f64) -> bool {
    deadline.is_some_and(|at| at <= now)
}

impl<P> Machine<P> {
    /// A machine with a validated `cfg`, a random `seed` and the current time. Unless
    /// `start_closed`, it immediately asks for a connection.
    pub fn new(cfg: Config, seed: u64, now: f64) -> Self {
        let session = new_session(&cfg);
        let mut m = Machine {
            outbox: Outbox::new(cfg.queue),
            cfg,
            rng: Rng::new(seed),
            state: State::Closed,
            current: None,
            next_id: 0,
            retry_count: 0,
            after_stable: false,
            opened_at: 0.0,
            socket_unwritable: false,
            replacing: false,
            offline: false,
            hidden: false,
            timers: Timers::default(),
            in_flight: InFlight::new(),
            session,
            speaking: false,
            plain_only: false,
            offer_failures: 0,
            plain_once: false,
            attempt_offered: false,
            held_size: None,
            replay: NO_REPLAY,
            actions: VecDeque::new(),
        };
        if !m.cfg.start_closed {
            m.state = State::Connecting;
            m.start_attempt(now);
        }
        m
    }

    // ---- observers ----

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The attempt or socket the machine currently owns.
    pub fn current(&self) -> Option<ConnId> {
        self.current
    }

    /// The `WebSocket.readyState` number: the state's (CONNECTING also while waiting to
    /// retry), except CLOSING from a `reconnect()` that let go of an open or closing socket
    /// until the driver has created the next one. (reconnecting-websocket and partysocket
    /// report the old socket's state until then.)
    pub fn ready_state(&self) -> u16 {
        if self.replacing {
            State::Closing.ready_state()
        } else {
            self.state.ready_state()
        }
    }

    /// Retries since the last connection that stayed open for `minUptime`.
    pub fn retry_count(&self) -> u32 {
        self.retry_count
    }

    /// Messages waiting in the outbox.
    pub fn queued_messages(&self) -> usize {
        self.outbox.len()
    }

    /// Bytes waiting in the outbox.
    pub fn queued_bytes(&self) -> u64 {
        self.outbox.bytes()
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The next action for the driver, in order.
    pub fn poll_action(&mut self) -> Option<Action<P>> {
        self.actions.pop_front()
    }

    /// When `handle_timeout` should be called next, if at all.
    pub fn poll_timeout(&self) -> Option<f64> {
        let ack = self
            .session
            .as_ref()
            .filter(|_| self.speaking())
            .and_then(|s| s.poll_timeout());
        match (self.timers.earliest(), ack) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next queued message to write to socket `id` during a [`Action::Flush`], with its
    /// size (report it as for [`SendOutcome::Write`]), or `None` when the backlog is written or the socket can no longer take it.
    pub fn poll_flush(&mut self, id: ConnId) -> Option<(P, u64)> {
        if self.current != Some(id) || self.state != State::Open || self.socket_unwritable {
            return None;
        }
        if self.speaking() {
            // Within the window; the rest goes as acks make room.
            let size = self.outbox.front_size()?;
            if !self.session.as_ref().is_some_and(|s| s.has_room(size)) {
                return None;
            }
            self.held_size = Some(size);
        }
        self.outbox.pop_with_size()
    }

    // ---- commands ----

    /// The socket a message sent now would be written to straight away, if any: the
    /// connection is open and nothing is queued ahead of it.
    pub fn writable_socket(&self) -> Option<ConnId> {
        match (self.state, self.socket_unwritable, self.outbox.is_empty()) {
            (State::Open, false, true) => self.current,
            _ => None,
        }
    }

    /// How many messages the driver may write straight to the open socket, without calling
    /// [`Machine::send`] for each, before it must report them with
    /// [`Machine::handle_written`] (in the order written): 0 when every message must be sent
    /// through `send` (not open, something queued, the socket speaks the continuity
    /// protocol). Any other input may change it, so the driver reports the writes and asks
    /// again after each. This is what lets a driver whose every call into the machine costs
    /// (the JS class, over wasm) write an open socket's messages with no call at all; the
    /// answer is what `send` would do, `Write`, for that many messages.
    pub fn direct_writes(&self) -> usize {
        if self.speaking() || self.writable_socket().is_none() {
            return 0;
        }
        self.in_flight.room()
    }

    /// Sends a message: straight to the socket when it is open and nothing is queued
    /// ([`SendOutcome::Write`], its size unknown), else into the outbox, sized with
    /// `size_of` only then. A message with a replace `key` that has to be queued takes the
    /// place of the queued message with the same key, which is reported as dropped
    /// (`Replaced`): for state where only the latest value matters, such as a cursor
    /// position, the outbox then holds one message per key while disconnected.
    pub fn send(&mut self, payload: P, key: Option<&str>, size_of: impl FnOnce(&P) -> u64) -> SendOutcome<P> {
        if !self.speaking() {
            if let Some(id) = self.writable_socket() {
                return SendOutcome::Write(id, payload);
            }
            let bytes = size_of(&payload);
            return self.enqueue(payload, bytes, key);
        }
        // Continuity counts the window in bytes: sized first.
        let bytes = size_of(&payload);
        let room = self.session.as_ref().is_some_and(|s| s.has_room(bytes));
        match self.writable_socket() {
            Some(id) if room => {
                self.held_size = Some(bytes);
                SendOutcome::Write(id, payload)
            }
            _ => self.enqueue(payload, bytes, key),
        }
    }

    /// Puts a message of `bytes` in the outbox under its limits and replace key.
    fn enqueue(&mut self, payload: P, bytes: u64, key: Option<&str>) -> SendOutcome<P> {
        if let Some(old) = key.and_then(|k| self.outbox.remove_key(k)) {
            self.emit(Event::Dropped {
                payload: old,
                reason: DropReason::Replaced,
            });
        }
        let actions = &mut self.actions;
        let admission = self
            .outbox
            .admit_keyed(payload, bytes, key.map(Into::into), |old| {
                actions.push_back(Action::Emit(Event::Dropped {
                    payload: old,
                    reason: DropReason::Overflow,
                }));
            });
        match admission {
            Admission::Queued => SendOutcome::Queued,
            Admission::Rejected(p) => SendOutcome::Rejected(p),
            Admission::Dropped(p) => {
                self.emit(Event::Dropped {
                    payload: p,
                    reason: DropReason::Overflow,
                });
                SendOutcome::Dropped
            }
        }
    }

    /// Closes for good: no retry follows until `reconnect()`. The outbox is kept.
    /// Check the arguments with [`check_close_args`](super::check_close_args) first.
    pub fn close(&mut self, now: f64, code: u16, reason: &str) {
        match (self.state, self.current) {
            (State::Open, Some(id)) => {
                self.clear_connection_timers();
                self.timers.closing = Some(now + CLOSING_TIMEOUT_MS);
                if let (true, Some(session)) = (self.speaking(), self.session.as_mut()) {
                    // The server forgets the session. What it had not acknowledged left
                    // before the close frame, as with a plain WebSocket.
                    let mut text = String::new();
                    drop(session.bye(&mut text));
                    self.send_frame(id, text);
                }
                self.actions.push_back(Action::Close {
                    id,
                    code,
                    reason: reason.into(),
                    abandon: false,
                });
                self.set_state(State::Closing);
            }
            (State::Connecting, Some(id)) => {
                // Nothing to hand-shake with yet: abandon the attempt and report it closed.
                self.abandon(id, code, reason);
                self.set_state(State::Closed);
                self.emit(Event::Close(CloseInfo {
                    code,
                    reason: reason.into(),
                    was_clean: false,
                }));
            }
            (State::Closing | State::Closed, _) => return,
            _ => self.set_state(State::Closed),
        }
        self.retry_count = 0;
        self.timers = Timers {
            closing: self.timers.closing,
            ..Timers::default()
        };
    }

    /// Drops the current connection (if any) and connects again at once, with backoff reset.
    pub fn reconnect(&mut self, now: f64, code: u16, reason: &str) {
        let replacing = self.replacing || matches!(self.state, State::Open | State::Closing);
        if let Some(id) = self.current {
            self.abandon(id, code, reason);
            // Every socket that ends gets its close event, one closing after close() included.
            if matches!(self.state, State::Open | State::Connecting | State::Closing) {
                self.emit(Event::Close(CloseInfo {
                    code,
                    reason: reason.into(),
                    was_clean: false,
                }));
            }
        }
        self.retry_count = 0;
        self.after_stable = false;
        self.plain_only = false;
        self.offer_failures = 0;
        self.plain_once = false;
        self.timers = Timers::default();
        self.set_state(State::Connecting);
        self.replacing = replacing;
        self.start_attempt(now);
    }

    /// Takes the oldest queued message out of the outbox without reporting it (for the
    /// user's own handling, as partysocket's `drainQueuedMessages()`).
    pub fn take_queued(&mut self) -> Option<P> {
        self.outbox.pop()
    }

    /// Disposes of the machine's work: abandons the socket, cancels every timer and reports
    /// each queued message as dropped. Used when the user frees the socket.
    pub fn dispose(&mut self) {
        if let Some(id) = self.current {
            self.abandon(id, 1000, "");
        }
        self.timers = Timers::default();
        while let Some(payload) = self.outbox.pop() {
            self.emit(Event::Dropped {
                payload,
                reason: DropReason::Disposed,
            });
        }
        self.state = State::Closed;
    }

    // ---- inputs ----

    /// The driver created the socket of attempt `id` (after [`Action::Connect`], once the URL
    /// is known).
    pub fn handle_socket_created(&mut self, id: ConnId) {
        if self.current == Some(id) {
            self.replacing = false;
        }
    }

    /// Socket `id` opened, its server having selected the subprotocol `protocol` (`""`:
    /// none). With continuity on and a tether token selected, the `hello` is written first
    /// and the connection opens on the `welcome` (within the connection timeout).
    pub fn handle_opened(&mut self, id: ConnId, now: f64, protocol: &str) {
        if self.current != Some(id) || self.state != State::Connecting {
            return;
        }
        if self.session.is_some() {
            if let (true, Some(session)) = (self.offers_continuity_now(protocol), self.session.as_mut()) {
                self.speaking = true;
                let mut text = String::new();
                session.handle_opened(&mut text);
                self.send_frame(id, text);
                return;
            }
            if self.cfg.continuity.is_some_and(|c| c.required) {
                self.abandon(id, ABANDON_CODE, "continuity required");
                self.emit(Event::Error(ErrorKind::NoContinuity));
                let info = abnormal("continuity required");
                self.lost(now, info, RetryReason::NoContinuity, false);
                return;
            }
            if self.attempt_offered {
                // Offered and not selected: the server does not speak the protocol.
                self.session_to_plain(SessionStart::Unsupported);
            } else {
                // The attempt without an offer that `prefer` makes after failed handshakes:
                // plain for this connection; the session waits for a server that selects
                // the protocol (one that speaks it refuses offers without it).
                self.emit_resume(SessionStart::Unsupported, 0, 0);
            }
        }
        self.go_open(id, now);
    }

    /// The connection is open (its `welcome` came, with continuity): flush, then `open`.
    fn go_open(&mut self, id: ConnId, now: f64) {
        self.timers.connect = None;
        if cfg!(feature = "continuity") {
            self.offer_failures = 0;
        }
        self.opened_at = now;
        self.socket_unwritable = false;
        self.in_flight.reset(Some(id));
        self.timers.uptime = Some(now + self.cfg.backoff.min_uptime_ms);
        if let Some(h) = self.cfg.heartbeat {
            self.timers.heartbeat_send = Some(now + h.interval_ms);
        }
        self.set_state(State::Open);
        // Flush before `open` is emitted, so listeners see the backlog already on its way.
        if !self.outbox.is_empty() || !self.replay.is_empty() {
            self.actions.push_back(Action::Flush { id });
        }
        self.emit(Event::Open);
    }

    /// Asks for the heartbeat on socket `id`: the configured message, or on a connection
    /// that speaks continuity the protocol's `ping` (its heartbeat message would break the
    /// protocol). False when there is nothing to send: a server that did not say it
    /// answers pings gets none, and the heartbeat waits for no reply.
    fn send_heartbeat(&mut self, id: ConnId) -> bool {
        if !self.speaking() {
            self.actions.push_back(Action::SendHeartbeat { id });
            return true;
        }
        let mut ping = String::new();
        let sent = self.session.as_ref().is_some_and(|s| s.ping(&mut ping));
        if sent {
            self.send_frame(id, ping);
        }
        sent
    }

    /// A message arrived on socket `id`; `counts_as_reply` says whether it satisfies the
    /// heartbeat (any message does unless the user's `isPong` says otherwise).
    pub fn handle_message(&mut self, id: ConnId, counts_as_reply: bool) {
        if counts_as_reply && self.current == Some(id) && self.state == State::Open {
            self.timers.heartbeat_dead = None;
        }
    }

    /// Socket `id` reported an error (a close event follows from the browser).
    pub fn handle_error(&mut self, id: ConnId) {
        if self.current == Some(id) {
            self.emit(Event::Error(ErrorKind::Socket));
        }
    }

    /// A message from [`SendOutcome::Write`] or [`Machine::poll_flush`] could not be
    /// written because socket `id` is no longer open. It goes back to the head of the outbox
    /// (it was the oldest unsent one) for the next connection; later sends queue behind it.
    pub fn handle_unsent(&mut self, id: ConnId, payload: P, bytes: u64) {
        if cfg!(feature = "continuity") {
            self.held_size = None;
        }
        if self.current == Some(id) {
            self.socket_unwritable = true;
        }
        self.outbox.push_front_unchecked(payload, bytes);
    }

    /// User message `payload` was written to socket `id` (straight away or from the outbox);
    /// `size` is its byte size if already known. The machine keeps it until it is known to
    /// have left the browser, to send it again if the socket dies first. Returns true when
    /// the driver should report the socket's `bufferedAmount` through
    /// [`Machine::handle_buffered`] (every so often, amortised).
    pub fn handle_written(&mut self, id: ConnId, payload: P, size: Option<u64>) -> bool {
        if !self.speaks_continuity(id) {
            return self.in_flight.push(id, payload, size, true);
        }
        // Numbered as `data_header` said, and kept until the server acknowledges it.
        let bytes = size.or(self.held_size.take()).unwrap_or(0);
        if let Some(session) = self.session.as_mut() {
            if let Err(payload) = session.push(payload, bytes) {
                // Not possible when the driver keeps the contract (room was checked).
                self.outbox.push_front_unchecked(payload, bytes);
            }
        }
        false
    }

    /// The heartbeat message `payload` was written to socket `id`. It is never sent again,
    /// but its bytes share the send buffer with user messages. Returns as
    /// [`Machine::handle_written`].
    pub fn handle_heartbeat_written(&mut self, id: ConnId, payload: P) -> bool {
        self.in_flight.push(id, payload, None, false)
    }

    /// Socket `id` has `buffered` bytes not yet passed to the network (`bufferedAmount`):
    /// forgets the writes that have left. `size_at_least` gives a lower bound of a message's
    /// size in the same unit (for text, its length is enough).
    pub fn handle_buffered(&mut self, id: ConnId, buffered: u64, size_at_least: impl FnMut(&P) -> u64) {
        self.in_flight.trim(id, buffered, size_at_least);
    }

    /// Writes to socket `id` not yet known to have left the browser.
    pub fn in_flight_len(&self) -> usize {
        self.in_flight.len()
    }

    /// Socket `id` received a message larger than `maxMessageBytes` (which the driver does
    /// not deliver): the connection is closed and reported as closed with 1009, then retried
    /// like any lost connection.
    pub fn handle_oversized(&mut self, id: ConnId, now: f64) {
        if self.current != Some(id) || self.state != State::Open {
            return;
        }
        let stable = now - self.opened_at >= self.cfg.backoff.min_uptime_ms;
        self.abandon(id, ABANDON_CODE, "message too big");
        self.emit(Event::Error(ErrorKind::MessageTooBig));
        let info = CloseInfo {
            code: MESSAGE_TOO_BIG,
            reason: "message too big".into(),
            was_clean: false,
        };
        self.lost(now, info, RetryReason::MessageTooBig, stable);
    }

    /// Attempt `id` could not even create a socket (bad URL from a provider, provider threw or
    /// rejected). Counts as a failed attempt.
    pub fn handle_connect_failed(&mut self, id: ConnId, now: f64) {
        if self.current == Some(id) {
            self.emit(Event::Error(ErrorKind::Socket));
            self.ended(id, now, abnormal(""), None);
        }
    }

    /// Whether a close of socket `id` would be followed by a retry under the default policy,
    /// i.e. whether the user's `shouldReconnect` needs to be asked before
    /// [`Machine::handle_closed`].
    pub fn asks_should_reconnect(&self, id: ConnId) -> bool {
        self.current == Some(id) && matches!(self.state, State::Connecting | State::Open)
    }

    /// Socket `id` closed (its close event came), with `buffered` bytes still in the
    /// browser's send buffer (`bufferedAmount`, which the browser keeps after the close; 0
    /// if unknown). The messages those bytes belong to never left: they go back to the head
    /// of the outbox, in order (sized with `size_of`), reported by an [`Event::Requeued`]
    /// before anything else pending. Nothing is requeued for a socket the machine abandoned
    /// (see `abandon`). `should_reconnect` is the user's verdict, if they were asked (see
    /// [`Machine::asks_should_reconnect`]; default: reconnect after every close that
    /// `close()` did not ask for).
    pub fn handle_closed(
        &mut self,
        id: ConnId,
        now: f64,
        info: CloseInfo,
        buffered: u64,
        size_of: impl FnMut(&P) -> u64,
        should_reconnect: Option<bool>,
    ) {
        if self.current != Some(id) {
            return;
        }
        let refused = self.state == State::Connecting && !self.speaking();
        let prefer = !self.cfg.continuity.is_some_and(|c| c.required);
        if cfg!(feature = "continuity") && refused && self.attempt_offered && prefer {
            // The handshake failed, maybe over the subprotocol we offered: after two, every
            // other attempt offers nothing.
            self.offer_failures += 1;
            self.plain_once = self.offer_failures >= 2;
        }
        self.requeue_unsent(id, buffered, size_of);
        self.ended(id, now, info, should_reconnect);
    }

    /// The current socket `id` ended: report it and retry unless told otherwise.
    fn ended(&mut self, id: ConnId, now: f64, info: CloseInfo, should_reconnect: Option<bool>) {
        debug_assert_eq!(self.current, Some(id));
        self.socket_ended();
        self.current = None;
        let prev = self.state;
        let stable = prev == State::Open && now - self.opened_at >= self.cfg.backoff.min_uptime_ms;
        self.clear_connection_timers();
        self.timers.closing = None;
        match prev {
            State::Closing => {
                self.set_state(State::Closed);
                self.emit(Event::Close(info));
            }
            State::Connecting | State::Open => {
                self.emit(Event::Close(info));
                if should_reconnect.unwrap_or(true) {
                    self.schedule_retry(now, RetryReason::Closed, stable);
                } else {
                    self.set_state(State::Closed);
                }
            }
            State::Reconnecting | State::Closed => {}
        }
    }

    /// Time passed: fire whatever deadlines are due. Early calls are harmless.
    pub fn handle_timeout(&mut self, now: f64) {
        let t = self.timers;
        match (self.state, self.current) {
            (State::Connecting, Some(id)) if is_due(t.connect, now) => {
                let timeout = (ErrorKind::ConnectionTimeout, RetryReason::ConnectionTimeout);
                if self.speaking() {
                    // The server selected the protocol and never welcomed.
                    self.without_welcome(id, now, timeout, ABANDON_CODE, "connection timeout");
                } else {
                    self.abandon(id, ABANDON_CODE, "connection timeout");
                    self.emit(Event::Error(timeout.0));
                    self.lost(now, abnormal("connection timeout"), timeout.1, false);
                }
            }
            (State::Open, Some(id)) => {
                if let (true, Some(session)) = (self.speaking(), self.session.as_mut()) {
                    if let Some(ack) = session.poll_ack(now) {
                        let text = ack.as_str().into();
                        self.send_frame(id, text);
                    }
                }
                if is_due(t.uptime, now) {
                    self.timers.uptime = None;
                    self.retry_count = 0;
                    self.after_stable = false;
                }
                if is_due(t.heartbeat_dead, now) {
                    let stable = now - self.opened_at >= self.cfg.backoff.min_uptime_ms;
                    self.abandon(id, ABANDON_CODE, "heartbeat timeout");
                    self.lost(
                        now,
                        abnormal("heartbeat timeout"),
                        RetryReason::HeartbeatTimeout,
                        stable,
                    );
                } else if let (true, Some(h)) = (is_due(t.heartbeat_send, now), self.cfg.heartbeat) {
                    self.timers.heartbeat_send = Some(now + h.interval_ms);
                    if self.send_heartbeat(id) {
                        self.timers.heartbeat_dead.get_or_insert(now + h.timeout_ms);
                    }
                }
            }
            (State::Closing, Some(id)) if is_due(t.closing, now) => {
                // The closing handshake never finished: stop waiting for it.
                self.abandon(id, ABANDON_CODE, "");
                self.timers.closing = None;
                self.set_state(State::Closed);
                self.emit(Event::Close(abnormal("")));
            }
            (State::Reconnecting, _) if is_due(t.retry, now) => {
                self.timers.retry = None;
                self.try_resume(now);
            }
            _ => {}
        }
    }

    /// The browser went offline: stop retrying until it is back.
    pub fn handle_offline(&mut self) {
        self.offline = true;
        if self.state == State::Reconnecting {
            self.timers.retry = None;
        }
    }

    /// The browser is back online: retry at once, backoff reset (if `reconnect_on_online`).
    pub fn handle_online(&mut self, now: f64) {
        self.offline = false;
        if self.state != State::Reconnecting {
            return;
        }
        if self.cfg.reconnect_on_online {
            self.retry_count = 0;
            self.timers.retry = None;
            self.try_resume(now);
        } else if self.timers.retry.is_none() {
            self.try_resume(now);
        }
    }

    /// The page became visible or hidden.
    pub fn handle_visibility(&mut self, now: f64, visible: bool) {
        self.hidden = !visible;
        if let (false, State::Open, Some(id)) = (visible, self.state, self.current) {
            self.flush_ack(id);
        }
        if visible && self.state == State::Reconnecting && self.timers.retry.is_none() {
            self.try_resume(now);
        }
    }

    /// The page is unloading (`pagehide`): acks owed are written now.
    pub fn handle_unload(&mut self) {
        if let (State::Open, Some(id)) = (self.state, self.current) {
            self.flush_ack(id);
        }
    }

    // ---- internals ----

    fn emit(&mut self, event: Event<P>) {
        self.actions.push_back(Action::Emit(event));
    }

    fn set_state(&mut self, to: State) {
        let from = self.state;
        if from != to {
            self.state = to;
            self.replacing = false;
            self.emit(Event::StateChange { from, to });
        }
    }

    fn clear_connection_timers(&mut self) {
        self.timers.connect = None;
        self.timers.uptime = None;
        self.timers.heartbeat_send = None;
        self.timers.heartbeat_dead = None;
    }

    fn start_attempt(&mut self, now: f64) {
        self.next_id += 1;
        let id = ConnId(self.next_id);
        self.current = Some(id);
        self.socket_unwritable = false;
        if cfg!(feature = "continuity") {
            self.attempt_offered = self.would_offer();
            self.plain_once = false;
        }
        let timeout = self.cfg.connection_timeout_ms;
        self.timers.connect = timeout.is_finite().then_some(now + timeout);
        self.actions.push_back(Action::Connect { id });
    }

    /// Lets go of socket `id` without waiting for its close event. Its writes are forgotten,
    /// never requeued: after our close() the browser still sends what it buffered, before
    /// the close frame, so whether those bytes arrive depends on a connection we no longer
    /// watch (a slow one delivers them; the chaos soak saw a heartbeat timeout during a
    /// stalled read whose requeued messages then arrived twice). Without acknowledgements
    /// they are at-most-once, like every write that left the browser.
    fn abandon(&mut self, id: ConnId, code: u16, reason: &str) {
        self.in_flight.reset(None);
        self.socket_ended();
        self.current = None;
        self.actions.push_back(Action::Close {
            id,
            code,
            reason: reason.into(),
            abandon: true,
        });
    }

    /// Puts the messages of socket `id` whose bytes never left back at the head of the
    /// outbox (see `handle_closed`).
    fn requeue_unsent(&mut self, id: ConnId, buffered: u64, size_of: impl FnMut(&P) -> u64) {
        let unsent = self.in_flight.take_unsent(id, buffered, size_of);
        if unsent.is_empty() {
            return;
        }
        let count = unsent.len();
        let mut bytes = 0u64;
        for (payload, size) in unsent.into_iter().rev() {
            bytes = bytes.saturating_add(size);
            self.outbox.push_front_unchecked(payload, size);
        }
        self.actions
            .push_front(Action::Emit(Event::Requeued { count, bytes }));
    }

    /// The current socket is gone: its session (if any) waits for the next one.
    fn socket_ended(&mut self) {
        if !cfg!(feature = "continuity") {
            return;
        }
        if let (true, Some(session)) = (self.speaking(), self.session.as_mut()) {
            session.handle_closed();
        }
        self.speaking = false;
        self.replay = NO_REPLAY;
        self.held_size = None;
    }

    /// The machine gave up on a connection itself: report it closed and retry.
    fn lost(&mut self, now: f64, info: CloseInfo, reason: RetryReason, stable: bool) {
        self.clear_connection_timers();
        self.emit(Event::Close(info));
        self.schedule_retry(now, reason, stable);
    }

    fn schedule_retry(&mut self, now: f64, reason: RetryReason, stable: bool) {
        if stable {
            self.retry_count = 0;
            self.after_stable = true;
        }
        if self.retry_count >= self.cfg.backoff.max_retries {
            self.set_state(State::Closed);
            return;
        }
        self.retry_count += 1;
        let b = &self.cfg.backoff;
        let base = backoff::base_delay(b, self.retry_count, self.after_stable);
        let delay_ms = backoff::jittered(base, b.jitter, self.rng.next_f64());
        self.set_state(State::Reconnecting);
        let paused = self.offline || (self.hidden && self.cfg.pause_when_hidden);
        self.timers.retry = (!paused).then_some(now + delay_ms);
        self.emit(Event::Reconnecting {
            attempt: self.retry_count,
            delay_ms,
            reason,
        });
    }

    /// The retry wait is over (or the page came back): connect unless paused.
    fn try_resume(&mut self, now: f64) {
        if self.offline || (self.hidden && self.cfg.pause_when_hidden) {
            return;
        }
        self.set_state(State::Connecting);
        self.start_attempt(now);
    }
}
