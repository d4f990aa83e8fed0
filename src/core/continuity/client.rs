//! The client's side of a session: the `hello`/`welcome` handshake, the two directions, and
//! what becomes of unacknowledged messages when a session is lost. Sans-IO: the connection
//! machine (or a test) feeds it what happened on the socket and writes what it returns.

use alloc::string::String;
use alloc::vec::Vec;

#[cfg(doc)]
use super::frame::DataHeaderBuf;
use super::frame::{kind_of, parse_ack, parse_control, parse_data_header, write_bye, write_hello};
use super::frame::{AckBuf, Control, FrameKind, Hello, ResumeReason, Welcome, PING};
use super::frame::{MAX_SEQ, MAX_WINDOW_MESSAGES};
use super::saved::{RestoreError, SavedSession};
use super::stream::{Incoming, Outgoing, ProtocolError, Received, Window, ACK_DELAY_MS};

/// What to do with the messages in doubt (sent, never acknowledged) when a session could not
/// be resumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InDoubt {
    /// Send them again, first, in the new session (they may arrive twice if the server had
    /// taken them before it lost the session; the `resume` event counts them).
    #[default]
    Resend,
    /// Report them as dropped.
    Drop,
}

/// The client's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClientConfig {
    /// The client's own window (the server's `welcome` may make it smaller).
    pub window: Window,
    /// The delay of an ack after the first unacknowledged delivery, ms.
    pub ack_delay_ms: f64,
    /// Messages in doubt after a lost session.
    pub in_doubt: InDoubt,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            window: Window::default(),
            ack_delay_ms: ACK_DELAY_MS,
            in_doubt: InDoubt::Resend,
        }
    }
}

/// How a `welcome` went, for the `resume` event.
#[derive(Debug, PartialEq, Eq)]
pub struct Resumed<P> {
    /// Whether the session was resumed.
    pub resumed: bool,
    /// Why not, when it was not.
    pub reason: Option<ResumeReason>,
    /// Under [`InDoubt::Resend`]: the messages in doubt from the lost session, oldest first,
    /// with their sizes, to send again before anything else.
    pub resend: Vec<(P, u64)>,
    /// Under [`InDoubt::Drop`]: the same, to report dropped.
    pub dropped: Vec<(P, u64)>,
}

/// What a frame from the server meant.
#[derive(Debug, PartialEq, Eq)]
pub enum ClientInbound<P> {
    /// Nothing for the application (an ack, or a duplicate).
    Nothing,
    /// The `welcome`: the session is live. Write [`Client::replay`]'s messages first when
    /// it was resumed (each with [`Client::ack_to_send`]'s ack).
    Welcomed(Resumed<P>),
    /// The next message from the server: hand `frame[payload_at..]` to the application.
    Deliver {
        /// Where the payload starts in the frame.
        payload_at: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No connection, or one that does not speak the protocol yet.
    Idle,
    /// `hello` written, no `welcome` yet: no data either way.
    AwaitingWelcome,
    /// Welcomed.
    Live,
}

/// One client session, kept across connections.
#[derive(Debug)]
pub struct Client<P> {
    cfg: ClientConfig,
    sid: Option<String>,
    tok: Option<String>,
    incoming: Incoming,
    outgoing: Outgoing<P>,
    phase: Phase,
    /// The current connection's `welcome` said `"ping":true`.
    server_pongs: bool,
}

impl<P> Client<P> {
    /// No session yet.
    pub fn new(cfg: ClientConfig) -> Self {
        Client {
            cfg,
            sid: None,
            tok: None,
            incoming: Incoming::new(cfg.window, cfg.ack_delay_ms),
            outgoing: Outgoing::new(cfg.window),
            phase: Phase::Idle,
            server_pongs: false,
        }
    }

    /// The session `saved` took up again (after a page reload), with `unacked`: the
    /// messages kept beside it, oldest first with their sizes, numbered from `saved.acked +
    /// 1` on. The next connection's `hello` resumes it; the server replays what the page had
    /// not delivered, and [`Client::replay`] what the server had not taken.
    pub fn restore(
        cfg: ClientConfig,
        saved: SavedSession,
        unacked: Vec<(P, u64)>,
    ) -> Result<Self, RestoreError> {
        saved.check(unacked.len())?;
        Ok(Client {
            sid: Some(saved.sid),
            tok: Some(saved.tok),
            incoming: Incoming::restored(cfg.window, cfg.ack_delay_ms, saved.rx),
            outgoing: Outgoing::restored(cfg.window, saved.acked, unacked),
            ..Client::new(cfg)
        })
    }

    /// What to keep in storage now, when a server has given a session (see
    /// [`SavedSession`]).
    pub fn saved(&self) -> Option<SavedSession> {
        Some(SavedSession {
            sid: self.sid.clone()?,
            tok: self.tok.clone()?,
            rx: self.incoming.rx(),
            acked: self.outgoing.acked(),
            last: self.outgoing.last_seq(),
        })
    }

    /// Whether a `welcome` came on the current connection.
    pub fn is_live(&self) -> bool {
        self.phase == Phase::Live
    }

    /// The session id, once a server gave one.
    pub fn sid(&self) -> Option<&str> {
        self.sid.as_deref()
    }

    /// Messages sent and not yet acknowledged.
    pub fn unacked(&self) -> usize {
        self.outgoing.len()
    }

    /// The highest server seq delivered in order.
    pub fn rx(&self) -> u64 {
        self.incoming.rx()
    }

    /// A connection that speaks the protocol opened: appends the `hello` to write first.
    pub fn handle_opened(&mut self, out: &mut String) {
        self.phase = Phase::AwaitingWelcome;
        // The window this client sends within, for the server's half-window ack rule
        // (an unbounded byte window is stated as the largest the protocol has).
        let window = self.cfg.window;
        let hello = Hello {
            sid: self.sid.clone(),
            tok: self.tok.clone(),
            rx: self.incoming.rx(),
            window: Some(window.messages.clamp(1, MAX_WINDOW_MESSAGES)),
            window_bytes: Some(window.bytes.clamp(1, MAX_SEQ)),
        };
        // A hello of our own tokens always fits; should it not, the server reads an empty
        // frame and closes with 4002, and the next attempt starts a new session.
        if write_hello(out, &hello).is_err() {
            self.sid = None;
            self.tok = None;
        }
    }

    /// The connection ended (any way). The session is kept for the next one.
    pub fn handle_closed(&mut self) {
        self.phase = Phase::Idle;
        self.server_pongs = false;
    }

    /// The heartbeat: appends a `ping` to write now and returns true, when the connection is
    /// live and its server answers pings (its `welcome` said so). The `pong`, like any
    /// frame from the server, shows the connection alive.
    pub fn ping(&self, out: &mut String) -> bool {
        let can = self.phase == Phase::Live && self.server_pongs;
        if can {
            out.push_str(PING);
        }
        can
    }

    /// A frame arrived (`text`: a text frame): `frame` is the whole frame, or for a data
    /// frame at least its first [`MAX_DATA_HEADER_BYTES`](super::MAX_DATA_HEADER_BYTES)
    /// bytes, and `len` the whole frame's length (bytes, or a lower bound such as a string's
    /// UTF-16 length: it only paces acks). Any error means: close with 4002 and resume.
    pub fn handle_frame(
        &mut self,
        frame: &[u8],
        len: usize,
        text: bool,
        now: f64,
    ) -> Result<ClientInbound<P>, ProtocolError> {
        let kind = kind_of(frame.first().copied()).ok_or(ProtocolError::NotAFrame)?;
        if kind != FrameKind::Data && !text {
            return Err(ProtocolError::NotAFrame);
        }
        match (kind, self.phase) {
            (FrameKind::Control, Phase::AwaitingWelcome) => match parse_control(frame)? {
                Control::Welcome(w) => self.welcome(w).map(ClientInbound::Welcomed),
                _ => Err(ProtocolError::UnexpectedControl),
            },
            (FrameKind::Data, Phase::Live) => {
                let header = parse_data_header(frame)?;
                self.outgoing.handle_ack(header.ack)?;
                let bytes = len.saturating_sub(header.len) as u64;
                Ok(match self.incoming.handle_data(header.seq, bytes, now)? {
                    Received::Deliver => ClientInbound::Deliver {
                        payload_at: header.len,
                    },
                    Received::Duplicate => ClientInbound::Nothing,
                })
            }
            (FrameKind::Ack, Phase::Live) => {
                self.outgoing.handle_ack(parse_ack(frame)?)?;
                Ok(ClientInbound::Nothing)
            }
            (FrameKind::Control, Phase::Live) => match parse_control(frame)? {
                Control::Pong if self.server_pongs => Ok(ClientInbound::Nothing),
                _ => Err(ProtocolError::UnexpectedControl),
            },
            (FrameKind::Control, _) => Err(ProtocolError::UnexpectedControl),
            _ => Err(ProtocolError::BeforeHello),
        }
    }

    fn welcome(&mut self, w: Welcome) -> Result<Resumed<P>, ProtocolError> {
        let window = Window {
            messages: w
                .window
                .map_or(self.cfg.window.messages, |n| n.min(self.cfg.window.messages)),
            bytes: w
                .window_bytes
                .map_or(self.cfg.window.bytes, |n| n.min(self.cfg.window.bytes)),
        };
        if w.resumed && self.sid.as_deref() != Some(w.sid.as_str()) {
            // A resume of another session than the hello named (or of none): taking it would
            // keep this session's numbers for another's messages.
            return Err(ProtocolError::ResumeOfAnotherSession);
        }
        let in_doubt = if w.resumed {
            // Checks the server's rx against what was sent (replay() frees what it covers).
            drop(self.outgoing.replay(w.rx)?);
            Vec::new()
        } else {
            if w.rx != 0 {
                return Err(ProtocolError::AckAboveSent);
            }
            self.incoming.reset();
            self.outgoing.take_unacked().collect()
        };
        self.outgoing.set_window(window);
        // The server sends within the window it states (its own for both directions), so
        // the half-window ack rule uses that one.
        self.incoming.set_window(Window {
            messages: w.window.unwrap_or(self.cfg.window.messages),
            bytes: w.window_bytes.unwrap_or(self.cfg.window.bytes),
        });
        self.sid = Some(w.sid);
        self.tok = Some(w.tok);
        self.phase = Phase::Live;
        self.server_pongs = w.ping;
        let (resend, dropped) = match self.cfg.in_doubt {
            InDoubt::Resend => (in_doubt, Vec::new()),
            InDoubt::Drop => (Vec::new(), in_doubt),
        };
        Ok(Resumed {
            resumed: w.resumed,
            reason: w.reason,
            resend,
            dropped,
        })
    }

    /// After a resumed `welcome`: the messages the server has not taken, in order, with
    /// their numbers, to write before anything else.
    pub fn replay(&mut self) -> impl Iterator<Item = (u64, &P)> {
        let rx = self.outgoing.acked();
        self.outgoing.replay(rx).into_iter().flatten()
    }

    /// The `(seq, ack)` of the header for the next message [`Client::push`] numbers, without
    /// numbering it (to write the frame before telling `push` it went).
    pub fn next_header(&self) -> (u64, u64) {
        (self.outgoing.last_seq().saturating_add(1), self.incoming.rx())
    }

    /// The unacknowledged message `seq`, for a replay.
    pub fn unacked_at(&self, seq: u64) -> Option<&P> {
        self.outgoing.get(seq)
    }

    /// The numbers of the messages a resume replays: from the first unacknowledged one to
    /// the last sent (empty when all are acknowledged).
    pub fn replay_range(&self) -> core::ops::RangeInclusive<u64> {
        self.outgoing.acked().saturating_add(1)..=self.outgoing.last_seq()
    }

    /// The ack to write in the header of a data frame going out now (a replayed one too):
    /// the frame carries it, so no `A` frame is owed for it any more.
    pub fn ack_to_send(&mut self) -> u64 {
        self.incoming.piggyback()
    }

    /// Whether a message of `bytes` may be sent now: live and within the window.
    pub fn has_room(&self, bytes: u64) -> bool {
        self.phase == Phase::Live && self.outgoing.has_room(bytes)
    }

    /// Numbers a message being written now and keeps it until acknowledged: its
    /// `(seq, ack)`, for the header `D<seq>,<ack>;` to write before it
    /// ([`DataHeaderBuf::new`] makes it). Without room (see [`Client::has_room`]) the
    /// message comes back.
    pub fn push(&mut self, payload: P, bytes: u64) -> Result<(u64, u64), P> {
        if self.phase != Phase::Live {
            return Err(payload);
        }
        let seq = self.outgoing.push(payload, bytes)?;
        Ok((seq, self.incoming.piggyback()))
    }

    /// When an ack will be due, if one is owed.
    pub fn poll_timeout(&self) -> Option<f64> {
        if self.phase == Phase::Live {
            self.incoming.poll_timeout()
        } else {
            None
        }
    }

    /// An `A` frame to write now, if one is due.
    pub fn poll_ack(&mut self, now: f64) -> Option<AckBuf> {
        if self.phase != Phase::Live {
            return None;
        }
        self.incoming.poll_ack(now).and_then(|ack| AckBuf::new(ack).ok())
    }

    /// An `A` frame for whatever is owed, due or not (the page is hidden or unloading).
    pub fn flush_ack(&mut self) -> Option<AckBuf> {
        if self.phase != Phase::Live {
            return None;
        }
        self.incoming.flush_ack().and_then(|ack| AckBuf::new(ack).ok())
    }

    /// `close()`: appends the `bye` to write before closing with 1000, and forgets the
    /// session (the server forgets it too). Returns the messages in doubt.
    pub fn bye(&mut self, out: &mut String) -> Vec<(P, u64)> {
        if self.phase == Phase::Live {
            write_bye(out);
        }
        self.forget()
    }

    /// Gives the session up (for a plain connection, say): the next `hello` names none, and
    /// the messages in doubt are returned, oldest first, with their sizes.
    pub fn forget(&mut self) -> Vec<(P, u64)> {
        self.sid = None;
        self.tok = None;
        self.phase = Phase::Idle;
        self.incoming.reset();
        self.outgoing.take_unacked().collect()
    }
}
