//! The server's side: a table of sessions, each with its token, its two directions and the
//! connection it is attached to. Sans-IO like the client's machine: the server's I/O feeds it
//! frames, connections and the time (`handle_*`), the application sends through it
//! ([`Sessions::send`]), and it answers with frames to write and connections to close
//! ([`Sessions::poll_transmit`]) and one deadline ([`Sessions::poll_timeout`]).
//!
//! Randomness is passed in: every `hello` comes with 32 bytes from the caller's CSPRNG, of
//! which a new session's `sid` takes 16 and every `welcome`'s fresh `tok` the other 16 (128
//! bits each, written as hex).

use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use alloc::string::String;
use alloc::vec::Vec;

use super::frame::{kind_of, parse_ack, parse_control, parse_data_header, write_welcome, PONG};
use super::frame::{AckBuf, Control, DataHeaderBuf, FrameKind, Hello, ResumeReason, Welcome};
use super::frame::{MAX_SEQ, MAX_WINDOW_MESSAGES};
use super::stream::{Incoming, Outgoing, ProtocolError, Received, Window, ACK_DELAY_MS};
use super::{CLOSE_PROTOCOL_ERROR, CLOSE_SESSION_REFUSED, CLOSE_SUPERSEDED};

/// A connection, as the server's I/O numbers them (never reused while the table lives).
pub type ConnKey = u64;

/// The server's limits and timings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ServerConfig {
    /// How long a session outlives its connection, ms (120 s by default).
    pub ttl_ms: u64,
    /// The window of each direction: unacknowledged messages the server keeps for a
    /// client, and what it states in `welcome` for the client's sends.
    pub window: Window,
    /// The delay of an ack after the first unacknowledged delivery, ms.
    pub ack_delay_ms: f64,
    /// Messages a session may hold beyond its window (sent by the application while the
    /// client is away or slow) before it is ended with `reason: "overflow"`.
    pub max_queued_messages: usize,
    /// The same bound in bytes.
    pub max_queued_bytes: u64,
    /// Sessions the table holds at most; a `hello` that would open one more is refused
    /// with 4003.
    pub max_sessions: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            ttl_ms: 120_000,
            window: Window::default(),
            ack_delay_ms: ACK_DELAY_MS,
            max_queued_messages: 1024,
            max_queued_bytes: 4 * 1_048_576,
            max_sessions: 10_000,
        }
    }
}

/// Work for the server's I/O.
#[derive(Debug)]
pub enum Transmit<P> {
    /// Write a text frame (a `welcome` or an `A` frame) to `conn`.
    Text {
        /// The connection.
        conn: ConnKey,
        /// The frame.
        text: String,
    },
    /// Write a data frame to `conn`: the header, then the payload, in one frame of the
    /// payload's kind (text or binary).
    Data {
        /// The connection.
        conn: ConnKey,
        /// `D<seq>,<ack>;`.
        header: DataHeaderBuf,
        /// The application's message.
        payload: P,
    },
    /// Close `conn` with `code` and forget it: its session (if any) no longer uses it.
    Close {
        /// The connection.
        conn: ConnKey,
        /// [`CLOSE_SUPERSEDED`], [`CLOSE_PROTOCOL_ERROR`] or [`CLOSE_SESSION_REFUSED`].
        code: u16,
        /// A short reason for the close frame.
        reason: &'static str,
    },
}

/// What a frame from a client meant.
#[derive(Debug, PartialEq, Eq)]
pub enum Inbound<'a> {
    /// Nothing for the application (a control or ack frame, or a duplicate).
    Nothing,
    /// The session `sid` was opened or resumed on this connection by a `hello`.
    Welcomed {
        /// The session.
        sid: &'a str,
        /// Whether it was resumed (false: a new session).
        resumed: bool,
    },
    /// The next message of session `sid`: hand `frame[payload_at..]` to the application,
    /// exactly once.
    Deliver {
        /// The session.
        sid: &'a str,
        /// Where the payload starts in the frame.
        payload_at: usize,
    },
    /// The client said `bye`: the session is forgotten.
    Ended,
}

/// Why [`Sessions::send`] refused a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// No such session (never opened, ended, expired or overflowed).
    UnknownSession,
    /// The session's queue was full: it was ended (`"overflow"` on the next resume).
    Overflow,
}

impl SendError {
    /// A message naming the problem.
    pub fn message(self) -> &'static str {
        match self {
            SendError::UnknownSession => "no such session",
            SendError::Overflow => "the session's queue overflowed: the session was ended",
        }
    }
}

/// A session the server ended on its own (expired, overflowed), for the application: the
/// messages it still held for its client will never be delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    /// The session.
    pub sid: String,
    /// Why: [`ResumeReason::Expired`] or [`ResumeReason::Overflow`].
    pub reason: ResumeReason,
    /// Messages sent to it and not acknowledged by its client (unacked and queued).
    pub undelivered: usize,
}

/// Ended sessions remembered, to answer a resume with why (`expired`, `overflow`).
const MAX_ENDED: usize = 4096;

#[derive(Debug)]
struct Session<P> {
    tok: String,
    /// The token the last resume was made with, still good until the client shows it got
    /// the `welcome` that replaced it (its first data or ack frame): a resume whose
    /// `welcome` was lost with the connection must not lose the session.
    prev_tok: Option<String>,
    /// The connection it is attached to, if any.
    conn: Option<ConnKey>,
    /// When it was detached (its TTL runs from then).
    detached_at: Option<f64>,
    incoming: Incoming,
    outgoing: Outgoing<P>,
    /// The application's messages not yet numbered: beyond the window, or while away.
    queue: VecDeque<(P, u64)>,
    queue_bytes: u64,
    /// The deadline this session has in `Sessions::timers`.
    armed: Option<u64>,
}

/// The session table of one server (or one node: see the shared-store issue).
#[derive(Debug)]
pub struct Sessions<P> {
    cfg: ServerConfig,
    sessions: BTreeMap<String, Session<P>>,
    /// Which session each welcomed connection belongs to.
    conns: BTreeMap<ConnKey, String>,
    /// Sessions the server ended: sid, why, and the token that may hear why.
    ended: VecDeque<(String, ResumeReason, String)>,
    /// Every session's next deadline (ack due or TTL), in whole ms.
    timers: BTreeSet<(u64, String)>,
    transmits: VecDeque<Transmit<P>>,
    ended_events: VecDeque<Ended>,
    /// Whether changes are recorded for a shared store ([`Sessions::track_changes`]).
    tracking: bool,
    /// Sessions whose durable state changed since [`Sessions::poll_change`] last told.
    changed: BTreeSet<String>,
    /// Sessions that ended or were forgotten, not yet told.
    gone: VecDeque<Change>,
}

/// What a shared store must write ([`Sessions::poll_change`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// Session `sid` is new, or its tokens, `rx`, acknowledged or sent messages, or its
    /// attachment changed: write what [`Sessions::export`] shows.
    Updated(String),
    /// Session `sid` was ended by the server: `reason` is for a resume made with the last
    /// token `last_tok`.
    Ended {
        /// The session.
        sid: String,
        /// Why ([`ResumeReason::Expired`] or [`ResumeReason::Overflow`]).
        reason: ResumeReason,
        /// Its last token.
        last_tok: String,
    },
    /// Session `sid` is gone without a reason to keep (its client said `bye`).
    Removed(String),
}

/// A session as a shared store keeps it ([`Sessions::export`]).
#[derive(Debug)]
pub struct Export<'a, P> {
    /// The current token.
    pub tok: &'a str,
    /// The previous token, still good until the client shows it has the current one.
    pub prev_tok: Option<&'a str>,
    /// The client's messages delivered (the highest seq).
    pub rx: u64,
    /// The server's messages the client has acknowledged (the highest seq).
    pub acked: u64,
    /// The server's messages the application has sent the session in all: `acked` plus
    /// those held (numbered and unacknowledged, then queued). Held message `i` (from
    /// `acked + 1`) has, or will have, seq `i`.
    pub sent: u64,
    /// Whether a connection carries it.
    pub attached: bool,
    session: &'a Session<P>,
}

impl<'a, P> Export<'a, P> {
    /// The held messages with index above `index` (all of them from `acked`), oldest first,
    /// with their sizes.
    pub fn messages_after(&self, index: u64) -> impl Iterator<Item = (&'a P, u64)> + 'a {
        let skip = usize::try_from(index.saturating_sub(self.acked)).unwrap_or(usize::MAX);
        let s = self.session;
        s.outgoing
            .iter()
            .chain(s.queue.iter().map(|(p, b)| (p, *b)))
            .skip(skip)
    }
}

/// A session taken from a shared store ([`Sessions::import`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import<P> {
    /// The token the client proved (the import keeps only that one).
    pub tok: String,
    /// The client's messages delivered.
    pub rx: u64,
    /// The server's messages acknowledged.
    pub acked: u64,
    /// The held messages, oldest first (the first is `acked + 1`), with their sizes.
    pub messages: Vec<(P, u64)>,
}

/// Why [`Sessions::import`] refused a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ImportError {
    /// The table already has a session of that id.
    Exists,
    /// The table is full ([`ServerConfig::max_sessions`]).
    Full,
    /// A number is past 2^53 − 1, or it holds more than its window and queue may.
    Invalid,
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// Compares two tokens in time that depends only on their lengths.
fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A deadline in whole ms (rounded up, so that it is never early).
fn whole_ms(at: f64) -> u64 {
    let ceiled = at.max(0.0);
    let whole = ceiled as u64;
    if (whole as f64) < ceiled {
        whole.saturating_add(1)
    } else {
        whole
    }
}

impl<P: Clone> Sessions<P> {
    /// An empty table. Values the protocol cannot state in a `welcome` are brought into
    /// range (window 1..=65536 messages and 1..=2^53−1 bytes, TTL at most 2^53−1 ms), so
    /// that every `welcome` can be written.
    pub fn new(mut cfg: ServerConfig) -> Self {
        cfg.window.messages = cfg.window.messages.clamp(1, MAX_WINDOW_MESSAGES);
        cfg.window.bytes = cfg.window.bytes.clamp(1, MAX_SEQ);
        cfg.ttl_ms = cfg.ttl_ms.min(MAX_SEQ);
        Sessions {
            cfg,
            sessions: BTreeMap::new(),
            conns: BTreeMap::new(),
            ended: VecDeque::new(),
            timers: BTreeSet::new(),
            transmits: VecDeque::new(),
            ended_events: VecDeque::new(),
            tracking: false,
            changed: BTreeSet::new(),
            gone: VecDeque::new(),
        }
    }

    /// Records, from now on, what a shared store must write: [`Sessions::poll_change`]. Off
    /// by default (a server on its own pays nothing for it).
    pub fn track_changes(&mut self) {
        self.tracking = true;
    }

    /// The next session whose durable state changed (each told once, however many times it
    /// changed), or that ended. Only with [`Sessions::track_changes`].
    pub fn poll_change(&mut self) -> Option<Change> {
        self.gone
            .pop_front()
            .or_else(|| self.changed.pop_first().map(Change::Updated))
    }

    /// Session `sid` as a shared store keeps it.
    pub fn export(&self, sid: &str) -> Option<Export<'_, P>> {
        let s = self.sessions.get(sid)?;
        let acked = s.outgoing.acked();
        Some(Export {
            tok: &s.tok,
            prev_tok: s.prev_tok.as_deref(),
            rx: s.incoming.rx(),
            acked,
            sent: acked
                .saturating_add(s.outgoing.len() as u64)
                .saturating_add(s.queue.len() as u64),
            attached: s.conn.is_some(),
            session: s,
        })
    }

    /// Messages the application has sent session `sid` in all (acknowledged and held).
    pub fn sent(&self, sid: &str) -> Option<u64> {
        self.export(sid).map(|e| e.sent)
    }

    /// Takes up session `sid` from a shared store (another node had it), detached: the
    /// client's `hello` that follows resumes it. Its held messages are numbered as far as the
    /// window allows, the rest queued, so the client's `rx` can be anything the last node
    /// sent. Its TTL runs from `now`.
    pub fn import(&mut self, sid: &str, import: Import<P>, now: f64) -> Result<(), ImportError> {
        if self.sessions.contains_key(sid) {
            return Err(ImportError::Exists);
        }
        if self.sessions.len() >= self.cfg.max_sessions {
            return Err(ImportError::Full);
        }
        let held = import.messages.len();
        let most = usize::try_from(self.cfg.window.messages)
            .unwrap_or(usize::MAX)
            .saturating_add(self.cfg.max_queued_messages);
        if import.rx > MAX_SEQ || import.acked.saturating_add(held as u64) > MAX_SEQ || held > most {
            return Err(ImportError::Invalid);
        }
        let window = self.cfg.window;
        let mut outgoing = Outgoing::restored(window, import.acked, core::iter::empty());
        let mut queue = VecDeque::new();
        let mut queue_bytes = 0u64;
        for (payload, bytes) in import.messages {
            if queue.is_empty() && outgoing.has_room(bytes) {
                if let Err(payload) = outgoing.push(payload, bytes) {
                    queue.push_back((payload, bytes));
                    queue_bytes = queue_bytes.saturating_add(bytes);
                }
            } else {
                queue.push_back((payload, bytes));
                queue_bytes = queue_bytes.saturating_add(bytes);
            }
        }
        self.sessions.insert(
            String::from(sid),
            Session {
                tok: import.tok,
                prev_tok: None,
                conn: None,
                detached_at: Some(now),
                incoming: Incoming::restored(window, self.cfg.ack_delay_ms, import.rx),
                outgoing,
                queue,
                queue_bytes,
                armed: None,
            },
        );
        self.rearm(sid);
        Ok(())
    }

    /// Lets session `sid` go without ending it (another node took it over, or a shared
    /// store lost it): its connection, if any, is closed with `code` (4001 for a take-over),
    /// and nothing is told to the application or the store. Returns whether the table had it.
    pub fn release(&mut self, sid: &str, code: u16, reason: &'static str) -> bool {
        let Some(conn) = self.sessions.get(sid).map(|s| s.conn) else {
            return false;
        };
        if let Some(conn) = conn {
            self.conns.remove(&conn);
            self.transmits.push_back(Transmit::Close { conn, code, reason });
        }
        if let Some(s) = self.sessions.remove(sid) {
            if let Some(at) = s.armed {
                self.timers.remove(&(at, String::from(sid)));
            }
        }
        self.changed.remove(sid);
        true
    }

    /// Whether `tok` is one of session `sid`'s two tokens.
    pub fn knows_token(&self, sid: &str, tok: &str) -> bool {
        self.sessions.get(sid).is_some_and(|s| {
            same_token(tok, &s.tok) || s.prev_tok.as_deref().is_some_and(|p| same_token(tok, p))
        })
    }

    /// Session `sid` ended elsewhere (a shared store says so): a `hello` resuming it with
    /// `last_tok` hears `reason`, with any other token `auth`.
    pub fn note_ended(&mut self, sid: &str, reason: ResumeReason, last_tok: &str) {
        if self.ended.len() >= MAX_ENDED {
            self.ended.pop_front();
        }
        self.ended
            .push_back((String::from(sid), reason, String::from(last_tok)));
    }

    /// The configuration in force.
    pub fn config(&self) -> &ServerConfig {
        &self.cfg
    }

    /// Sessions in the table, attached or not.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// The session connection `conn` belongs to, once welcomed.
    pub fn session_of(&self, conn: ConnKey) -> Option<&str> {
        self.conns.get(&conn).map(String::as_str)
    }

    /// Messages session `sid` holds for its client (unacknowledged and queued).
    pub fn held(&self, sid: &str) -> usize {
        self.sessions
            .get(sid)
            .map_or(0, |s| s.outgoing.len() + s.queue.len())
    }

    /// The next frame to write or connection to close, in order.
    pub fn poll_transmit(&mut self) -> Option<Transmit<P>> {
        self.transmits.pop_front()
    }

    /// The next session the server ended on its own, for the application to hear of.
    pub fn poll_ended(&mut self) -> Option<Ended> {
        self.ended_events.pop_front()
    }

    /// When [`Sessions::handle_timeout`] should be called next, if at all (ms).
    pub fn poll_timeout(&self) -> Option<f64> {
        self.timers.first().map(|(at, _)| *at as f64)
    }

    /// A frame arrived on `conn` (`text`: a text frame). Frames before `hello`, after a
    /// protocol error, or that break the protocol close the connection with 4002 (a
    /// [`Transmit::Close`] is queued and the error returned). `random`: 32 bytes from a
    /// CSPRNG, used only if the frame is a `hello`.
    pub fn handle_frame<'a>(
        &'a mut self,
        conn: ConnKey,
        frame: &[u8],
        text: bool,
        now: f64,
        random: &[u8; 32],
    ) -> Result<Inbound<'a>, ProtocolError> {
        match self.read_frame(conn, frame, text, now, random) {
            Ok(Some(Read::Welcomed(resumed))) => Ok(match self.conns.get(&conn) {
                Some(sid) => Inbound::Welcomed { sid, resumed },
                None => Inbound::Nothing,
            }),
            Ok(Some(Read::Deliver(payload_at))) => Ok(match self.conns.get(&conn) {
                Some(sid) => Inbound::Deliver { sid, payload_at },
                None => Inbound::Nothing,
            }),
            Ok(Some(Read::Ended)) => Ok(Inbound::Ended),
            Ok(Some(Read::Refused) | None) => Ok(Inbound::Nothing),
            Err(e) => {
                self.drop_conn(conn, now, CLOSE_PROTOCOL_ERROR, "protocol error");
                Err(e)
            }
        }
    }

    /// Connection `conn` is gone (closed by either side, or failed). Its session, if any,
    /// waits for a resume until its TTL.
    pub fn handle_disconnect(&mut self, conn: ConnKey, now: f64) {
        let Some(sid) = self.conns.remove(&conn) else {
            return;
        };
        if let Some(s) = self.sessions.get_mut(&sid) {
            if s.conn == Some(conn) {
                s.conn = None;
                s.detached_at = Some(now);
            }
        }
        self.mark(&sid);
        self.rearm(&sid);
    }

    /// Sends `payload` (of `bytes`) to session `sid`: written now if its client is attached
    /// and the window has room, else queued, in order, and delivered exactly once, across
    /// the client's reconnects, for as long as the session lives.
    pub fn send(&mut self, sid: &str, payload: P, bytes: u64) -> Result<(), SendError> {
        let cfg = self.cfg;
        let Some(s) = self.sessions.get_mut(sid) else {
            return Err(SendError::UnknownSession);
        };
        if s.queue.len() >= cfg.max_queued_messages
            || s.queue_bytes.saturating_add(bytes) > cfg.max_queued_bytes
        {
            self.end(sid, ResumeReason::Overflow);
            return Err(SendError::Overflow);
        }
        s.queue.push_back((payload, bytes));
        s.queue_bytes = s.queue_bytes.saturating_add(bytes);
        self.mark(sid);
        self.pump(sid);
        Ok(())
    }

    /// Time passed: acks that are due are written, sessions past their TTL are ended.
    pub fn handle_timeout(&mut self, now: f64) {
        while let Some((at, sid)) = self.timers.first().cloned() {
            if at as f64 > now {
                break;
            }
            self.timers.remove(&(at, sid.clone()));
            let Some(s) = self.sessions.get_mut(&sid) else {
                continue;
            };
            s.armed = None;
            if s.detached_at
                .is_some_and(|d| whole_ms(d) + self.cfg.ttl_ms <= whole_ms(now))
            {
                self.end(&sid, ResumeReason::Expired);
                continue;
            }
            if let Some(conn) = s.conn {
                if let Some(ack) = s.incoming.poll_ack(now) {
                    self.transmits.push_back(ack_frame(conn, ack));
                }
            }
            self.rearm(&sid);
        }
    }

    // ---- internals ----

    fn read_frame(
        &mut self,
        conn: ConnKey,
        frame: &[u8],
        text: bool,
        now: f64,
        random: &[u8; 32],
    ) -> Result<Option<Read>, ProtocolError> {
        let kind = kind_of(frame.first().copied()).ok_or(ProtocolError::NotAFrame)?;
        if kind != FrameKind::Data && !text {
            return Err(ProtocolError::NotAFrame);
        }
        let sid = self.conns.get(&conn).cloned();
        match (kind, sid) {
            (FrameKind::Control, sid) => match (parse_control(frame)?, sid) {
                (Control::Hello(hello), None) => self.hello(conn, hello, now, random).map(Some),
                (Control::Bye, Some(sid)) => {
                    self.conns.remove(&conn);
                    self.forget(&sid);
                    if self.tracking {
                        self.gone.push_back(Change::Removed(sid));
                    }
                    Ok(Some(Read::Ended))
                }
                (Control::Ping, Some(sid)) => {
                    // (Sent after the `welcome`: the previous token is done with.)
                    if let Some(s) = self.sessions.get_mut(&sid) {
                        if s.prev_tok.take().is_some() {
                            self.mark(&sid);
                        }
                    }
                    let text = PONG.into();
                    self.transmits.push_back(Transmit::Text { conn, text });
                    Ok(None)
                }
                _ => Err(ProtocolError::UnexpectedControl),
            },
            (_, None) => Err(ProtocolError::BeforeHello),
            (FrameKind::Data, Some(sid)) => {
                let header = parse_data_header(frame)?;
                let Some(s) = self.sessions.get_mut(&sid) else {
                    return Ok(None);
                };
                // The client has the `welcome`: only its token is good from now on.
                s.prev_tok = None;
                s.outgoing.handle_ack(header.ack)?;
                let bytes = (frame.len() - header.len) as u64;
                let received = s.incoming.handle_data(header.seq, bytes, now)?;
                self.mark(&sid);
                self.pump(&sid);
                Ok((received == Received::Deliver).then_some(Read::Deliver(header.len)))
            }
            (FrameKind::Ack, Some(sid)) => {
                let ack = parse_ack(frame)?;
                if let Some(s) = self.sessions.get_mut(&sid) {
                    s.prev_tok = None;
                    s.outgoing.handle_ack(ack)?;
                }
                self.mark(&sid);
                self.pump(&sid);
                Ok(None)
            }
        }
    }

    /// Answers a `hello` on `conn`: resumes the session it names if the token is right and
    /// the session alive, else opens a new one (saying why not); either way writes the
    /// `welcome`, then what the client has not delivered.
    fn hello(
        &mut self,
        conn: ConnKey,
        hello: Hello,
        now: f64,
        random: &[u8; 32],
    ) -> Result<Read, ProtocolError> {
        let (sid_bytes, tok_bytes) = random.split_at(16);
        let tok = hex(tok_bytes);
        let found = hello
            .sid
            .as_deref()
            .map(|sid| self.lookup(sid, hello.tok.as_deref(), now));
        let (sid, resumed, reason) = match found {
            Some(Ok(sid)) => (sid, true, None),
            Some(Err(reason)) => (hex(sid_bytes), false, Some(reason)),
            None => (hex(sid_bytes), false, Some(ResumeReason::New)),
        };
        if resumed {
            let s = self
                .sessions
                .get_mut(&sid)
                .ok_or(ProtocolError::UnexpectedControl)?;
            // The client's rx must lie within what was sent (replay() checks and frees).
            drop(s.outgoing.replay(hello.rx)?);
            if let Some(old) = s.conn.replace(conn) {
                self.conns.remove(&old);
                self.transmits.push_back(Transmit::Close {
                    conn: old,
                    code: CLOSE_SUPERSEDED,
                    reason: "superseded by a resume",
                });
            }
        } else {
            if self.sessions.len() >= self.cfg.max_sessions {
                self.transmits.push_back(Transmit::Close {
                    conn,
                    code: CLOSE_SESSION_REFUSED,
                    reason: "too many sessions",
                });
                return Ok(Read::Refused);
            }
            let window = self.cfg.window;
            self.sessions.insert(
                sid.clone(),
                Session {
                    tok: String::new(),
                    prev_tok: None,
                    conn: Some(conn),
                    detached_at: None,
                    incoming: Incoming::new(window, self.cfg.ack_delay_ms),
                    outgoing: Outgoing::new(window),
                    queue: VecDeque::new(),
                    queue_bytes: 0,
                    armed: None,
                },
            );
        }
        let s = self
            .sessions
            .get_mut(&sid)
            .ok_or(ProtocolError::UnexpectedControl)?;
        let used = core::mem::replace(&mut s.tok, tok.clone());
        // (A resume made with the previous token keeps that one, not the unproven current.)
        if resumed && s.prev_tok.as_deref() != hello.tok.as_deref() {
            s.prev_tok = Some(used);
        } else if !resumed {
            s.prev_tok = None;
        }
        s.detached_at = None;
        // The client sends within the smaller of its window (if its hello states one) and
        // ours: the half-window ack rule must use that, or acks would wait for the timer.
        let ours = self.cfg.window;
        s.incoming.set_window(Window {
            messages: hello.window.map_or(ours.messages, |n| n.min(ours.messages)),
            bytes: hello.window_bytes.map_or(ours.bytes, |n| n.min(ours.bytes)),
        });
        let welcome = Welcome {
            sid: sid.clone(),
            tok,
            resumed,
            rx: s.incoming.rx(),
            ttl_ms: self.cfg.ttl_ms,
            reason,
            window: Some(self.cfg.window.messages),
            window_bytes: Some(self.cfg.window.bytes),
            ping: true,
        };
        let mut text = String::new();
        write_welcome(&mut text, &welcome)?;
        self.transmits.push_back(Transmit::Text { conn, text });
        // The replay: every message the client has not delivered, each carrying the ack.
        let ack = s.incoming.piggyback();
        let from = s.outgoing.acked();
        if let (true, Ok(replay)) = (resumed, s.outgoing.replay(from)) {
            for (seq, payload) in replay {
                if let Ok(header) = DataHeaderBuf::new(seq, ack) {
                    let payload = payload.clone();
                    self.transmits.push_back(Transmit::Data {
                        conn,
                        header,
                        payload,
                    });
                }
            }
        }
        self.conns.insert(conn, sid.clone());
        self.mark(&sid);
        self.pump(&sid);
        Ok(Read::Welcomed(resumed))
    }

    /// The live session `sid` if `tok` is its token and it has not expired, else why not.
    fn lookup(&mut self, sid: &str, tok: Option<&str>, now: f64) -> Result<String, ResumeReason> {
        let ttl = self.cfg.ttl_ms;
        let Some(s) = self.sessions.get(sid) else {
            // Why it ended is told only to its last token: a sid alone learns nothing.
            let ended = self.ended.iter().find(|(s, ..)| s == sid);
            return Err(ended.map_or(ResumeReason::Unknown, |(_, why, last)| {
                if tok.is_some_and(|t| same_token(t, last)) {
                    *why
                } else {
                    ResumeReason::Auth
                }
            }));
        };
        let known =
            |t: &str| same_token(t, &s.tok) || s.prev_tok.as_deref().is_some_and(|p| same_token(t, p));
        if !tok.is_some_and(known) {
            return Err(ResumeReason::Auth);
        }
        if s.detached_at.is_some_and(|d| whole_ms(d) + ttl <= whole_ms(now)) {
            self.end(sid, ResumeReason::Expired);
            return Err(ResumeReason::Expired);
        }
        Ok(String::from(sid))
    }

    /// Writes what session `sid` may send now: queued messages while the window has room.
    fn pump(&mut self, sid: &str) {
        let Some(s) = self.sessions.get_mut(sid) else {
            return;
        };
        if let Some(conn) = s.conn {
            while let Some((_, bytes)) = s.queue.front() {
                if !s.outgoing.has_room(*bytes) {
                    break;
                }
                let Some((payload, bytes)) = s.queue.pop_front() else {
                    break;
                };
                s.queue_bytes = s.queue_bytes.saturating_sub(bytes);
                let Ok(seq) = s.outgoing.push(payload.clone(), bytes) else {
                    break;
                };
                if let Ok(header) = DataHeaderBuf::new(seq, s.incoming.piggyback()) {
                    self.transmits.push_back(Transmit::Data {
                        conn,
                        header,
                        payload,
                    });
                }
            }
        }
        self.rearm(sid);
    }

    /// Keeps session `sid`'s entry in `timers` at its next deadline.
    fn rearm(&mut self, sid: &str) {
        let Some(s) = self.sessions.get_mut(sid) else {
            return;
        };
        let expiry = s.detached_at.map(|d| whole_ms(d).saturating_add(self.cfg.ttl_ms));
        let ack = s.conn.and(s.incoming.poll_timeout()).map(whole_ms);
        let next = match (expiry, ack) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if s.armed == next {
            return;
        }
        if let Some(old) = s.armed.take() {
            self.timers.remove(&(old, String::from(sid)));
        }
        if let Some(at) = next {
            self.timers.insert((at, String::from(sid)));
        }
        s.armed = next;
    }

    /// Ends session `sid`, remembering why for a later resume, and closes its connection.
    fn end(&mut self, sid: &str, why: ResumeReason) {
        let undelivered = self.held(sid);
        let last_tok = self.sessions.get(sid).map(|s| s.tok.clone()).unwrap_or_default();
        self.ended_events.push_back(Ended {
            sid: String::from(sid),
            reason: why,
            undelivered,
        });
        if let Some(conn) = self.sessions.get(sid).and_then(|s| s.conn) {
            self.conns.remove(&conn);
            self.transmits.push_back(Transmit::Close {
                conn,
                code: CLOSE_SESSION_REFUSED,
                reason: "session ended",
            });
        }
        self.forget(sid);
        if self.tracking {
            self.gone.push_back(Change::Ended {
                sid: String::from(sid),
                reason: why,
                last_tok: last_tok.clone(),
            });
        }
        self.note_ended(sid, why, &last_tok);
    }

    /// Notes, for a shared store, that session `sid` changed.
    fn mark(&mut self, sid: &str) {
        if self.tracking && !self.changed.contains(sid) {
            self.changed.insert(String::from(sid));
        }
    }

    /// Removes session `sid` (after `bye`, it is simply unknown).
    fn forget(&mut self, sid: &str) {
        self.changed.remove(sid);
        if let Some(s) = self.sessions.remove(sid) {
            if let Some(at) = s.armed {
                self.timers.remove(&(at, String::from(sid)));
            }
        }
    }

    /// Detaches `conn` after an error and closes it with `code`.
    fn drop_conn(&mut self, conn: ConnKey, now: f64, code: u16, reason: &'static str) {
        self.handle_disconnect(conn, now);
        self.transmits.push_back(Transmit::Close { conn, code, reason });
    }
}

enum Read {
    Welcomed(bool),
    Refused,
    Deliver(usize),
    Ended,
}

fn ack_frame<P>(conn: ConnKey, ack: u64) -> Transmit<P> {
    let text = AckBuf::new(ack)
        .map(|a| String::from(a.as_str()))
        .unwrap_or_default();
    Transmit::Text { conn, text }
}
