#![cfg(not(target_arch = "wasm32"))]
//! Model-based property tests of the sans-IO core.
//!
//! `Sim` plays the browser, the clock and the user around a `Machine<u32>` (payload = message
//! sequence number) and checks the machine's invariants after every step of a random run:
//! one live socket at most, no Connect after `close()`, the outbox within its limits, every
//! message accounted for exactly once and written in order, retry delays within their bounds,
//! sane timers, and one close event per socket that ends. It also plays the browser's send
//! buffer (`bufferedAmount`): written messages leave it as the network drains bytes, and
//! when a socket's close event comes, exactly the messages still in it must come back to the
//! outbox, ahead of the rest, so that every message leaves the browser exactly once, in order
//! (or is reported dropped); a socket the machine abandons (`reconnect()`, `dispose()`, a
//! too-big message, a heartbeat or closing-handshake timeout) keeps its buffer on the wire
//! and must requeue nothing. The in-flight log is held to its bound after every step.
//!
//! The main property counts the cases it ran and fails below `MIN_CASES` (64), so
//! `PROPTEST_CASES=0` cannot pass silently.
//!
//! Failing cases are saved to (and replayed from) `tests/core_seeds.txt`. Set `PROPTEST_CASES`
//! for longer runs.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};

use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, TestRunner};
use tether_ws::core::{
    base_delay, check_close_args, jittered, Action, Backoff, CloseInfo, Config, ConnId, DropReason, Event,
    Heartbeat, Machine, Overflow, QueueLimits, SendOutcome, State,
};

const SEEDS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/core_seeds.txt");

/// Fewer random cases than this prove too little: `PROPTEST_CASES` below it fails the run
/// instead of passing on (next to) nothing.
const MIN_CASES: u32 = 64;

/// 1024 cases (a few seconds in debug) unless `PROPTEST_CASES` says otherwise, never fewer
/// than [`MIN_CASES`]; a value that is not a number fails too rather than being ignored.
fn proptest_config() -> ProptestConfig {
    let cases = match std::env::var("PROPTEST_CASES") {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("PROPTEST_CASES={v:?} is not a number of cases")),
        Err(_) => 1024,
    };
    assert!(
        cases >= MIN_CASES,
        "PROPTEST_CASES={cases}: the model needs at least {MIN_CASES} cases to prove anything"
    );
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(SEEDS))),
        ..ProptestConfig::default()
    }
}

/// One thing that happens to the machine.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// The browser opens the socket being connected; with `closing`, the server has already
    /// begun to close it, so the flush fails and is handed back.
    Opened {
        closing: bool,
    },
    /// A message arrives; `reply` says whether `isPong` accepts it.
    Message {
        reply: bool,
    },
    /// The browser reports the socket closed.
    Closed {
        code: u16,
        clean: bool,
        should_reconnect: Option<bool>,
    },
    /// The browser reports a socket error.
    Error,
    /// The attempt could not even create a socket (URL provider failed).
    ConnectFailed,
    /// The server starts closing the open socket: writes fail until the close event.
    ServerStartsClosing,
    /// The driver's timer fires exactly at `poll_timeout()`.
    FireExactly,
    /// The timer fires this many ms late.
    FireLate(f64),
    /// The timer fires this many ms early.
    FireEarly(f64),
    /// Time passes; the timer fires on time at every deadline on the way.
    Wait(f64),
    Online,
    Offline,
    Visible(bool),
    /// The user sends a message of this many bytes.
    Send(u64),
    /// The user sends `count` small messages in a row (enough to make the in-flight log ask
    /// for trims on one socket).
    Burst {
        count: u32,
        bytes: u64,
    },
    /// The network takes this many bytes from the live socket's send buffer.
    Drain(u64),
    /// The server sends a message larger than `maxMessageBytes`.
    Oversized,
    /// The user calls `close(code, reason)` with valid arguments.
    Close {
        code: u16,
        reason_len: usize,
    },
    Reconnect,
}

/// A step, and for socket events whether they name an old connection instead of the current.
#[derive(Debug, Clone)]
struct Input {
    step: Step,
    stale: Option<usize>,
}

/// What the user's listeners do when the driver hands them events (re-entrantly).
#[derive(Debug, Clone, Copy)]
struct Listeners {
    send_on_state_change: bool,
    send_on_open: bool,
    reconnect_on_close: bool,
    close_on_error: bool,
    reconnect_on_open: bool,
}

impl Listeners {
    const NONE: Listeners = Listeners {
        send_on_state_change: false,
        send_on_open: false,
        reconnect_on_close: false,
        close_on_error: false,
        reconnect_on_open: false,
    };
}

/// The browser's view of the live socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Connecting,
    Open,
    /// The server began the closing handshake: writes fail.
    ServerClosing,
    /// We asked to close with a handshake.
    ClientClosing,
}

/// Where a message is, as far as the user and the wire can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// Inside `send()`.
    Sending,
    Queued,
    /// `send()` said Dropped; its Dropped event is still in the action queue.
    DropPending,
    /// Written to a socket, still in the browser's send buffer.
    Buffered,
    /// Left the browser (at-most-once from there on).
    Written,
    Dropped,
    Rejected,
}

#[derive(Debug)]
struct Msg {
    bytes: u64,
    fate: Fate,
    /// Handed back by `handle_unsent`: may be kept beyond the outbox limits.
    put_back: bool,
}

struct Sim {
    cfg: Config,
    listeners: Listeners,
    m: Machine<u32>,
    now: f64,
    /// The one socket the browser has that the driver still listens to.
    live: Option<(ConnId, Phase)>,
    /// Sockets that ended (closed or abandoned), oldest first.
    ended: Vec<ConnId>,
    last_id: u64,
    offline: bool,
    hidden: bool,
    msgs: Vec<Msg>,
    /// The live socket's send buffer: (message or HEARTBEAT, bytes not yet sent), oldest first.
    buffer: VecDeque<(u32, u64)>,
    /// The last message written to the live socket (order within one socket).
    last_written: Option<(ConnId, u32)>,
    /// The last message that left the browser (order across sockets).
    last_left: Option<u32>,
    /// The messages in the send buffer of the socket that just ended, until the machine
    /// requeues them; and whether they must be requeued: the socket's close event came.
    /// A socket the machine abandons (reconnect(), dispose(), a too-big message, a heartbeat
    /// or closing-handshake timeout) keeps its buffer on the wire: never requeued.
    unsent: Option<(Vec<u32>, bool)>,
    /// Every write to the live socket since it was created (user messages and heartbeats),
    /// oldest first, as the weight the machine may give it when trimming its in-flight log:
    /// the exact size when the driver told it, else the driver's lower bound.
    socket_writes: Vec<u64>,
    /// How many writes the last trim of the live socket's in-flight log kept (0 before any).
    kept: usize,
    /// The live socket is being let go while healthy (reconnect(), dispose(), a too-big
    /// message): the browser sends its buffer before the close frame, so requeueing it would
    /// send those messages twice.
    healthy_abandon: bool,
    /// `close()` was called and no `reconnect()` since.
    user_closed: bool,
    /// The state as told by StateChange events.
    state: State,
    close_events: usize,
    /// (when, delay) of the last Reconnecting event.
    retry: Option<(f64, f64)>,
    /// When the machine last went Open.
    opened_at: f64,
    /// The retry count we expect, and whether the current run of retries follows a
    /// connection that stayed open for minUptime.
    retries: u32,
    after_stable: bool,
    /// The connection that just dropped had been open for minUptime.
    stable_drop: bool,
    /// Actions carried out so far.
    actions: usize,
    /// Every action, when tracing.
    trace: Option<Vec<String>>,
    /// The machine is running `handle_timeout`.
    in_timer: bool,
    /// A listener already called reconnect() or close() during this browser task.
    reentered: bool,
    /// reconnect() calls whose Connect is still to come: those may connect while paused.
    explicit_connects: usize,
    /// When the oldest unanswered heartbeat on the open socket went out.
    heartbeat_since: Option<f64>,
    disposed: bool,
}

/// The payload standing for a heartbeat in the send buffer, and its size.
const HEARTBEAT: u32 = u32::MAX;
const HEARTBEAT_BYTES: u64 = 4;

/// A payload's size as the browser counts it.
/// A close without a handshake, as the browser reports a lost connection.
fn abnormal_close() -> CloseInfo {
    CloseInfo {
        code: 1006,
        reason: String::new(),
        was_clean: false,
    }
}

fn size_of(msgs: &[Msg], payload: u32) -> u64 {
    if payload == HEARTBEAT {
        HEARTBEAT_BYTES
    } else {
        msgs[payload as usize].bytes
    }
}

/// The lower bound of a size the driver gives when trimming: underestimated (halved) for odd
/// payloads, the heartbeat's included, as the browser driver's text length underestimates
/// its UTF-8 size.
fn lower_bound(msgs: &[Msg], payload: u32) -> u64 {
    size_of(msgs, payload) >> (payload % 2)
}

/// The in-flight log's first trim point (`inflight::FIRST_TRIM`).
const FIRST_TRIM: usize = 64;

fn eps(x: f64) -> f64 {
    1e-9 * x.abs().max(1.0)
}

impl Sim {
    fn new(cfg: Config, seed: u64, listeners: Listeners) -> Self {
        cfg.validate().expect("generated configs are valid");
        let m = Machine::new(cfg.clone(), seed, 0.0);
        let mut sim = Sim {
            state: m.state(),
            cfg,
            listeners,
            m,
            now: 0.0,
            live: None,
            ended: vec![],
            last_id: 0,
            offline: false,
            hidden: false,
            msgs: vec![],
            buffer: VecDeque::new(),
            last_written: None,
            last_left: None,
            unsent: None,
            socket_writes: vec![],
            kept: 0,
            healthy_abandon: false,
            user_closed: false,
            close_events: 0,
            retry: None,
            opened_at: 0.0,
            retries: 0,
            after_stable: false,
            stable_drop: false,
            actions: 0,
            trace: None,
            in_timer: false,
            reentered: false,
            explicit_connects: 0,
            heartbeat_since: None,
            disposed: false,
        };
        sim.drain();
        sim.check();
        sim
    }

    // ---- the driver ----

    fn drain(&mut self) {
        while let Some(a) = self.m.poll_action() {
            self.actions += 1;
            if let Some(trace) = &mut self.trace {
                trace.push(format!("{:?} {a:?}", self.now));
            }
            self.apply(a);
        }
        self.settle_unsent();
        self.healthy_abandon = false;
    }

    fn expect_live(&self, id: ConnId, what: &str) -> Phase {
        match self.live {
            Some((live, phase)) if live == id => phase,
            other => panic!("{what} for {id:?}, but the live socket is {other:?}"),
        }
    }

    fn apply(&mut self, action: Action<u32>) {
        match action {
            Action::SendFrame { .. } => panic!("a protocol frame with continuity off"),
            Action::Connect { id } => {
                assert!(
                    !self.user_closed,
                    "Connect {id:?} after close() and no reconnect()"
                );
                assert!(
                    self.live.is_none(),
                    "Connect {id:?} while {:?} is live",
                    self.live
                );
                assert!(id.0 > self.last_id, "Connect reuses {id:?}");
                self.last_id = id.0;
                if self.explicit_connects > 0 {
                    self.explicit_connects -= 1;
                } else {
                    let paused = self.offline || (self.hidden && self.cfg.pause_when_hidden);
                    assert!(!paused, "Connect {id:?} while offline or hidden");
                }
                if self.in_timer && !self.reentered {
                    let (at, delay) = self
                        .retry
                        .expect("a timer-driven Connect follows a Reconnecting event");
                    assert!(
                        self.now >= at + delay - eps(at + delay),
                        "retry at {} before {at} + {delay}",
                        self.now
                    );
                }
                self.retry = None;
                self.live = Some((id, Phase::Connecting));
                self.socket_writes.clear();
                self.kept = 0;
            }
            Action::Flush { id } => {
                if self.live.is_some_and(|(live, _)| live == id) {
                    while let Some((seq, bytes)) = self.m.poll_flush(id) {
                        let msg = &self.msgs[seq as usize];
                        assert_eq!((msg.fate, msg.bytes), (Fate::Queued, bytes), "flushed #{seq}");
                        if !self.write(id, seq, true) {
                            break;
                        }
                    }
                } else {
                    // A listener moved the machine on before the driver got to this Flush.
                    assert!(
                        self.m.poll_flush(id).is_none(),
                        "Flush of {id:?}, which is not live"
                    );
                }
            }
            Action::SendHeartbeat { id } => {
                let phase = self.expect_live(id, "SendHeartbeat");
                assert_ne!(phase, Phase::Connecting, "heartbeat before open");
                self.heartbeat_since.get_or_insert(self.now);
                if phase == Phase::Open {
                    self.buffer.push_back((HEARTBEAT, HEARTBEAT_BYTES));
                    self.drain_buffer(0);
                    self.socket_writes.push(lower_bound(&self.msgs, HEARTBEAT));
                    if self.m.handle_heartbeat_written(id, HEARTBEAT) {
                        self.trim(id);
                    }
                }
            }
            Action::Close {
                id,
                code,
                reason,
                abandon,
            } => {
                self.expect_live(id, "Close");
                assert!(
                    check_close_args(code, &reason).is_ok(),
                    "the browser throws on close({code}, {reason:?})"
                );
                if abandon {
                    self.live = None;
                    self.ended.push(id);
                    // A late close event of an abandoned socket, with its buffer, requeues
                    // nothing: the browser still sends that buffer before the close frame.
                    let buffered = self.socket_gone(id, false);
                    let msgs = &self.msgs;
                    self.m.handle_closed(
                        id,
                        self.now,
                        abnormal_close(),
                        buffered,
                        |&p| size_of(msgs, p),
                        None,
                    );
                } else {
                    self.live = Some((id, Phase::ClientClosing));
                }
            }
            Action::Emit(event) => self.on_event(event),
        }
    }

    /// Writes message `seq` to socket `id` (telling the machine its size if `sized`, as the
    /// driver does for queued messages), or hands it back if the socket is closing.
    fn write(&mut self, id: ConnId, seq: u32, sized: bool) -> bool {
        let phase = self.expect_live(id, "write");
        assert_ne!(phase, Phase::Connecting, "write before open");
        let msg = &mut self.msgs[seq as usize];
        if phase == Phase::Open {
            if let Some((last_id, last)) = self.last_written {
                assert!(
                    last_id != id || seq > last,
                    "#{seq} written after #{last} to {id:?}: out of order or twice"
                );
            }
            self.last_written = Some((id, seq));
            msg.fate = Fate::Buffered;
            let bytes = msg.bytes;
            self.buffer.push_back((seq, bytes));
            // An empty message with nothing before it has nothing left to send: it adds
            // nothing to `bufferedAmount`, so it has left before the machine can ask.
            self.drain_buffer(0);
            let weight = if sized {
                bytes
            } else {
                lower_bound(&self.msgs, seq)
            };
            self.socket_writes.push(weight);
            if self.m.handle_written(id, seq, sized.then_some(bytes)) {
                self.trim(id);
            }
            return true;
        }
        msg.fate = Fate::Queued;
        msg.put_back = true;
        let bytes = msg.bytes;
        self.m.handle_unsent(id, seq, bytes);
        // The machine must not offer this socket anything more.
        assert_eq!(
            self.m.writable_socket(),
            None,
            "writable_socket() after a failed write"
        );
        assert_eq!(self.m.poll_flush(id), None, "next_queued() after a failed write");
        false
    }

    /// The driver reports `bufferedAmount` when the machine asks for it, with sizes that may
    /// be underestimated (as the driver does for text: its length), here for odd messages.
    ///
    /// What a trim may keep: never fewer writes than are still in the send buffer (those may
    /// have to be requeued), never more than the newest writes whose weights (exact size, or
    /// the lower bound given) cover `bufferedAmount`. An underestimate keeps a few more; a
    /// log that keeps more than that, or forgets nothing, fails here.
    fn trim(&mut self, id: ConnId) {
        let buffered: u64 = self.buffer.iter().map(|(_, left)| left).sum();
        let msgs = &self.msgs;
        self.m.handle_buffered(id, buffered, |&p| lower_bound(msgs, p));
        let kept = self.m.in_flight_len();
        let mut covered = 0u64;
        let covering = self
            .socket_writes
            .iter()
            .rev()
            .take_while(|&&weight| {
                let more = covered < buffered;
                covered = covered.saturating_add(weight);
                more
            })
            .count();
        assert!(
            kept >= self.buffer.len(),
            "trimmed to {kept} writes with {} still in the send buffer",
            self.buffer.len()
        );
        assert!(
            kept <= covering,
            "trimmed to {kept} writes, but the newest {covering} cover the {buffered} bytes buffered"
        );
        self.kept = kept;
    }

    /// The network takes `bytes` from the send buffer; messages wholly sent have left.
    fn drain_buffer(&mut self, mut bytes: u64) {
        while let Some((seq, left)) = self.buffer.front_mut() {
            let take = bytes.min(*left);
            *left -= take;
            bytes -= take;
            if *left > 0 {
                return;
            }
            let seq = *seq;
            self.buffer.pop_front();
            if seq != HEARTBEAT {
                self.leave(seq);
            }
        }
    }

    fn leave(&mut self, seq: u32) {
        let msg = &mut self.msgs[seq as usize];
        assert_eq!(msg.fate, Fate::Buffered, "#{seq} left the browser while {msg:?}");
        msg.fate = Fate::Written;
        if let Some(last) = self.last_left {
            assert!(seq > last, "#{seq} left after #{last}: out of order or twice");
        }
        self.last_left = Some(seq);
    }

    /// Socket `id` ended (`closed`: its close event came) with the buffer as it is, whose
    /// size (`bufferedAmount`) is returned for the driver to report in `handle_closed`. The
    /// machine answers with a Requeued event, checked in `on_event`, or not at all;
    /// `settle_unsent` then checks what happened.
    fn socket_gone(&mut self, id: ConnId, closed: bool) -> u64 {
        let buffered: u64 = self.buffer.iter().map(|(_, left)| left).sum();
        let unsent: Vec<u32> = self
            .buffer
            .drain(..)
            .map(|(seq, _)| seq)
            .filter(|&s| s != HEARTBEAT)
            .collect();
        // A Requeued event for the previous socket would have come first.
        self.settle_unsent();
        self.unsent = Some((unsent, closed));
        let _ = id;
        buffered
    }

    /// After a close event, messages still in the buffer must have been requeued, all of them
    /// (checked in `on_event`). A socket the machine abandoned keeps them, never requeued:
    /// after our close() the browser still sends its buffer before the close frame, so they
    /// may arrive (at-most-once, src/core/machine.rs `abandon`).
    fn settle_unsent(&mut self) {
        let Some((unsent, dead)) = self.unsent.take() else {
            return;
        };
        assert!(
            !dead || unsent.is_empty(),
            "a dead socket ended with {unsent:?} never sent, and they were not requeued"
        );
        for seq in unsent {
            self.leave(seq);
        }
    }

    fn on_event(&mut self, event: Event<u32>) {
        match event {
            Event::Resume { .. } => panic!("a resume event with continuity off"),
            Event::StateChange { from, to } => {
                assert_eq!(from, self.state, "StateChange from a state we were not told of");
                assert_ne!(from, to);
                self.state = to;
                if to == State::Open {
                    self.opened_at = self.now;
                }
                if from == State::Open {
                    self.heartbeat_since = None;
                }
                if to == State::Reconnecting {
                    self.stable_drop =
                        from == State::Open && self.now - self.opened_at >= self.cfg.backoff.min_uptime_ms;
                }
                if self.listeners.send_on_state_change {
                    self.send(1);
                }
                if to == State::Open && self.listeners.reconnect_on_open && !self.reentered {
                    self.reentered = true;
                    self.reconnect();
                }
            }
            Event::Open => {
                if self.m.state() == State::Open && self.live.is_some_and(|(_, p)| p == Phase::Open) {
                    assert_eq!(
                        self.m.queued_messages(),
                        0,
                        "open listeners run before the backlog is written"
                    );
                }
                if self.listeners.send_on_open {
                    self.send(2);
                }
            }
            Event::Close(info) => {
                self.close_events += 1;
                if info.reason == "heartbeat timeout" {
                    let timeout = self.cfg.heartbeat.expect("heartbeat on").timeout_ms;
                    let since = self.heartbeat_since.expect("a heartbeat went unanswered");
                    assert!(
                        self.now >= since + timeout,
                        "heartbeat timeout before {since} + {timeout}"
                    );
                }
                if self.listeners.reconnect_on_close && !self.reentered {
                    self.reentered = true;
                    self.reconnect();
                }
            }
            Event::Error(_) => {
                if self.listeners.close_on_error && !self.reentered {
                    self.reentered = true;
                    self.close(1000, "");
                }
            }
            Event::Reconnecting {
                attempt, delay_ms, ..
            } => {
                let b = &self.cfg.backoff;
                assert!((1..=b.max_retries).contains(&attempt), "attempt {attempt}");
                if self.reentered {
                    // A listener's reconnect() or close() already reset the count under this
                    // event: only the widest bounds apply.
                    let lo = base_delay(b, attempt, true) * (1.0 - b.jitter);
                    let hi = base_delay(b, attempt, false);
                    assert!(
                        delay_ms >= lo - eps(lo) && delay_ms <= hi + eps(hi),
                        "delay {delay_ms}"
                    );
                } else {
                    // The count restarts after a connection that stayed up for minUptime, and
                    // the first retry after one is immediate.
                    if self.stable_drop {
                        self.retries = 0;
                        self.after_stable = true;
                    }
                    assert_eq!(
                        attempt,
                        self.retries + 1,
                        "retry count, after stable: {}",
                        self.after_stable
                    );
                    self.retries = attempt;
                    let base = base_delay(b, attempt, self.after_stable);
                    let lo = base * (1.0 - b.jitter);
                    assert!(
                        delay_ms >= lo - eps(lo) && delay_ms <= base + eps(base),
                        "attempt {attempt}: delay {delay_ms} outside [{lo}, {base}]"
                    );
                }
                self.retry = Some((self.now, delay_ms));
            }
            Event::Requeued { count, bytes } => {
                let (unsent, dead) = self.unsent.take().expect("Requeued with no socket just ended");
                assert!(dead, "requeued the buffer of a socket the machine abandoned");
                assert_eq!(
                    self.close_events + 1,
                    self.ended.len(),
                    "Requeued after the close event of its socket"
                );
                assert_eq!(count, unsent.len(), "requeued {count}, never sent {unsent:?}");
                let sum: u64 = unsent.iter().map(|&seq| self.msgs[seq as usize].bytes).sum();
                assert_eq!(bytes, sum, "requeued bytes");
                for seq in unsent {
                    let msg = &mut self.msgs[seq as usize];
                    assert_eq!(msg.fate, Fate::Buffered, "#{seq} requeued while {msg:?}");
                    msg.fate = Fate::Queued;
                    msg.put_back = true;
                }
            }
            Event::Dropped { payload, reason } => {
                let msg = &mut self.msgs[payload as usize];
                assert!(
                    matches!(msg.fate, Fate::Queued | Fate::DropPending),
                    "#{payload} dropped while {msg:?}"
                );
                let want = if self.disposed {
                    DropReason::Disposed
                } else {
                    DropReason::Overflow
                };
                assert_eq!(reason, want);
                msg.fate = Fate::Dropped;
            }
        }
    }

    // ---- the user ----

    fn send(&mut self, bytes: u64) {
        let seq = self.msgs.len() as u32;
        self.msgs.push(Msg {
            bytes,
            fate: Fate::Sending,
            put_back: false,
        });
        let q = self.cfg.queue;
        // The observer and the command must agree on where a message goes.
        let direct = self.m.writable_socket();
        let outcome = self.m.send(seq, None, |_| bytes);
        assert_eq!(
            direct,
            match outcome {
                SendOutcome::Write(id, _) => Some(id),
                _ => None,
            },
            "writable_socket() disagrees with send()"
        );
        match outcome {
            SendOutcome::Write(id, payload) => {
                assert_eq!(payload, seq);
                self.write(id, seq, false);
            }
            SendOutcome::Queued => {
                self.msgs[seq as usize].fate = Fate::Queued;
                assert!(
                    self.m.queued_messages() <= q.max_messages && self.m.queued_bytes() <= q.max_bytes,
                    "#{seq} accepted beyond the limits"
                );
            }
            SendOutcome::Dropped => {
                assert_ne!(q.overflow, Overflow::Reject);
                self.msgs[seq as usize].fate = Fate::DropPending;
            }
            SendOutcome::Rejected(payload) => {
                assert_eq!((payload, q.overflow), (seq, Overflow::Reject));
                self.msgs[seq as usize].fate = Fate::Rejected;
            }
        }
    }

    fn close(&mut self, code: u16, reason: &str) {
        if !matches!(self.m.state(), State::Closing | State::Closed) {
            self.retries = 0;
        }
        self.user_closed = true;
        self.m.close(self.now, code, reason);
    }

    fn reconnect(&mut self) {
        self.healthy_abandon = true;
        self.explicit_connects += 1;
        self.retries = 0;
        self.after_stable = false;
        self.user_closed = false;
        self.m.reconnect(self.now, 1000, "");
    }

    // ---- the clock ----

    /// The driver's timer fires at `self.now`; if deadlines are still due it fires again.
    fn fire(&mut self) {
        for _ in 0..16 {
            // Open for minUptime: the uptime timer resets the retry count.
            let up = self.now >= self.opened_at + self.cfg.backoff.min_uptime_ms;
            if self.m.state() == State::Open && up {
                self.retries = 0;
                self.after_stable = false;
            }
            // Each firing is a browser task of its own: listeners may act again.
            self.reentered = false;
            self.in_timer = true;
            self.m.handle_timeout(self.now);
            self.drain();
            self.in_timer = false;
            if !self.m.poll_timeout().is_some_and(|t| t <= self.now) {
                return;
            }
        }
        panic!("timers stay due at {}: {:?}", self.now, self.m.poll_timeout());
    }

    fn wait(&mut self, ms: f64) {
        let target = self.now + ms;
        for _ in 0..100_000 {
            match self.m.poll_timeout() {
                Some(t) if t <= target => {
                    self.now = self.now.max(t);
                    self.fire();
                }
                _ => {
                    self.now = self.now.max(target);
                    return;
                }
            }
        }
        panic!("too many timers before {target}");
    }

    fn snapshot(&self) -> impl PartialEq + std::fmt::Debug {
        let m = &self.m;
        (
            m.state(),
            m.current(),
            m.retry_count(),
            m.poll_timeout().map(f64::to_bits),
            m.queued_messages(),
            m.queued_bytes(),
        )
    }

    /// Runs `input`, checking that it changes nothing at all.
    fn expect_no_effect(&mut self, what: &str, input: impl FnOnce(&mut Machine<u32>)) {
        let (before, actions) = (self.snapshot(), self.actions);
        input(&mut self.m);
        self.drain();
        assert_eq!(self.actions, actions, "{what} produced actions");
        assert_eq!(self.snapshot(), before, "{what} changed the machine");
    }

    // ---- a step ----

    fn step(&mut self, input: &Input) {
        self.reentered = false;
        let now = self.now;
        let live = self.live;
        if let (Some(pick), false) = (input.stale, self.ended.is_empty()) {
            let old = self.ended[pick % self.ended.len()];
            let what = format!("{:?} for old {old:?}", input.step);
            match input.step {
                Step::Opened { .. } => self.expect_no_effect(&what, |m| m.handle_opened(old, now, "")),
                Step::Message { reply } => self.expect_no_effect(&what, |m| m.handle_message(old, reply)),
                Step::Closed {
                    code,
                    clean,
                    should_reconnect,
                } => {
                    let info = CloseInfo {
                        code,
                        reason: String::new(),
                        was_clean: clean,
                    };
                    self.expect_no_effect(&what, |m| {
                        m.handle_closed(old, now, info, 0, |_| 1, should_reconnect)
                    })
                }
                Step::Error => self.expect_no_effect(&what, |m| m.handle_error(old)),
                Step::Oversized => self.expect_no_effect(&what, |m| m.handle_oversized(old, now)),
                Step::Drain(bytes) => {
                    self.expect_no_effect(&what, |m| {
                        m.handle_closed(old, now, abnormal_close(), bytes, |_| 1, None)
                    });
                    self.expect_no_effect(&what, |m| m.handle_buffered(old, bytes, |_| 1));
                }
                Step::ConnectFailed => self.expect_no_effect(&what, |m| m.handle_connect_failed(old, now)),
                _ => {}
            }
            self.check();
            return;
        }
        match input.step {
            Step::Opened { closing } => {
                if let Some((id, Phase::Connecting)) = live {
                    let phase = if closing {
                        Phase::ServerClosing
                    } else {
                        Phase::Open
                    };
                    self.live = Some((id, phase));
                    self.m.handle_opened(id, now, "");
                }
            }
            Step::Message { reply } => {
                if let Some((id, Phase::Open | Phase::ClientClosing)) = live {
                    if reply && self.m.state() == State::Open {
                        self.heartbeat_since = None;
                    }
                    self.m.handle_message(id, reply);
                }
            }
            Step::Closed {
                code,
                clean,
                should_reconnect,
            } => {
                if let Some((id, _)) = live {
                    self.live = None;
                    self.ended.push(id);
                    let buffered = self.socket_gone(id, true);
                    let info = CloseInfo {
                        code,
                        reason: "server".into(),
                        was_clean: clean,
                    };
                    let msgs = &self.msgs;
                    self.m
                        .handle_closed(id, now, info, buffered, |&p| size_of(msgs, p), should_reconnect);
                }
            }
            Step::Error => {
                if let Some((id, _)) = live {
                    self.m.handle_error(id);
                }
            }
            Step::ConnectFailed => {
                if let Some((id, Phase::Connecting)) = live {
                    self.live = None;
                    self.ended.push(id);
                    self.m.handle_connect_failed(id, now);
                }
            }
            Step::ServerStartsClosing => {
                if let Some((id, Phase::Open)) = live {
                    self.live = Some((id, Phase::ServerClosing));
                }
            }
            Step::FireExactly => {
                if let Some(t) = self.m.poll_timeout() {
                    self.now = now.max(t);
                    self.fire();
                }
            }
            Step::FireLate(ms) => {
                if let Some(t) = self.m.poll_timeout() {
                    self.now = now.max(t + ms);
                    self.fire();
                }
            }
            Step::FireEarly(ms) => {
                if let Some(t) = self.m.poll_timeout() {
                    let at = (t - ms).max(now);
                    if at < t {
                        self.now = at;
                        self.expect_no_effect("an early timer", |m| m.handle_timeout(at));
                    }
                }
            }
            Step::Wait(ms) => self.wait(ms),
            // The browser fires online, offline and visibilitychange only on a change.
            Step::Online => {
                if self.offline {
                    self.offline = false;
                    if self.m.state() == State::Reconnecting && self.cfg.reconnect_on_online {
                        self.retries = 0;
                    }
                    self.m.handle_online(now);
                }
            }
            Step::Offline => {
                if !self.offline {
                    self.offline = true;
                    self.m.handle_offline();
                }
            }
            Step::Visible(visible) => {
                if self.hidden == visible {
                    self.hidden = !visible;
                    self.m.handle_visibility(now, visible);
                }
            }
            Step::Drain(bytes) => self.drain_buffer(bytes),
            Step::Oversized => {
                if let Some((id, Phase::Open | Phase::ServerClosing)) = live {
                    self.healthy_abandon = true;
                    self.m.handle_oversized(id, now);
                }
            }
            Step::Send(bytes) => self.send(bytes),
            Step::Burst { count, bytes } => {
                for i in 0..u64::from(count) {
                    self.send((bytes + i) % 48);
                }
            }
            Step::Close { code, reason_len } => self.close(code, &"r".repeat(reason_len)),
            Step::Reconnect => self.reconnect(),
        }
        self.drain();
        self.check();
    }

    // ---- invariants ----

    fn check(&self) {
        let m = &self.m;
        let cfg = &self.cfg;
        // One live socket at most, and it is the one the machine owns.
        assert_eq!(
            m.current(),
            self.live.map(|(id, _)| id),
            "machine and browser disagree"
        );
        assert_eq!(m.state(), self.state, "state changed without a StateChange event");
        let phase = self.live.map(|(_, p)| p);
        let consistent = match m.state() {
            State::Connecting => phase == Some(Phase::Connecting),
            State::Open => matches!(phase, Some(Phase::Open | Phase::ServerClosing)),
            State::Closing => phase == Some(Phase::ClientClosing),
            State::Reconnecting | State::Closed => phase.is_none(),
        };
        assert!(consistent, "state {:?} with socket {:?}", m.state(), self.live);
        assert!(m.retry_count() <= cfg.backoff.max_retries);
        assert_eq!(m.retry_count(), self.retries, "retry count");

        // Timers: finite, never in the past, and armed whenever the machine waits on one.
        let timeout = m.poll_timeout();
        if let Some(t) = timeout {
            assert!(t.is_finite() && t >= self.now, "poll_timeout {t} at {}", self.now);
        }
        let paused = self.offline || (self.hidden && cfg.pause_when_hidden);
        let must_wait = match m.state() {
            State::Closed => {
                assert_eq!(timeout, None, "a timer while closed");
                false
            }
            State::Reconnecting => !paused,
            State::Closing => true,
            State::Open => cfg.heartbeat.is_some(),
            State::Connecting => cfg.connection_timeout_ms.is_finite(),
        };
        if must_wait {
            // (Unless the deadline is beyond what an f64 can hold.)
            let unreachable = cfg.backoff.max_delay_ms.is_infinite() && m.state() == State::Reconnecting;
            assert!(timeout.is_some() || unreachable, "{:?} with no timer", m.state());
        }

        // An unanswered heartbeat never outlives its timeout on an open socket.
        if let (State::Open, Some(h), Some(since)) = (m.state(), cfg.heartbeat, self.heartbeat_since) {
            assert!(
                self.now < since + h.timeout_ms,
                "heartbeat unanswered since {since}, still open"
            );
        }

        // The outbox: what the machine holds is exactly what we think is queued, and within
        // the limits except for messages handed back by handle_unsent.
        let queued: Vec<&Msg> = self.msgs.iter().filter(|msg| msg.fate == Fate::Queued).collect();
        assert_eq!(m.queued_messages(), queued.len(), "queued messages");
        assert_eq!(
            m.queued_bytes(),
            queued.iter().map(|msg| msg.bytes).sum::<u64>(),
            "queued bytes"
        );
        let fresh: Vec<&&Msg> = queued.iter().filter(|msg| !msg.put_back).collect();
        assert!(fresh.len() <= cfg.queue.max_messages, "outbox over max_messages");
        assert!(
            fresh.iter().map(|msg| msg.bytes).sum::<u64>() <= cfg.queue.max_bytes,
            "outbox over max_bytes"
        );
        for (seq, msg) in self.msgs.iter().enumerate() {
            assert!(
                !matches!(msg.fate, Fate::Sending | Fate::DropPending),
                "#{seq} left {msg:?}"
            );
        }
        // Messages in the browser's send buffer are exactly those the model put there, and
        // the machine never keeps more writes in its log than the buffer can account for
        // plus what it logged since its last trim.
        let buffered: Vec<u32> = self
            .buffer
            .iter()
            .map(|&(seq, _)| seq)
            .filter(|&s| s != HEARTBEAT)
            .collect();
        let in_buffer: Vec<u32> = (0..self.msgs.len() as u32)
            .filter(|&seq| self.msgs[seq as usize].fate == Fate::Buffered)
            .collect();
        assert_eq!(buffered, in_buffer, "messages in the send buffer");
        assert!(
            self.buffer.is_empty() || self.live.is_some(),
            "a send buffer with no socket"
        );
        assert!(
            self.unsent.is_none(),
            "a socket's unsent messages were never settled"
        );

        // The in-flight log's bound. The machine asks for a trim when its log reaches
        // max(FIRST_TRIM, 2·k) writes, k being what the previous trim kept, and the driver
        // trims at once; a trim keeps at most the writes covering `bufferedAmount` (checked
        // in `trim`). So after every step the log holds fewer than max(FIRST_TRIM, 2·k)
        // writes (memory O(what the send buffer holds), trims O(1) amortised per write), and
        // none once no socket is open or closing: a socket that ends hands its log back
        // (requeued or forgotten) and the next one starts empty.
        let in_flight = m.in_flight_len();
        match m.state() {
            State::Open | State::Closing => {
                let bound = FIRST_TRIM.max(2 * self.kept);
                assert!(
                    in_flight < bound,
                    "{in_flight} writes in flight, bound {bound} (last trim kept {})",
                    self.kept
                );
                assert!(
                    in_flight >= self.buffer.len(),
                    "{in_flight} writes in flight, {} still in the send buffer",
                    self.buffer.len()
                );
            }
            State::Connecting | State::Reconnecting | State::Closed => {
                assert_eq!(in_flight, 0, "writes in flight with no socket open")
            }
        }

        // Every socket that ended was reported closed exactly once.
        if !self.disposed {
            assert_eq!(
                self.close_events,
                self.ended.len(),
                "close events vs sockets ended"
            );
        }
    }

    /// Ends the run: either the backlog goes out on a fresh connection, or the socket is freed.
    /// Either way every message ends up written, dropped or rejected: none is lost.
    fn finish(&mut self, dispose: bool) {
        self.listeners = Listeners::NONE;
        self.reentered = false;
        if dispose {
            self.disposed = true;
            self.healthy_abandon = true;
            self.m.dispose();
            self.drain();
            assert_eq!(self.m.poll_timeout(), None);
            assert!(self.live.is_none());
        } else {
            self.reconnect();
            self.drain();
            let (id, _) = self.live.expect("reconnect() connects");
            self.live = Some((id, Phase::Open));
            self.m.handle_opened(id, self.now, "");
            self.drain();
            self.drain_buffer(u64::MAX);
            self.check();
        }
        assert_eq!(self.m.queued_messages(), 0);
        for (seq, msg) in self.msgs.iter().enumerate() {
            assert!(
                matches!(msg.fate, Fate::Written | Fate::Dropped | Fate::Rejected),
                "#{seq} ends {msg:?}"
            );
        }
    }
}

// ---- generators ----

fn backoff() -> impl Strategy<Value = Backoff> {
    (
        prop_oneof![1 => Just(0.0), 4 => 0.0..3000.0],
        prop_oneof![4 => 0.0..20_000.0, 1 => Just(f64::INFINITY)],
        prop_oneof![1 => Just(1.0), 3 => 1.0..3.0],
        prop_oneof![1 => Just(0.0), 4 => 0.0..10_000.0, 1 => Just(f64::INFINITY)],
        prop_oneof![3 => 0u32..5, 1 => Just(u32::MAX)],
        prop_oneof![Just(0.0), Just(1.0), 0.0..=1.0],
    )
        .prop_map(
            |(min_delay_ms, max_delay_ms, grow_factor, min_uptime_ms, max_retries, jitter)| Backoff {
                min_delay_ms,
                max_delay_ms,
                grow_factor,
                min_uptime_ms,
                max_retries,
                jitter,
            },
        )
}

fn queue_limits() -> impl Strategy<Value = QueueLimits> {
    (
        prop_oneof![Just(usize::MAX), 0usize..6],
        prop_oneof![Just(u64::MAX), 0u64..200, 0u64..=(4 << 20)],
        prop_oneof![
            Just(Overflow::DropOldest),
            Just(Overflow::DropNewest),
            Just(Overflow::Reject)
        ],
    )
        .prop_map(|(max_messages, max_bytes, overflow)| QueueLimits {
            max_messages,
            max_bytes,
            overflow,
        })
}

fn config() -> impl Strategy<Value = Config> {
    (
        backoff(),
        prop_oneof![4 => 1.0..10_000.0, 1 => Just(f64::INFINITY)],
        queue_limits(),
        prop::option::of((50.0..5000.0, 1.0..5000.0)),
        any::<(bool, bool, bool)>(),
    )
        .prop_map(
            |(backoff, connection_timeout_ms, queue, heartbeat, (start_closed, on_online, pause))| Config {
                backoff,
                connection_timeout_ms,
                queue,
                heartbeat: heartbeat.map(|(interval_ms, timeout_ms)| Heartbeat {
                    interval_ms,
                    timeout_ms,
                }),
                start_closed,
                reconnect_on_online: on_online,
                pause_when_hidden: pause,
                max_message_bytes: u64::MAX,
                continuity: None,
            },
        )
}

fn listeners() -> impl Strategy<Value = Listeners> {
    (
        any::<bool>(),
        any::<bool>(),
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.1),
    )
        .prop_map(
            |(send_on_state_change, send_on_open, reconnect_on_close, close_on_error, reconnect_on_open)| {
                Listeners {
                    send_on_state_change,
                    send_on_open,
                    reconnect_on_close,
                    close_on_error,
                    reconnect_on_open,
                }
            },
        )
}

/// A step drawn as plain numbers: `kind` picks the step (the width of each range is its
/// weight), `n` and `x` give its arguments. Much faster to generate and shrink in debug builds
/// than a 16-way `prop_oneof!`; proptest still prints the decoded step.
fn decode(kind: u32, n: u64, x: f64) -> Step {
    match kind {
        0..=4 => Step::Opened { closing: false },
        5 => Step::Opened { closing: true },
        6..=8 => Step::Message { reply: n % 2 == 0 },
        9..=11 => Step::Closed {
            code: n as u16,
            clean: n & (1 << 16) != 0,
            should_reconnect: [None, Some(false), Some(true)][(n >> 17) as usize % 3],
        },
        12 => Step::Error,
        13 => Step::ConnectFailed,
        14 => Step::ServerStartsClosing,
        15..=17 => Step::FireExactly,
        18..=19 => Step::FireLate(x * 5000.0),
        20 => Step::FireEarly(x * 5000.0),
        21..=24 => Step::Wait(if n % 2 == 0 { x * 100.0 } else { x * 20_000.0 }),
        25 => Step::Online,
        26 => Step::Offline,
        27 => Step::Visible(n % 2 == 0),
        // Mostly small messages, sometimes up to 1 MiB.
        28..=35 => Step::Send(if n % 5 == 0 { n % ((1 << 20) + 1) } else { n % 64 }),
        36 => Step::Close {
            code: if n % 2 == 0 {
                1000
            } else {
                3000 + (n % 2000) as u16
            },
            reason_len: (n >> 16) as usize % 124,
        },
        37 => Step::Reconnect,
        38..=40 => Step::Drain(if n % 3 == 0 { u64::MAX } else { n % 4096 }),
        41 => Step::Oversized,
        _ => Step::Burst {
            count: (n % 160) as u32,
            bytes: (n >> 8) % 48,
        },
    }
}

const STEP_KINDS: u32 = 43;

/// One step in ten is a socket event aimed at an old connection (when there is one).
fn input() -> impl Strategy<Value = Input> {
    (
        0..STEP_KINDS,
        any::<u64>(),
        0.0..1.0,
        prop::option::weighted(0.1, any::<usize>()),
    )
        .prop_map(|(kind, n, x, stale)| Input {
            step: decode(kind, n, x),
            stale,
        })
}

// ---- properties ----

/// Runs one case by hand, as proptest would.
fn replay(cfg: Config, listeners: Listeners, steps: &[Step], dispose: bool) {
    let mut sim = Sim::new(cfg, 0, listeners);
    for step in steps {
        sim.step(&Input {
            step: *step,
            stale: None,
        });
    }
    sim.finish(dispose);
}

/// Minimal failing cases the model found, kept as plain tests (the seeds in core_seeds.txt
/// only reproduce while the generators stay the same).
#[test]
fn found_cases_replay() {
    let exact = Config {
        backoff: Backoff {
            jitter: 0.0,
            ..Backoff::default()
        },
        ..Config::default()
    };
    // reconnect() while closing after close() gave no close event for that socket.
    let close = Step::Close {
        code: 1000,
        reason_len: 0,
    };
    replay(
        exact.clone(),
        Listeners::NONE,
        &[Step::Opened { closing: false }, close, Step::Reconnect],
        false,
    );
    // minUptime = Infinity armed an infinite deadline (setTimeout(f, Infinity) fires at once).
    let mut cfg = exact.clone();
    cfg.backoff.min_uptime_ms = f64::INFINITY;
    replay(
        cfg,
        Listeners::NONE,
        &[Step::Opened { closing: false }, Step::FireExactly],
        false,
    );
    // A zero minimum delay became the cap once factor^n overflowed.
    let mut cfg = exact;
    cfg.backoff.min_delay_ms = 0.0;
    cfg.backoff.grow_factor = 3.0;
    let fail = [Step::ConnectFailed, Step::FireExactly];
    replay(cfg, Listeners::NONE, &fail.repeat(700), true);
    // An empty message as the 64th write (the first trim): the sim asked for the trim before
    // counting it as sent, though it adds nothing to `bufferedAmount` (a bug of the sim's).
    let mut cfg = Config {
        backoff: Backoff {
            min_delay_ms: 0.0,
            max_delay_ms: 0.0,
            grow_factor: 1.0,
            jitter: 0.0,
            ..Backoff::default()
        },
        connection_timeout_ms: 768.0,
        ..Config::default()
    };
    cfg.queue.max_messages = usize::MAX;
    cfg.queue.max_bytes = u64::MAX;
    let listeners = Listeners {
        send_on_state_change: true,
        send_on_open: true,
        reconnect_on_close: true,
        ..Listeners::NONE
    };
    let closed = Step::Closed {
        code: 0,
        clean: false,
        should_reconnect: None,
    };
    let mut steps = vec![Step::Wait(17_116.0), Step::FireExactly];
    steps.extend([closed; 4]);
    steps.extend([Step::Send(0), closed]);
    steps.extend([Step::Send(0); 4]);
    steps.extend([
        Step::Opened { closing: false },
        Step::Drain(u64::MAX),
        Step::Send(0),
    ]);
    replay(cfg, listeners, &steps, false);
}

/// Random runs of every input against random valid configs keep every invariant. Driven by
/// hand rather than through `proptest!` to count the cases that really ran: a run that
/// checked fewer than it was asked to (or than [`MIN_CASES`]) fails.
#[test]
fn the_machine_keeps_its_invariants() {
    let runner_config = proptest_config();
    let asked = runner_config.cases;
    let mut runner = TestRunner::new(runner_config);
    let ran = AtomicU32::new(0);
    let strategy = (
        config(),
        any::<u64>(),
        listeners(),
        prop::collection::vec(input(), 0..=200),
        any::<bool>(),
    );
    let result = runner.run(&strategy, |(cfg, seed, listeners, inputs, dispose)| {
        let mut sim = Sim::new(cfg, seed, listeners);
        for input in &inputs {
            sim.step(input);
        }
        sim.finish(dispose);
        ran.fetch_add(1, Ordering::Relaxed);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let ran = ran.into_inner();
    assert!(
        ran >= asked && ran >= MIN_CASES,
        "only {ran} model cases ran ({asked} asked, at least {MIN_CASES} needed)"
    );
}

proptest! {
    #![proptest_config(proptest_config())]

    /// Same seed, config and inputs: the same actions, delays included.
    #[test]
    fn runs_replay_from_their_seed(
        cfg in config(),
        seed in any::<u64>(),
        inputs in prop::collection::vec(input(), 0..60),
    ) {
        let trace = |seed| {
            let mut sim = Sim::new(cfg.clone(), seed, Listeners::NONE);
            sim.trace = Some(vec![]);
            for input in &inputs {
                sim.step(input);
            }
            sim.trace.unwrap()
        };
        prop_assert_eq!(trace(seed), trace(seed));
    }

    /// Delays grow, never shrink, stay within [0, max], and a zero minimum stays zero.
    #[test]
    fn backoff_delays_grow_to_the_cap(b in backoff(), attempts in 1u32..1500) {
        let mut prev = 0.0;
        for n in 1..=attempts {
            let d = base_delay(&b, n, false);
            prop_assert!(!d.is_nan() && d >= prev && d <= b.max_delay_ms, "attempt {}: {} after {}", n, d, prev);
            if b.min_delay_ms == 0.0 {
                prop_assert_eq!(d, 0.0);
            }
            // After a stable connection the first retry is immediate, then the table resumes.
            let stable = base_delay(&b, n, true);
            prop_assert_eq!(stable, if n == 1 { 0.0 } else { base_delay(&b, n - 1, false) });
            prev = d;
        }
    }

    /// Jitter removes at most the `jitter` fraction of a delay.
    #[test]
    fn jitter_stays_in_bounds(delay in 0.0..1e7, jitter in 0.0..=1.0, random in 0.0..1.0) {
        let d = jittered(delay, jitter, random);
        prop_assert!(d <= delay && d >= delay * (1.0 - jitter) - eps(delay));
    }

    /// close() takes 1000 or 3000-4999 and a reason of at most 123 UTF-8 bytes, like the browser.
    #[test]
    fn close_arguments_follow_the_browser(code in any::<u16>(), reason in "\\PC{0,60}") {
        let ok = (code == 1000 || (3000..=4999).contains(&code)) && reason.len() <= 123;
        prop_assert_eq!(check_close_args(code, &reason).is_ok(), ok);
    }
}
