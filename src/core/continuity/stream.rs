//! The two halves of one direction of a session, the same for the client and the server:
//! [`Outgoing`] numbers the messages a side sends and keeps them until they are acked;
//! [`Incoming`] tracks what a side has received in order and when it owes an ack.
//! (protocol.md, Rules 1 to 3 and 6.)

use alloc::collections::VecDeque;
use core::fmt;

use super::frame::{FrameError, MAX_SEQ};

/// How much one direction may have sent and not yet had acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Messages (256 by default).
    pub messages: u32,
    /// Bytes, counted as the sender counts them (1 MiB by default).
    pub bytes: u64,
}

impl Default for Window {
    fn default() -> Self {
        Window {
            messages: 256,
            bytes: 1_048_576,
        }
    }
}

impl Window {
    fn messages(self) -> usize {
        usize::try_from(self.messages).unwrap_or(usize::MAX)
    }
}

/// A violation of the protocol by the peer: close with 4002
/// ([`CLOSE_PROTOCOL_ERROR`](super::CLOSE_PROTOCOL_ERROR)) and resume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// A data frame skipped a number (`seq > rx + 1`).
    Gap,
    /// An ack (or a resume's `rx`) covers a message that was never sent.
    AckAboveSent,
    /// A resume's `rx` is below what the peer had already acknowledged: it lost messages
    /// it had confirmed, so replaying cannot fill the hole.
    RxBelowAcked,
    /// A frame of no kind (empty, an unknown first byte, or a control or ack frame sent as
    /// binary).
    NotAFrame,
    /// A control frame where none of its type may come (a second `hello` or `welcome`, a
    /// `bye` before the session, a `hello` to a client).
    UnexpectedControl,
    /// A data or ack frame before the handshake finished (no data before `welcome`).
    BeforeHello,
    /// A `welcome` resumes another session than the `hello` named (or one when it named
    /// none).
    ResumeOfAnotherSession,
    /// A malformed frame.
    Frame(FrameError),
}

impl ProtocolError {
    /// A message naming the problem.
    pub fn message(self) -> &'static str {
        match self {
            ProtocolError::Gap => "data frame: seq skips a number",
            ProtocolError::AckAboveSent => "ack above the highest seq sent",
            ProtocolError::RxBelowAcked => "resume: rx below what was already acknowledged",
            ProtocolError::NotAFrame => "not a frame of the protocol",
            ProtocolError::UnexpectedControl => "a control frame out of turn",
            ProtocolError::BeforeHello => "data before the handshake finished",
            ProtocolError::ResumeOfAnotherSession => "welcome: resumes another session than the hello named",
            ProtocolError::Frame(e) => e.message(),
        }
    }
}

impl From<FrameError> for ProtocolError {
    fn from(e: FrameError) -> Self {
        ProtocolError::Frame(e)
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::Frame(e) => fmt::Display::fmt(e, f),
            _ => f.write_str(self.message()),
        }
    }
}

impl core::error::Error for ProtocolError {}

/// A sent message not yet acknowledged.
#[derive(Debug)]
struct Unacked<P> {
    payload: P,
    bytes: u64,
}

/// The sending half: numbers messages and keeps every one until the peer acks it, to replay
/// after a reconnect.
///
/// A message gets its number when it enters the send log ([`Outgoing::push`], at its first
/// write), not when the application sends it: messages still waiting in the outbox have no
/// number, so the outbox's overflow policy may drop them without leaving a gap. Replayed and
/// live messages are one sequence, and a number is never used twice in a session.
#[derive(Debug)]
pub struct Outgoing<P> {
    /// The unacknowledged messages, in order: the first is `acked + 1`, and the numbers have
    /// no holes, so a message's number is its position plus `acked + 1`.
    log: VecDeque<Unacked<P>>,
    acked: u64,
    bytes: u64,
    window: Window,
}

impl<P> Outgoing<P> {
    /// An empty log for a new session (its first message will be 1).
    pub fn new(window: Window) -> Self {
        Outgoing {
            log: VecDeque::new(),
            acked: 0,
            bytes: 0,
            window,
        }
    }

    /// A log taken up again from storage (after a page reload): `acked` acknowledged, then
    /// `messages`, oldest first with their sizes, numbered from `acked + 1` on. It may hold
    /// more than the window: then nothing new is pushed until acks make room.
    pub fn restored(window: Window, acked: u64, messages: impl IntoIterator<Item = (P, u64)>) -> Self {
        let mut log = Outgoing::new(window);
        log.acked = acked;
        for (payload, bytes) in messages {
            log.log.push_back(Unacked { payload, bytes });
            log.bytes = log.bytes.saturating_add(bytes);
        }
        log
    }

    /// Changes the window (say, to the one a `welcome` states). A smaller window than the log
    /// holds only stops new messages until acks make room.
    pub fn set_window(&mut self, window: Window) {
        self.window = window;
    }

    /// Whether a message of `bytes` may be pushed now. When nothing is unacknowledged there is
    /// always room for one message, whatever its size or the window (else a message larger
    /// than the byte window could never be sent); otherwise the log must stay within both
    /// bounds of the window. False once [`MAX_SEQ`] is used up.
    pub fn has_room(&self, bytes: u64) -> bool {
        if self.last_seq() >= MAX_SEQ {
            return false;
        }
        self.log.is_empty()
            || (self.log.len() < self.window.messages()
                && self.bytes.saturating_add(bytes) <= self.window.bytes)
    }

    /// Numbers the message and keeps it until it is acked: `Ok(seq)` to put in its data
    /// header. Without room ([`Outgoing::has_room`]) nothing changes and the payload comes
    /// back as `Err`, so the log never outgrows the window.
    pub fn push(&mut self, payload: P, bytes: u64) -> Result<u64, P> {
        if !self.has_room(bytes) {
            return Err(payload);
        }
        self.log.push_back(Unacked { payload, bytes });
        self.bytes = self.bytes.saturating_add(bytes);
        Ok(self.last_seq())
    }

    /// Frees every message with `seq <= ack` and returns how many. An ack at or below what
    /// is already acknowledged is stale and harmless (`Ok(0)`); one above the highest seq
    /// sent is a protocol error (and frees nothing).
    pub fn handle_ack(&mut self, ack: u64) -> Result<usize, ProtocolError> {
        if ack > self.last_seq() {
            return Err(ProtocolError::AckAboveSent);
        }
        let mut freed = 0;
        while self.acked < ack {
            let Some(message) = self.log.pop_front() else {
                break;
            };
            self.bytes = self.bytes.saturating_sub(message.bytes);
            self.acked += 1;
            freed += 1;
        }
        Ok(freed)
    }

    /// After a resume: frees what the peer's `rx` covers, then yields every other message,
    /// in order, with its number, to write again before going live. An `rx` above the
    /// highest seq sent, or below what the peer had already acknowledged, is a protocol error.
    pub fn replay(&mut self, peer_rx: u64) -> Result<impl Iterator<Item = (u64, &P)>, ProtocolError> {
        if peer_rx < self.acked {
            return Err(ProtocolError::RxBelowAcked);
        }
        self.handle_ack(peer_rx)?;
        let first = self.acked.saturating_add(1);
        Ok(self
            .log
            .iter()
            .enumerate()
            .map(move |(i, message)| (first.saturating_add(i as u64), &message.payload)))
    }

    /// The session is lost: takes every unacknowledged message, in order, with its size (to
    /// send again in the next session, or to report as dropped), and starts the next session
    /// as [`Outgoing::reset`] does.
    pub fn take_unacked(&mut self) -> impl Iterator<Item = (P, u64)> + '_ {
        self.acked = 0;
        self.bytes = 0;
        self.log.drain(..).map(|message| (message.payload, message.bytes))
    }

    /// The unacknowledged messages, oldest first, with their sizes.
    pub fn iter(&self) -> impl Iterator<Item = (&P, u64)> + '_ {
        self.log.iter().map(|m| (&m.payload, m.bytes))
    }

    /// The unacknowledged message `seq`, if it is one.
    pub fn get(&self, seq: u64) -> Option<&P> {
        let index = seq.checked_sub(self.acked.checked_add(1)?)?;
        self.log.get(usize::try_from(index).ok()?).map(|m| &m.payload)
    }

    /// A new session: the log is emptied and numbering restarts at 1.
    pub fn reset(&mut self) {
        self.log.clear();
        self.acked = 0;
        self.bytes = 0;
    }

    /// Messages sent and not yet acknowledged.
    pub fn len(&self) -> usize {
        self.log.len()
    }

    /// True when every message sent is acknowledged.
    pub fn is_empty(&self) -> bool {
        self.log.is_empty()
    }

    /// Bytes sent and not yet acknowledged.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The highest seq given so far in this session (0: none).
    pub fn last_seq(&self) -> u64 {
        self.acked.saturating_add(self.log.len() as u64)
    }

    /// The highest seq the peer has acknowledged (0: none).
    pub fn acked(&self) -> u64 {
        self.acked
    }
}

impl<P> Default for Outgoing<P> {
    fn default() -> Self {
        Outgoing::new(Window::default())
    }
}

/// What to do with a data frame that arrived in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// The next message: deliver it to the application.
    Deliver,
    /// Already delivered: discard it (an ack is now due at once).
    Duplicate,
}

/// The default delay of an ack after the first unacknowledged delivery, in ms.
pub const ACK_DELAY_MS: f64 = 250.0;

/// The receiving half: the highest seq delivered in order (`rx`) and when an ack is owed.
///
/// An ack rides on every outgoing data frame ([`Incoming::piggyback`]). Otherwise an `A`
/// frame is due `ack_delay_ms` after the first delivery not yet acked (a timer armed then,
/// not an interval), at once when half the window is delivered but not acked (half the
/// messages or half the bytes), at once on a duplicate, and at once when the driver asks
/// ([`Incoming::flush_ack`]: page hidden or unloading).
#[derive(Debug, Clone)]
pub struct Incoming {
    rx: u64,
    /// The `rx` last told to the peer.
    acked: u64,
    /// Bytes delivered since then.
    unacked_bytes: u64,
    /// When an `A` frame must be written, if one is owed.
    ack_due: Option<f64>,
    window: Window,
    ack_delay_ms: f64,
}

impl Incoming {
    /// Nothing received yet. `window` is the peer's sending window (for the half-window
    /// rule).
    pub fn new(window: Window, ack_delay_ms: f64) -> Self {
        Incoming {
            rx: 0,
            acked: 0,
            unacked_bytes: 0,
            ack_due: None,
            window,
            ack_delay_ms,
        }
    }

    /// The receiving half taken up again from storage (after a page reload): `rx`
    /// delivered, nothing owed (the next `hello` states `rx`, which acknowledges it).
    pub fn restored(window: Window, ack_delay_ms: f64, rx: u64) -> Self {
        Incoming {
            rx,
            acked: rx,
            ..Incoming::new(window, ack_delay_ms)
        }
    }

    /// Changes the window the half-window rule uses.
    pub fn set_window(&mut self, window: Window) {
        self.window = window;
    }

    /// The highest seq delivered in order (0: none); kept across a resume.
    pub fn rx(&self) -> u64 {
        self.rx
    }

    /// A data frame `seq` (from [`parse_data_header`](super::parse_data_header)) arrived at
    /// `now`, with a payload of `bytes` (counted as the sender counts them; a lower bound only
    /// delays acks to the timer). The next seq is to be delivered, an earlier one discarded,
    /// a later one is a gap: a protocol error, and nothing changes.
    pub fn handle_data(&mut self, seq: u64, bytes: u64, now: f64) -> Result<Received, ProtocolError> {
        if seq <= self.rx {
            self.ack_now(now);
            return Ok(Received::Duplicate);
        }
        if seq != self.rx.saturating_add(1) {
            return Err(ProtocolError::Gap);
        }
        self.rx = seq;
        self.unacked_bytes = self.unacked_bytes.saturating_add(bytes);
        let half_messages = u64::from(self.window.messages / 2).max(1);
        let half_bytes = (self.window.bytes / 2).max(1);
        if self.rx - self.acked >= half_messages || self.unacked_bytes >= half_bytes {
            self.ack_now(now);
        } else if self.ack_due.is_none() {
            self.ack_due = Some(now + self.ack_delay_ms);
        }
        Ok(Received::Deliver)
    }

    fn ack_now(&mut self, now: f64) {
        self.ack_due = Some(self.ack_due.map_or(now, |due| due.min(now)));
    }

    /// When an `A` frame will be due, if one is owed: call [`Incoming::poll_ack`] then.
    pub fn poll_timeout(&self) -> Option<f64> {
        self.ack_due
    }

    /// `Some(rx)` when an `A` frame must be written now; what it acks is then no longer owed.
    pub fn poll_ack(&mut self, now: f64) -> Option<u64> {
        match self.ack_due {
            Some(due) if due <= now => Some(self.take_ack()),
            _ => None,
        }
    }

    /// `Some(rx)` when an ack is owed at all, due or not (page hidden or unloading): write
    /// it as an `A` frame now.
    pub fn flush_ack(&mut self) -> Option<u64> {
        self.ack_due.map(|_| self.take_ack())
    }

    /// The ack to put in an outgoing data header: `rx`. The data frame carries it, so no
    /// ack is owed any more.
    pub fn piggyback(&mut self) -> u64 {
        self.take_ack()
    }

    fn take_ack(&mut self) -> u64 {
        self.ack_due = None;
        self.acked = self.rx;
        self.unacked_bytes = 0;
        self.rx
    }

    /// A new session: nothing received.
    pub fn reset(&mut self) {
        self.rx = 0;
        self.acked = 0;
        self.unacked_bytes = 0;
        self.ack_due = None;
    }
}

impl Default for Incoming {
    fn default() -> Self {
        Incoming::new(Window::default(), ACK_DELAY_MS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn window(messages: u32, bytes: u64) -> Window {
        Window { messages, bytes }
    }

    #[test]
    fn default_window() {
        assert_eq!(window(256, 1 << 20), Window::default());
    }

    #[test]
    fn numbers_start_at_one_and_follow_on() {
        let mut out = Outgoing::new(Window::default());
        assert_eq!((out.last_seq(), out.acked()), (0, 0));
        assert_eq!(out.push('a', 1), Ok(1));
        assert_eq!(out.push('b', 2), Ok(2));
        assert_eq!((out.len(), out.bytes(), out.last_seq()), (2, 3, 2));
        assert_eq!(out.handle_ack(2), Ok(2));
        assert!(out.is_empty());
        // Freed numbers are not reused.
        assert_eq!(out.push('c', 1), Ok(3));
    }

    #[test]
    fn the_message_window() {
        let mut out = Outgoing::new(window(2, u64::MAX));
        assert_eq!(out.push(1, 0), Ok(1));
        assert_eq!(out.push(2, 0), Ok(2));
        assert!(!out.has_room(0));
        assert_eq!(out.push(3, 0), Err(3));
        assert_eq!(out.last_seq(), 2, "a refused push takes no number");
        out.handle_ack(1).unwrap();
        assert_eq!(out.push(3, 0), Ok(3));
    }

    #[test]
    fn the_byte_window() {
        let mut out = Outgoing::new(window(100, 10));
        assert!(out.has_room(10));
        out.push(1, 6).unwrap();
        assert!(out.has_room(4));
        assert!(!out.has_room(5));
        out.push(2, 4).unwrap();
        assert!(out.has_room(0), "an empty message still fits");
        assert_eq!(out.push(3, 1), Err(3));
        out.handle_ack(2).unwrap();
        // Larger than the whole window: goes alone, once nothing is unacked.
        assert!(out.has_room(1000));
        out.push(4, 1000).unwrap();
        assert!(!out.has_room(0));
        assert!(!out.has_room(1));
    }

    #[test]
    fn a_zero_window_still_lets_one_message_through() {
        let mut out = Outgoing::new(window(0, 0));
        assert_eq!(out.push(1, 5), Ok(1));
        assert_eq!(out.push(2, 0), Err(2));
    }

    #[test]
    fn acks() {
        let mut out = Outgoing::new(Window::default());
        for i in 0..5 {
            out.push(i, 10).unwrap();
        }
        assert_eq!(out.handle_ack(0), Ok(0));
        assert_eq!(out.handle_ack(3), Ok(3));
        assert_eq!((out.acked(), out.len(), out.bytes()), (3, 2, 20));
        assert_eq!(out.handle_ack(2), Ok(0), "stale");
        assert_eq!(out.handle_ack(3), Ok(0), "repeated");
        assert_eq!(out.handle_ack(6), Err(ProtocolError::AckAboveSent));
        assert_eq!(out.handle_ack(u64::MAX), Err(ProtocolError::AckAboveSent));
        assert_eq!(
            (out.acked(), out.len(), out.bytes()),
            (3, 2, 20),
            "an error frees nothing"
        );
        assert_eq!(out.handle_ack(5), Ok(2));
        assert_eq!(out.bytes(), 0);
        // Nothing sent yet: any ack above 0 is above sent.
        let mut fresh: Outgoing<()> = Outgoing::default();
        assert_eq!(fresh.handle_ack(1), Err(ProtocolError::AckAboveSent));
    }

    #[test]
    fn replay_after_resume() {
        let mut out = Outgoing::new(Window::default());
        for c in ['a', 'b', 'c', 'd'] {
            out.push(c, 1).unwrap();
        }
        out.handle_ack(1).unwrap();
        let replayed: Vec<_> = out.replay(2).unwrap().map(|(seq, c)| (seq, *c)).collect();
        assert_eq!(replayed, [(3, 'c'), (4, 'd')]);
        assert_eq!(out.acked(), 2);
        // Replaying again from the same rx yields the same; live numbering follows on.
        assert_eq!(out.replay(2).unwrap().count(), 2);
        assert_eq!(out.push('e', 1), Ok(5));
        assert_eq!(out.replay(5).unwrap().count(), 0);
        assert!(matches!(out.replay(6), Err(ProtocolError::AckAboveSent)));
        assert!(matches!(out.replay(4), Err(ProtocolError::RxBelowAcked)));
    }

    #[test]
    fn a_lost_session_hands_everything_back_and_starts_over() {
        let mut out = Outgoing::new(Window::default());
        for c in ['a', 'b', 'c'] {
            out.push(c, 2).unwrap();
        }
        out.handle_ack(1).unwrap();
        let taken: Vec<_> = out.take_unacked().collect();
        assert_eq!(taken, [('b', 2), ('c', 2)]);
        assert_eq!(
            (out.len(), out.bytes(), out.acked(), out.last_seq()),
            (0, 0, 0, 0)
        );
        assert_eq!(out.push('b', 2), Ok(1));
        out.reset();
        assert_eq!((out.len(), out.bytes(), out.last_seq()), (0, 0, 0));
        assert_eq!(out.push('x', 2), Ok(1));
    }

    #[test]
    fn numbers_end_at_max_seq() {
        let mut out = Outgoing::new(Window::default());
        out.push((), 0).unwrap();
        out.acked = MAX_SEQ - 1; // as if 2^53 - 2 messages had been acked before
        assert_eq!(out.last_seq(), MAX_SEQ);
        assert!(!out.has_room(0));
        assert_eq!(out.push((), 0), Err(()));
    }

    #[test]
    fn deliver_duplicate_gap() {
        let mut inc = Incoming::default();
        assert_eq!(inc.handle_data(1, 0, 0.0), Ok(Received::Deliver));
        assert_eq!(inc.handle_data(2, 0, 0.0), Ok(Received::Deliver));
        assert_eq!(inc.rx(), 2);
        assert_eq!(inc.handle_data(2, 0, 0.0), Ok(Received::Duplicate));
        assert_eq!(inc.handle_data(1, 0, 0.0), Ok(Received::Duplicate));
        assert_eq!(inc.handle_data(4, 0, 0.0), Err(ProtocolError::Gap));
        assert_eq!(inc.handle_data(u64::MAX, 0, 0.0), Err(ProtocolError::Gap));
        assert_eq!(inc.rx(), 2, "a gap changes nothing");
        assert_eq!(inc.handle_data(3, 0, 0.0), Ok(Received::Deliver));
        inc.reset();
        assert_eq!(inc.rx(), 0);
        assert_eq!(inc.poll_timeout(), None);
        assert_eq!(inc.handle_data(2, 0, 0.0), Err(ProtocolError::Gap));
    }

    #[test]
    fn ack_timer_is_armed_on_the_first_unacked_delivery() {
        let mut inc = Incoming::new(Window::default(), 250.0);
        assert_eq!(inc.poll_timeout(), None);
        inc.handle_data(1, 1, 1000.0).unwrap();
        assert_eq!(inc.poll_timeout(), Some(1250.0));
        // Later deliveries do not push the deadline back.
        inc.handle_data(2, 1, 1200.0).unwrap();
        assert_eq!(inc.poll_timeout(), Some(1250.0));
        assert_eq!(inc.poll_ack(1249.9), None);
        assert_eq!(inc.poll_ack(1250.0), Some(2));
        assert_eq!(inc.poll_timeout(), None);
        assert_eq!(inc.poll_ack(5000.0), None, "nothing owed");
        // The next delivery arms a new timer, not an interval.
        inc.handle_data(3, 1, 6000.0).unwrap();
        assert_eq!(inc.poll_timeout(), Some(6250.0));
    }

    #[test]
    fn half_the_message_window_acks_at_once() {
        let mut inc = Incoming::new(window(8, u64::MAX), 250.0);
        for seq in 1..=3 {
            inc.handle_data(seq, 0, 0.0).unwrap();
            assert_eq!(inc.poll_ack(0.0), None);
        }
        inc.handle_data(4, 0, 0.0).unwrap();
        assert_eq!(inc.poll_timeout(), Some(0.0));
        assert_eq!(inc.poll_ack(0.0), Some(4));
        // Counted from the last ack.
        for seq in 5..=7 {
            inc.handle_data(seq, 0, 0.0).unwrap();
        }
        assert_eq!(inc.poll_ack(0.0), None);
        // A window of 1 (half rounds down to 0) acks every message.
        let mut inc = Incoming::new(window(1, u64::MAX), 250.0);
        inc.handle_data(1, 0, 0.0).unwrap();
        assert_eq!(inc.poll_ack(0.0), Some(1));
    }

    #[test]
    fn half_the_byte_window_acks_at_once() {
        let mut inc = Incoming::new(window(256, 100), 250.0);
        inc.handle_data(1, 49, 0.0).unwrap();
        assert_eq!(inc.poll_ack(0.0), None);
        inc.handle_data(2, 1, 0.0).unwrap();
        assert_eq!(inc.poll_ack(0.0), Some(2));
        inc.handle_data(3, 49, 0.0).unwrap();
        assert_eq!(inc.poll_ack(0.0), None, "bytes counted from the last ack");
    }

    #[test]
    fn a_duplicate_acks_at_once() {
        let mut inc = Incoming::default();
        inc.handle_data(1, 0, 0.0).unwrap();
        assert_eq!(inc.piggyback(), 1);
        inc.handle_data(1, 0, 10.0).unwrap();
        assert_eq!(inc.poll_timeout(), Some(10.0));
        assert_eq!(inc.poll_ack(10.0), Some(1), "even with nothing new to ack");
        // A duplicate brings an armed timer forward.
        inc.handle_data(2, 0, 20.0).unwrap();
        inc.handle_data(2, 0, 30.0).unwrap();
        assert_eq!(inc.poll_ack(30.0), Some(2));
    }

    #[test]
    fn piggyback_and_flush_clear_the_owed_ack() {
        let mut inc = Incoming::default();
        assert_eq!(inc.flush_ack(), None);
        assert_eq!(inc.piggyback(), 0);
        inc.handle_data(1, 0, 0.0).unwrap();
        assert_eq!(inc.piggyback(), 1);
        assert_eq!(inc.poll_timeout(), None);
        assert_eq!(inc.flush_ack(), None);
        inc.handle_data(2, 0, 0.0).unwrap();
        assert_eq!(inc.flush_ack(), Some(2));
        assert_eq!(inc.poll_ack(1e9), None);
    }

    #[test]
    fn errors_have_messages() {
        assert_eq!(ProtocolError::Gap.message(), "data frame: seq skips a number");
        let e = ProtocolError::from(FrameError::MissingField("rx"));
        assert_eq!(e.message(), FrameError::MissingField("rx").message());
        assert_eq!(
            alloc::string::ToString::to_string(&e),
            "control frame: missing field: rx"
        );
    }
}
