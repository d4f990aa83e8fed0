//! The machine's rules for the continuity protocol (PROTOCOL.md): the session's frames on a
//! connection that speaks it, the `welcome` that opens it, the replay after a resume, and
//! what happens when a server does not speak the protocol after all. The protocol's own
//! engine is [`Client`](crate::core::continuity::Client) (`Machine::session`); this file
//! holds what the connection machine adds around it. In a build without the `continuity`
//! feature every branch here is dead code (see `session.rs`).

use alloc::string::String;
use alloc::vec::Vec;

use super::NO_REPLAY;
use super::{
    abnormal, Action, ConnId, DropReason, ErrorKind, Event, Machine, RetryReason, SessionStart, State,
};
use crate::core::continuity::{app_protocol, ClientInbound, CLOSE_PROTOCOL_ERROR};
#[cfg(feature = "continuity")]
use crate::core::continuity::{RestoreError, SavedSession};

impl<P> Machine<P> {
    /// During an [`Action::Flush`] after a resume: the next message the server has not
    /// taken, to write again, with its header's `(seq, ack)`; `None` when the replay is
    /// done (then [`Machine::poll_flush`]). A failed write needs nothing: the message stays
    /// in the session for the next resume.
    pub fn poll_replay(&mut self, id: ConnId) -> Option<(u64, u64, &P)> {
        // (Only the welcomed socket has a replay; after close() its session is forgotten,
        // `bye` written, so nothing is left to replay.)
        if self.current != Some(id) || !self.speaking() {
            return None;
        }
        let session = self.session.as_mut()?;
        // (The numbers the resume found unacknowledged; what is sent later is not replayed.)
        let seq = self.replay.next()?;
        let ack = session.ack_to_send();
        session.unacked_at(seq).map(|p| (seq, ack, p))
    }

    /// The session to keep in storage now, for a page reload to resume it (continuity on,
    /// once a server gave one): write it through whenever it may have changed (after a
    /// `welcome`, a delivery, an ack), and beside it each message under the seq of the header
    /// it was written with ([`Machine::data_header`]), dropping those at or below `acked`
    /// and those of another `sid`. (With the `continuity` feature.)
    #[cfg(feature = "continuity")]
    pub fn saved_session(&self) -> Option<SavedSession> {
        self.session.as_ref()?.saved()
    }

    /// Takes up a session an earlier page saved ([`Machine::saved_session`]), with `kept`:
    /// every message the page kept beside it, oldest first with their sizes. The first
    /// `last - acked` are the session's unacknowledged ones: the first socket's `hello`
    /// resumes it and they are replayed as the server needs. The others had not been sent
    /// yet: they go to the outbox, in order. Call it before the first socket opens.
    ///
    /// An `Err` (storage no page of this version wrote, or a session already begun) leaves
    /// the session new, and every message in `kept` goes to the outbox to be sent in it:
    /// nothing is lost, but those the server had already taken may then arrive twice.
    /// (With the `continuity` feature.)
    #[cfg(feature = "continuity")]
    pub fn restore_session(&mut self, saved: SavedSession, kept: Vec<(P, u64)>) -> Result<(), RestoreError> {
        self.restore(Ok(saved), kept)
    }

    /// [`Machine::restore_session`] of the session stored as `record`
    /// ([`SavedSession::write_record`]'s text), which may be anything storage held.
    /// (With the `continuity` feature.)
    #[cfg(feature = "continuity")]
    pub fn restore_record(&mut self, record: &[u8], kept: Vec<(P, u64)>) -> Result<(), RestoreError> {
        self.restore(SavedSession::from_record(record), kept)
    }

    #[cfg(feature = "continuity")]
    fn restore(
        &mut self,
        saved: Result<SavedSession, RestoreError>,
        mut kept: Vec<(P, u64)>,
    ) -> Result<(), RestoreError> {
        let result = saved.and_then(|saved| self.take_up(saved, &mut kept));
        for (payload, size) in kept.into_iter().rev() {
            self.outbox.push_front_unchecked(payload, size);
        }
        result
    }

    /// [`Machine::restore_session`]'s session; what it does not take stays in `kept`.
    #[cfg(feature = "continuity")]
    fn take_up(&mut self, saved: SavedSession, kept: &mut Vec<(P, u64)>) -> Result<(), RestoreError> {
        let begun = self.speaking();
        let (Some(session), Some(c)) = (self.session.as_mut(), self.cfg.continuity) else {
            return Err(RestoreError::ContinuityOff);
        };
        if begun || session.sid().is_some() {
            return Err(RestoreError::SessionBegun);
        }
        let numbered = usize::try_from(saved.last.saturating_sub(saved.acked)).unwrap_or(usize::MAX);
        if numbered > kept.len() {
            return Err(RestoreError::MessagesMissing);
        }
        // (Checked here, so that the restore takes them all.)
        saved.check(numbered)?;
        let queued = kept.split_off(numbered);
        let unacked = core::mem::replace(kept, queued);
        *session = crate::core::continuity::Client::restore(c.client_config(), saved, unacked)?;
        Ok(())
    }

    /// Whether the current attempt (between attempts: the next) offers the continuity
    /// protocol: continuity on, no server has shown it does not speak it, and not the
    /// attempt without it that `prefer` makes after two failed handshakes. Then connect with
    /// [`offered_protocols`](crate::core::continuity::offered_protocols) of the app's.
    pub fn offers_continuity(&self) -> bool {
        // (Decided when the attempt starts; the driver asks once it makes the socket.)
        match self.current {
            Some(_) => self.attempt_offered,
            None => self.would_offer(),
        }
    }

    pub(super) fn would_offer(&self) -> bool {
        self.session.is_some() && !self.plain_only && !self.plain_once
    }

    /// The header `(seq, ack)` to write before the message in hand, when the socket speaks
    /// the continuity protocol (`D<seq>,<ack>;` then the payload, in one frame).
    pub fn data_header(&self) -> Option<(u64, u64)> {
        self.session
            .as_ref()
            .filter(|_| self.speaking())
            .map(|s| s.next_header())
    }

    /// A message (a WebSocket frame) arrived on socket `id`, which speaks the continuity
    /// protocol ([`Machine::speaks_continuity`]): `frame` is the whole frame, or for a data
    /// frame at least its first 35 bytes (of the string, for text), and `len` its length.
    /// Returns where the payload starts when the frame is a message to deliver; the driver
    /// delivers `frame[at..]` (text stays text). Anything that breaks the protocol closes
    /// the socket with 4002 and resumes on a new one.
    pub fn handle_frame(
        &mut self,
        id: ConnId,
        frame: &[u8],
        len: u64,
        text: bool,
        now: f64,
    ) -> Option<usize> {
        if self.current != Some(id) || !self.speaking() {
            return None;
        }
        let session = self.session.as_mut()?;
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        // Any frame from the server is the heartbeat's reply (the `pong` is one).
        self.timers.heartbeat_dead = None;
        match session.handle_frame(frame, len, text, now) {
            Ok(ClientInbound::Deliver { payload_at }) => {
                self.flush_if_room(id);
                Some(payload_at)
            }
            Ok(ClientInbound::Nothing) => {
                self.flush_if_room(id);
                None
            }
            Ok(ClientInbound::Welcomed(r)) => {
                self.replay = match (r.resumed, session.replay_range()) {
                    (true, range) => *range.start()..range.end().saturating_add(1),
                    (false, _) => NO_REPLAY,
                };
                let (resent, dropped) = self.settle_in_doubt(r.resend, r.dropped);
                let start = if r.resumed {
                    SessionStart::Resumed
                } else {
                    SessionStart::from_welcome(r.reason)
                };
                self.emit_resume(start, resent, dropped);
                self.go_open(id, now);
                None
            }
            Err(_) if self.state == State::Connecting => {
                // No valid `welcome`: the server selected the protocol without speaking it
                // (some select the first subprotocol offered, then echo the `hello`).
                let plain = (ErrorKind::ProtocolError, RetryReason::ProtocolError);
                self.without_welcome(id, now, plain, CLOSE_PROTOCOL_ERROR, "protocol error");
                None
            }
            Err(_) => {
                let stable =
                    self.state == State::Open && now - self.opened_at >= self.cfg.backoff.min_uptime_ms;
                self.abandon(id, CLOSE_PROTOCOL_ERROR, "protocol error");
                self.emit(Event::Error(ErrorKind::ProtocolError));
                self.lost(
                    now,
                    abnormal("protocol error"),
                    RetryReason::ProtocolError,
                    stable,
                );
                None
            }
        }
    }

    /// Whether the current socket speaks the continuity protocol (always false in a build
    /// without it, which lets the compiler drop every continuity branch).
    pub(super) fn speaking(&self) -> bool {
        cfg!(feature = "continuity") && self.speaking
    }

    /// Whether socket `id` speaks the continuity protocol: its messages go through
    /// [`Machine::handle_frame`], its writes carry [`Machine::data_header`].
    pub fn speaks_continuity(&self, id: ConnId) -> bool {
        self.speaking() && self.current == Some(id)
    }

    pub(super) fn offers_continuity_now(&self, protocol: &str) -> bool {
        self.offers_continuity() && app_protocol(protocol).is_some()
    }

    /// Messages in doubt from a lost session: `resend` back at the head of the outbox, in
    /// order, `dropped` reported. Returns how many of each.
    pub(super) fn settle_in_doubt(
        &mut self,
        resend: Vec<(P, u64)>,
        dropped: Vec<(P, u64)>,
    ) -> (usize, usize) {
        let counts = (resend.len(), dropped.len());
        for (payload, size) in resend.into_iter().rev() {
            self.outbox.push_front_unchecked(payload, size);
        }
        for (payload, _) in dropped {
            self.emit(Event::Dropped {
                payload,
                reason: DropReason::SessionLost,
            });
        }
        counts
    }

    /// The connection goes on without the protocol (`prefer`): the session, if one was
    /// begun, is given up, and its messages in doubt are sent again plainly (or reported
    /// dropped, `continuity.resend: false`), counted in the `resume` event that says why.
    pub(super) fn session_to_plain(&mut self, start: SessionStart) {
        let in_doubt = self.session.as_mut().map(|s| s.forget()).unwrap_or_default();
        let (resend, dropped) = match self.cfg.continuity {
            Some(c) if !c.resend => (Vec::new(), in_doubt),
            _ => (in_doubt, Vec::new()),
        };
        let (resent, dropped) = self.settle_in_doubt(resend, dropped);
        self.emit_resume(start, resent, dropped);
    }

    // (Without continuity, neither is ever called and the variants do not exist: the npm
    // package's default entry then carries none of their code.)
    #[cfg_attr(not(feature = "continuity"), allow(unused_variables))]
    pub(super) fn emit_resume(&mut self, start: SessionStart, resent: usize, dropped: usize) {
        #[cfg(feature = "continuity")]
        self.emit(Event::Resume {
            start,
            resent,
            dropped,
        });
    }

    #[cfg_attr(not(feature = "continuity"), allow(unused_variables))]
    pub(super) fn send_frame(&mut self, id: ConnId, text: String) {
        #[cfg(feature = "continuity")]
        self.actions.push_back(Action::SendFrame { id, text });
    }

    /// Socket `id`'s server selected the continuity protocol without speaking it (no valid
    /// `welcome`: PROTOCOL.md, Negotiation): a failed attempt, reported as `prefer` (the
    /// error `plain`; the next attempts offer only the app's subprotocols) or `required`
    /// says.
    pub(super) fn without_welcome(
        &mut self,
        id: ConnId,
        now: f64,
        plain: (ErrorKind, RetryReason),
        code: u16,
        why: &str,
    ) {
        let (kind, reason) = match self.cfg.continuity {
            Some(c) if c.required => (ErrorKind::NoContinuity, RetryReason::NoContinuity),
            _ => {
                self.plain_only = true;
                self.session_to_plain(SessionStart::NoWelcome);
                plain
            }
        };
        self.abandon(id, code, why);
        self.emit(Event::Error(kind));
        self.lost(now, abnormal(why), reason, false);
    }

    /// An ack made room in the window: write what the outbox holds.
    pub(super) fn flush_if_room(&mut self, id: ConnId) {
        let room = match (self.outbox.front_size(), self.session.as_ref()) {
            (Some(size), Some(s)) => s.has_room(size),
            _ => false,
        };
        if room && self.state == State::Open && !self.socket_unwritable {
            self.actions.push_back(Action::Flush { id });
        }
    }

    pub(super) fn flush_ack(&mut self, id: ConnId) {
        if let (true, Some(session)) = (self.speaking(), self.session.as_mut()) {
            if let Some(ack) = session.flush_ack() {
                let text = ack.as_str().into();
                self.send_frame(id, text);
            }
        }
    }
}
