#![cfg(not(target_arch = "wasm32"))]
//! Scenario tests of the sans-IO core: one test per rule of `design.md`, each driven through
//! a tiny fake browser and clock (`Driver`). Payloads are `u32` sequence numbers.

use std::collections::BTreeSet;

use tether_ws::core::{
    base_delay, Action, CloseInfo, Config, ConnId, DropReason, ErrorKind, Event, Heartbeat, Machine,
    Overflow, QueueLimits, RetryReason, SendOutcome, State,
};

type A = Action<u32>;
type E = Event<u32>;

const DAY_MS: f64 = 86_400_000.0;

/// A fake browser and clock around a `Machine<u32>`.
struct Driver {
    m: Machine<u32>,
    now: f64,
    /// Actions drained since the last `take()`.
    fresh: Vec<A>,
    /// Every Connect so far, with its time.
    connects: Vec<(f64, ConnId)>,
    /// Sockets that exist in the simulated browser and that the machine still listens to.
    live: BTreeSet<ConnId>,
    /// Of those, the ones asked to close with a handshake (waiting for `handle_closed`).
    closing: BTreeSet<ConnId>,
    /// Sockets the server has started to close: writes to them fail and go back unsent.
    broken: BTreeSet<ConnId>,
    /// Messages written to a socket since the last `written()`.
    wire: Vec<u32>,
    next_seq: u32,
}

impl Driver {
    fn new(cfg: Config) -> Self {
        Self::with_seed(cfg, 1)
    }

    fn with_seed(cfg: Config, seed: u64) -> Self {
        cfg.validate().expect("test config is valid");
        let mut d = Driver {
            m: Machine::new(cfg, seed, 0.0),
            now: 0.0,
            fresh: vec![],
            connects: vec![],
            live: BTreeSet::new(),
            closing: BTreeSet::new(),
            broken: BTreeSet::new(),
            wire: vec![],
            next_seq: 0,
        };
        d.drain();
        d
    }

    /// Carries out every pending action, checking that each one makes sense in the browser.
    fn drain(&mut self) {
        while let Some(a) = self.m.poll_action() {
            match &a {
                Action::Connect { id } => {
                    assert!(
                        self.live.is_empty(),
                        "Connect {id:?} while {:?} is live",
                        self.live
                    );
                    self.live.insert(*id);
                    self.connects.push((self.now, *id));
                }
                Action::SendFrame { .. } => panic!("a protocol frame with continuity off"),
                Action::Close { id, abandon, .. } => {
                    assert!(self.live.contains(id), "Close of {id:?}, which is not live");
                    if *abandon {
                        self.live.remove(id);
                        self.closing.remove(id);
                    } else {
                        self.closing.insert(*id);
                    }
                }
                Action::Flush { id } => {
                    // Pull the backlog one message at a time, as the browser driver does.
                    while let Some((payload, bytes)) = self.m.poll_flush(*id) {
                        if !self.write(*id, payload, bytes) {
                            break;
                        }
                    }
                }
                Action::SendHeartbeat { id } => {
                    assert!(self.live.contains(id), "heartbeat to {id:?}, which is not live");
                }
                Action::Emit(_) => {}
            }
            self.fresh.push(a);
        }
    }

    /// Writes a message to socket `id`, or hands it back if the socket is closing.
    fn write(&mut self, id: ConnId, payload: u32, bytes: u64) -> bool {
        assert!(self.live.contains(&id), "write to {id:?}, which is not live");
        if self.broken.contains(&id) {
            self.m.handle_unsent(id, payload, bytes);
            // The machine must not offer this socket anything more.
            assert_eq!(self.m.writable_socket(), None);
            assert_eq!(self.m.poll_flush(id), None);
            return false;
        }
        self.wire.push(payload);
        true
    }

    /// The messages written since the last call, in order.
    fn written(&mut self) -> Vec<u32> {
        std::mem::take(&mut self.wire)
    }

    /// The actions produced since the last call.
    fn take(&mut self) -> Vec<A> {
        std::mem::take(&mut self.fresh)
    }

    /// The events produced since the last `take()`.
    fn events(&mut self) -> Vec<E> {
        events_of(self.take())
    }

    fn id(&self) -> ConnId {
        self.m.current().expect("the machine owns a socket")
    }

    /// The browser opens the current socket.
    fn open(&mut self) {
        let id = self.id();
        self.m.handle_opened(id, self.now, "");
        self.drain();
        assert_eq!(self.m.state(), State::Open);
    }

    /// The browser reports socket `id` closed, with nothing left in its send buffer.
    fn closed(&mut self, id: ConnId, info: CloseInfo, should_reconnect: Option<bool>) {
        self.closed_buffering(id, info, 0, |_| 0, should_reconnect);
    }

    /// The browser reports socket `id` closed with `buffered` bytes never sent.
    fn closed_buffering(
        &mut self,
        id: ConnId,
        info: CloseInfo,
        buffered: u64,
        size_of: impl FnMut(&u32) -> u64,
        should_reconnect: Option<bool>,
    ) {
        self.live.remove(&id);
        self.closing.remove(&id);
        self.broken.remove(&id);
        self.m
            .handle_closed(id, self.now, info, buffered, size_of, should_reconnect);
        self.drain();
    }

    /// The current socket fails or drops without a handshake (code 1006).
    fn fail(&mut self) {
        let id = self.id();
        self.closed(id, abnormal(), None);
    }

    /// As `fail`, with `buffered` bytes never sent.
    fn fail_buffering(&mut self, buffered: u64, size_of: impl FnMut(&u32) -> u64) {
        let id = self.id();
        self.closed_buffering(id, abnormal(), buffered, size_of, None);
    }

    /// A message arrives on the current socket.
    fn message(&mut self, counts_as_reply: bool) {
        let id = self.id();
        self.m.handle_message(id, counts_as_reply);
        self.drain();
    }

    /// The user sends the next sequence number, `bytes` long.
    fn send(&mut self, bytes: u64) -> (u32, SendOutcome<u32>) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let out = self.m.send(seq, None, |_| bytes);
        if let SendOutcome::Write(id, payload) = out {
            assert_eq!(payload, seq);
            self.write(id, payload, bytes);
        }
        self.drain();
        (seq, out)
    }

    fn close(&mut self, code: u16, reason: &str) {
        self.m.close(self.now, code, reason);
        self.drain();
    }

    fn reconnect(&mut self) {
        self.m.reconnect(self.now, 1000, "");
        self.drain();
    }

    /// Time passes until `t`; the driver's timer fires at each deadline on the way.
    fn advance_to(&mut self, t: f64) {
        for _ in 0..1_000_000 {
            match self.m.poll_timeout() {
                Some(at) if at <= t => {
                    self.now = self.now.max(at);
                    self.m.handle_timeout(self.now);
                    self.drain();
                }
                _ => {
                    self.now = self.now.max(t);
                    return;
                }
            }
        }
        panic!("timers keep firing without time passing");
    }

    fn advance(&mut self, ms: f64) {
        self.advance_to(self.now + ms);
    }

    /// Jumps to the next deadline and fires it; returns how long that took.
    fn fire_next_timer(&mut self) -> f64 {
        let at = self.m.poll_timeout().expect("a timer is armed");
        let waited = at - self.now;
        self.advance_to(at);
        waited
    }

    /// Fails the current attempt and waits for the retry to connect: one failed retry.
    fn fail_and_retry(&mut self) {
        self.fail();
        self.fire_next_timer();
        assert_eq!(self.m.state(), State::Connecting);
    }
}

fn abnormal() -> CloseInfo {
    CloseInfo {
        code: 1006,
        reason: String::new(),
        was_clean: false,
    }
}

fn clean(code: u16, reason: &str) -> CloseInfo {
    CloseInfo {
        code,
        reason: reason.into(),
        was_clean: true,
    }
}

/// Defaults with no jitter, so every delay is exact.
fn exact() -> Config {
    let mut c = Config::default();
    c.backoff.jitter = 0.0;
    c
}

fn with_heartbeat(interval_ms: f64, timeout_ms: f64) -> Config {
    let mut c = exact();
    c.heartbeat = Some(Heartbeat {
        interval_ms,
        timeout_ms,
    });
    c
}

fn events_of(actions: Vec<A>) -> Vec<E> {
    actions
        .into_iter()
        .filter_map(|a| match a {
            Action::Emit(e) => Some(e),
            _ => None,
        })
        .collect()
}

fn connects(actions: &[A]) -> Vec<ConnId> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Connect { id } => Some(*id),
            _ => None,
        })
        .collect()
}

/// The (attempt, delay) of the single `Reconnecting` event among `events`.
fn retry_of(events: &[E]) -> (u32, f64) {
    let retries: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::Reconnecting {
                attempt, delay_ms, ..
            } => Some((*attempt, *delay_ms)),
            _ => None,
        })
        .collect();
    assert_eq!(retries.len(), 1, "one Reconnecting event in {events:?}");
    retries[0]
}

fn dropped(events: &[E]) -> Vec<(u32, DropReason)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Dropped { payload, reason } => Some((*payload, *reason)),
            _ => None,
        })
        .collect()
}

fn close_events(events: &[E]) -> Vec<&CloseInfo> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Close(info) => Some(info),
            _ => None,
        })
        .collect()
}

fn close_approx(got: f64, want: f64) -> bool {
    (got - want).abs() <= 1e-6 * want.abs().max(1.0)
}

const ALL_STATES: [State; 5] = [
    State::Connecting,
    State::Open,
    State::Closing,
    State::Reconnecting,
    State::Closed,
];

/// A driver in state `s`, after one failed attempt (so retry_count is 1 unless closed).
fn in_state(s: State) -> Driver {
    let mut d = Driver::new(exact());
    d.fail_and_retry();
    match s {
        State::Connecting => {}
        State::Open => d.open(),
        State::Closing => {
            d.open();
            d.close(1000, "bye");
        }
        State::Reconnecting => d.fail(),
        State::Closed => {
            d.open();
            d.close(1000, "bye");
            let id = d.id();
            d.closed(id, clean(1000, "bye"), None);
        }
    }
    assert_eq!(d.m.state(), s);
    d.take();
    d
}

// ---- connecting and the outbox ----

#[test]
fn connects_at_once_when_created() {
    let mut d = Driver::new(Config::default());
    assert_eq!(d.take(), vec![Action::Connect { id: ConnId(1) }]);
    assert_eq!(d.m.state(), State::Connecting);
    // The connection timeout is armed.
    assert_eq!(d.m.poll_timeout(), Some(4000.0));
}

#[test]
fn start_closed_waits_for_reconnect() {
    let mut c = exact();
    c.start_closed = true;
    let mut d = Driver::new(c);
    assert!(d.take().is_empty());
    assert_eq!(d.m.state(), State::Closed);
    assert_eq!(d.m.poll_timeout(), None);
    // Sends are kept for later.
    assert_eq!(d.send(3).1, SendOutcome::Queued);
    d.advance(DAY_MS);
    assert!(d.take().is_empty(), "nothing happens until reconnect()");

    d.reconnect();
    assert_eq!(connects(&d.take()).len(), 1);
    assert_eq!(d.m.state(), State::Connecting);
    d.open();
    assert_eq!(d.written(), [0]);
}

#[test]
fn open_flushes_the_outbox_in_order_before_the_open_event() {
    let mut d = Driver::new(exact());
    for _ in 0..3 {
        assert_eq!(d.send(1).1, SendOutcome::Queued);
    }
    assert_eq!(d.m.queued_messages(), 3);
    d.take();
    d.open();
    let actions = d.take();
    // The driver carries out the Flush (writing the backlog) before it reaches Open.
    let flush_at = actions
        .iter()
        .position(|a| matches!(a, Action::Flush { .. }))
        .expect("a Flush");
    let open_at = actions
        .iter()
        .position(|a| *a == Action::Emit(Event::Open))
        .expect("an Open event");
    assert!(flush_at < open_at, "flush after Open: {actions:?}");
    assert_eq!(d.written(), [0, 1, 2]);
    assert_eq!(d.m.queued_messages(), 0);
    assert_eq!(d.m.queued_bytes(), 0);
    // Each message goes out once: nothing is written again later.
    d.advance(60_000.0);
    assert!(d.written().is_empty());
}

#[test]
fn a_send_from_a_listener_during_open_goes_behind_the_backlog() {
    // The browser driver runs listeners while it carries out actions, so a statechange
    // listener may send before the Flush is carried out.
    let mut d = Driver::new(exact());
    for _ in 0..3 {
        d.send(1);
    }
    let id = d.id();
    d.m.handle_opened(id, d.now, "");
    let mut wire = vec![];
    while let Some(a) = d.m.poll_action() {
        let listener_sends = match a {
            Action::Flush { id } => {
                while let Some((p, _)) = d.m.poll_flush(id) {
                    wire.push(p);
                }
                None
            }
            Action::Emit(Event::StateChange { to: State::Open, .. }) => Some(10),
            Action::Emit(Event::Open) => Some(11),
            _ => None,
        };
        if let Some(seq) = listener_sends {
            if let SendOutcome::Write(_, p) = d.m.send(seq, None, |_| 1) {
                wire.push(p);
            }
        }
    }
    assert_eq!(wire, [0, 1, 2, 10, 11]);
}

#[test]
fn send_while_open_with_an_empty_outbox_is_transmitted() {
    let mut d = Driver::new(exact());
    d.open();
    let id = d.id();
    let (seq, out) = d.send(10);
    assert_eq!(out, SendOutcome::Write(id, seq));
    assert_eq!(d.m.queued_messages(), 0);
}

#[test]
fn send_while_not_open_is_queued_in_order() {
    let mut d = Driver::new(exact());
    d.fail(); // now reconnecting
    for _ in 0..5 {
        assert_eq!(d.send(2).1, SendOutcome::Queued);
    }
    assert_eq!((d.m.queued_messages(), d.m.queued_bytes()), (5, 10));
    d.fire_next_timer();
    d.open();
    assert_eq!(d.written(), [0, 1, 2, 3, 4]);
}

// ---- backoff ----

#[test]
fn backoff_follows_the_table_without_jitter() {
    let mut d = Driver::new(exact());
    let table = [
        1000.0, 1300.0, 1690.0, 2197.0, 2856.1, 3712.93, 4826.809, 6274.8517, 8157.30721, 10000.0, 10000.0,
        10000.0,
    ];
    for (i, want) in table.into_iter().enumerate() {
        d.fail();
        let (attempt, delay) = retry_of(&d.events());
        assert_eq!(attempt, i as u32 + 1);
        assert!(close_approx(delay, want), "attempt {attempt}: {delay} != {want}");
        assert_eq!(d.m.retry_count(), attempt);
        // The retry connects exactly when the delay is over, not before.
        let start = d.now;
        d.advance_to(start + want * 0.999);
        assert!(
            connects(&d.take()).is_empty(),
            "attempt {attempt} connected early"
        );
        assert!(close_approx(d.fire_next_timer(), want * 0.001));
        assert_eq!(connects(&d.take()).len(), 1);
    }
}

#[test]
fn jitter_keeps_each_delay_between_half_and_all_of_it() {
    let cfg = Config::default(); // jitter 0.5
    let (mut lowest, mut highest) = (f64::MAX, 0.0f64);
    for seed in 0..300 {
        let mut d = Driver::with_seed(cfg.clone(), seed);
        for attempt in 1..=8 {
            d.fail();
            let (n, delay) = retry_of(&d.events());
            assert_eq!(n, attempt);
            let base = base_delay(&cfg.backoff, attempt, false);
            assert!(
                delay >= base * 0.5 && delay <= base,
                "seed {seed} attempt {attempt}: {delay}"
            );
            // The timer waits exactly the jittered delay that was announced.
            assert!(close_approx(d.fire_next_timer(), delay));
            if attempt == 1 {
                lowest = lowest.min(delay);
                highest = highest.max(delay);
            }
        }
    }
    // And the jitter really spreads the delays over the range.
    assert!(
        lowest < 550.0 && highest > 950.0,
        "first delays in [{lowest}, {highest}]"
    );
}

#[test]
fn same_seed_same_delays() {
    let run = |seed| {
        let mut d = Driver::with_seed(Config::default(), seed);
        (0..5)
            .map(|_| {
                d.fail();
                d.fire_next_timer().to_bits()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(run(7), run(7));
    assert_ne!(run(7), run(8));
}

#[test]
fn first_retry_after_a_connection_open_for_min_uptime_is_immediate() {
    let mut d = Driver::new(exact());
    d.fail_and_retry();
    d.fail_and_retry();
    d.open();
    d.advance(5000.0);
    d.take();
    d.fail();
    assert_eq!(retry_of(&d.events()), (1, 0.0));
    d.advance(0.0);
    assert_eq!(connects(&d.take()).len(), 1, "the retry connects at once");
    // Later failures of the same run follow the table one step later.
    d.fail();
    assert_eq!(retry_of(&d.events()), (2, 1000.0));
    d.fire_next_timer();
    d.fail();
    assert_eq!(retry_of(&d.events()).0, 3);
}

#[test]
fn a_drop_at_min_uptime_is_stable_even_before_the_uptime_timer_fires() {
    let mut d = Driver::new(exact());
    d.fail_and_retry();
    d.fail_and_retry();
    d.open();
    // The driver's timer runs late: the close event is handled first.
    d.now += 5000.0;
    d.take();
    d.fail();
    assert_eq!(retry_of(&d.events()), (1, 0.0));
}

#[test]
fn reconnect_restarts_the_table_even_after_a_stable_connection() {
    let mut d = Driver::new(exact());
    d.open();
    d.advance(5000.0);
    d.fail(); // stable: the first retry is immediate
    d.advance(0.0);
    d.reconnect();
    d.take();
    d.fail();
    assert_eq!(retry_of(&d.events()), (1, 1000.0));
}

#[test]
fn a_connection_open_just_short_of_min_uptime_is_not_stable() {
    let mut d = Driver::new(exact());
    d.open();
    d.advance(4999.0);
    d.take();
    d.fail();
    assert_eq!(retry_of(&d.events()), (1, 1000.0));
}

#[test]
fn retry_count_resets_only_after_min_uptime() {
    let mut d = Driver::new(exact());
    for _ in 0..3 {
        d.fail_and_retry();
    }
    assert_eq!(d.m.retry_count(), 3);
    d.open();
    d.advance(4999.0);
    assert_eq!(d.m.retry_count(), 3, "not yet stable");
    d.advance(1.0);
    assert_eq!(d.m.retry_count(), 0, "the uptime timer reset it");
}

#[test]
fn a_drop_before_min_uptime_keeps_counting() {
    let mut d = Driver::new(exact());
    d.fail_and_retry();
    d.fail_and_retry();
    d.open();
    d.advance(1000.0);
    d.take();
    d.fail();
    let (attempt, delay) = retry_of(&d.events());
    assert_eq!(attempt, 3);
    assert!(close_approx(delay, 1690.0), "{delay}");
}

#[test]
fn a_zero_min_delay_stays_zero_however_many_retries() {
    // min · factor^(n-1) with min = 0 is 0 for every n, even once factor^(n-1) overflows.
    let mut c = exact();
    c.backoff.min_delay_ms = 0.0;
    c.backoff.grow_factor = 10.0;
    for n in [1, 2, 300, 400, 5000, u32::MAX] {
        assert_eq!(base_delay(&c.backoff, n, false), 0.0, "attempt {n}");
    }
}

#[test]
fn max_retries_gives_up_after_that_many_failed_retries() {
    let mut c = exact();
    c.backoff.max_retries = 3;
    let mut d = Driver::new(c);
    for _ in 0..3 {
        d.fail_and_retry();
    }
    d.take();
    d.fail(); // the third retry fails too
    let events = d.events();
    assert!(
        !events.iter().any(|e| matches!(e, Event::Reconnecting { .. })),
        "{events:?}"
    );
    assert!(events.contains(&Event::StateChange {
        from: State::Connecting,
        to: State::Closed
    }));
    assert_eq!(d.m.state(), State::Closed);
    assert_eq!(d.m.poll_timeout(), None);
    d.advance(DAY_MS);
    assert_eq!(d.connects.len(), 4, "the first attempt and 3 retries");
}

#[test]
fn max_retries_zero_never_retries() {
    let mut c = exact();
    c.backoff.max_retries = 0;
    let mut d = Driver::new(c);
    d.fail();
    assert_eq!(d.m.state(), State::Closed);
    d.advance(DAY_MS);
    assert_eq!(d.connects.len(), 1);
}

// ---- connection timeout ----

#[test]
fn connection_timeout_abandons_the_attempt_and_retries() {
    let mut d = Driver::new(exact());
    let id = d.id();
    d.take();
    d.advance(3999.0);
    assert!(d.take().is_empty());
    d.advance(1.0);
    assert_eq!(
        d.take(),
        vec![
            Action::Close {
                id,
                code: 4000,
                reason: "connection timeout".into(),
                abandon: true
            },
            Action::Emit(Event::Error(ErrorKind::ConnectionTimeout)),
            Action::Emit(Event::Close(CloseInfo {
                code: 1006,
                reason: "connection timeout".into(),
                was_clean: false
            })),
            Action::Emit(Event::StateChange {
                from: State::Connecting,
                to: State::Reconnecting
            }),
            Action::Emit(Event::Reconnecting {
                attempt: 1,
                delay_ms: 1000.0,
                reason: RetryReason::ConnectionTimeout
            }),
        ]
    );
    assert!(d.live.is_empty());
    d.fire_next_timer();
    assert_eq!(connects(&d.take()).len(), 1);
}

#[test]
fn infinite_connection_timeout_waits_for_the_browser() {
    let mut c = exact();
    c.connection_timeout_ms = f64::INFINITY;
    let mut d = Driver::new(c);
    assert_eq!(d.m.poll_timeout(), None);
    d.advance(DAY_MS);
    d.open();
}

// ---- heartbeat ----

#[test]
fn heartbeat_is_sent_every_interval_while_open() {
    let mut d = Driver::new(with_heartbeat(1000.0, 500.0));
    d.open();
    let id = d.id();
    d.take();
    for _ in 0..5 {
        d.advance(999.0);
        assert!(d.take().is_empty());
        d.advance(1.0);
        assert_eq!(d.take(), vec![Action::SendHeartbeat { id }]);
        d.message(true);
    }
}

#[test]
fn no_heartbeat_reply_within_the_timeout_abandons_and_retries() {
    let mut d = Driver::new(with_heartbeat(1000.0, 500.0));
    d.open();
    let id = d.id();
    d.advance(1000.0);
    d.take();
    d.advance(499.0);
    assert!(d.take().is_empty());
    d.advance(1.0);
    let actions = d.take();
    assert!(
        matches!(actions[0], Action::Close { id: i, abandon: true, .. } if i == id),
        "{actions:?}"
    );
    assert!(d.live.is_empty());
    let events = events_of(actions);
    assert_eq!(
        close_events(&events),
        [&CloseInfo {
            code: 1006,
            reason: "heartbeat timeout".into(),
            was_clean: false
        }]
    );
    assert!(events.contains(&Event::Reconnecting {
        attempt: 1,
        delay_ms: 1000.0,
        reason: RetryReason::HeartbeatTimeout
    }));
    d.fire_next_timer();
    assert_eq!(connects(&d.take()).len(), 1);
}

#[test]
fn heartbeat_replies_keep_the_connection_alive_for_hours() {
    let mut d = Driver::new(with_heartbeat(1000.0, 500.0));
    d.open();
    d.take();
    let mut heartbeats = 0;
    while d.now < 3_600_000.0 {
        d.fire_next_timer();
        if d.take().iter().any(|a| matches!(a, Action::SendHeartbeat { .. })) {
            heartbeats += 1;
            d.advance(400.0); // the pong is slow, but in time
            d.message(true);
        }
        assert_eq!(d.m.state(), State::Open);
    }
    assert_eq!(heartbeats, 3600);
    assert_eq!(d.connects.len(), 1);
}

#[test]
fn messages_that_are_not_replies_do_not_satisfy_the_heartbeat() {
    let mut d = Driver::new(with_heartbeat(1000.0, 500.0));
    d.open();
    d.advance(1000.0);
    d.advance(100.0);
    d.message(false);
    d.advance(300.0);
    d.message(false);
    d.take();
    d.advance(100.0);
    assert_eq!(d.m.state(), State::Reconnecting);
    let events = d.events();
    assert_eq!(close_events(&events)[0].reason, "heartbeat timeout");
}

#[test]
fn heartbeat_timeout_counts_from_the_first_unanswered_heartbeat() {
    // Timeout longer than the interval: later heartbeats do not push the deadline back.
    let mut d = Driver::new(with_heartbeat(1000.0, 2500.0));
    d.open();
    d.advance(3499.0);
    assert_eq!(d.m.state(), State::Open);
    d.advance(1.0);
    assert_eq!(d.m.state(), State::Reconnecting);
}

// ---- close() ----

#[test]
fn close_in_any_state_stops_every_retry() {
    for s in ALL_STATES {
        let mut d = in_state(s);
        let before = d.connects.len();
        d.close(1000, "done");
        // The browser never answers the closing handshake: the 5 s timeout ends it.
        d.advance(DAY_MS);
        assert_eq!(d.connects.len(), before, "{s:?}: Connect after close()");
        assert_eq!(d.m.state(), State::Closed, "{s:?}");
        assert_eq!(d.m.poll_timeout(), None, "{s:?}");
        assert!(d.live.is_empty(), "{s:?}: a socket is left live");
        // Nor do later browser events bring it back.
        d.m.handle_online(d.now);
        d.m.handle_visibility(d.now, true);
        d.drain();
        assert_eq!(d.connects.len(), before, "{s:?}: Connect after close()");
    }
}

#[test]
fn close_from_open_waits_for_the_closing_handshake() {
    let mut d = Driver::new(exact());
    d.open();
    let id = d.id();
    d.take();
    d.close(4001, "bye");
    let actions = d.take();
    assert_eq!(
        actions[0],
        Action::Close {
            id,
            code: 4001,
            reason: "bye".into(),
            abandon: false
        }
    );
    assert_eq!(d.m.state(), State::Closing);
    assert!(
        close_events(&d.events()).is_empty(),
        "no close event before the handshake"
    );
    d.advance(4000.0);
    d.closed(id, clean(4001, "bye"), None);
    let events = d.events();
    assert_eq!(close_events(&events), [&clean(4001, "bye")]);
    assert_eq!(d.m.state(), State::Closed);
    assert_eq!(d.m.poll_timeout(), None);
    d.advance(DAY_MS);
    assert_eq!(d.connects.len(), 1);
}

#[test]
fn close_from_open_gives_up_on_the_handshake_after_5_seconds() {
    let mut d = Driver::new(exact());
    d.open();
    let id = d.id();
    d.close(1000, "");
    d.take();
    d.advance(4999.0);
    assert_eq!(d.m.state(), State::Closing);
    d.advance(1.0);
    let actions = d.take();
    assert!(
        matches!(actions[0], Action::Close { id: i, abandon: true, .. } if i == id),
        "{actions:?}"
    );
    // The user still hears the socket closed, without a handshake.
    assert_eq!(close_events(&events_of(actions)), [&abnormal()]);
    assert_eq!(d.m.state(), State::Closed);
    assert_eq!(d.m.poll_timeout(), None);
    // The late close event of the abandoned socket is ignored.
    d.m.handle_closed(id, d.now, clean(1000, ""), 0, |_| 0, None);
    d.drain();
    assert!(d.take().is_empty());
}

#[test]
fn close_while_connecting_reports_the_close_at_once() {
    let mut d = Driver::new(exact());
    let id = d.id();
    d.take();
    d.close(3000, "never mind");
    let actions = d.take();
    assert!(matches!(actions[0], Action::Close { id: i, abandon: true, .. } if i == id));
    assert_eq!(
        close_events(&events_of(actions)),
        [&CloseInfo {
            code: 3000,
            reason: "never mind".into(),
            was_clean: false
        }]
    );
    assert_eq!(d.m.state(), State::Closed);
}

#[test]
fn close_keeps_the_outbox_for_a_later_reconnect() {
    let mut d = Driver::new(exact());
    d.send(1);
    d.close(1000, "");
    assert_eq!(d.m.queued_messages(), 1);
    d.reconnect();
    d.take();
    d.open();
    assert_eq!(d.written(), [0]);
}

// ---- reconnect() ----

#[test]
fn reconnect_from_any_state_connects_once_with_backoff_reset() {
    for s in ALL_STATES {
        let mut d = in_state(s);
        let old = d.m.current();
        d.reconnect();
        let actions = d.take();
        let new = connects(&actions);
        assert_eq!(new.len(), 1, "{s:?}: {actions:?}");
        assert_eq!(d.m.retry_count(), 0, "{s:?}");
        assert_eq!(d.m.state(), State::Connecting, "{s:?}");
        if let Some(old) = old {
            let abandoned = actions
                .iter()
                .any(|a| matches!(a, Action::Close { id, abandon: true, .. } if *id == old));
            assert!(abandoned, "{s:?}: old socket not abandoned: {actions:?}");
        }
        assert_eq!(d.live, BTreeSet::from([new[0]]), "{s:?}");
        // Nothing else connects until this attempt has had its chance.
        d.advance(3999.0);
        assert!(connects(&d.take()).is_empty(), "{s:?}");
    }
}

#[test]
fn reconnect_reports_the_close_of_the_socket_it_drops() {
    // One close event for every socket that ends, including one closing after close().
    for s in [State::Connecting, State::Open, State::Closing] {
        let mut d = in_state(s);
        d.reconnect();
        let events = d.events();
        assert_eq!(close_events(&events).len(), 1, "{s:?}: {events:?}");
    }
    for s in [State::Reconnecting, State::Closed] {
        let mut d = in_state(s);
        d.reconnect();
        assert!(close_events(&d.events()).is_empty(), "{s:?}: already reported");
    }
}

// ---- shouldReconnect ----

#[test]
fn should_reconnect_false_closes_for_good() {
    let mut d = Driver::new(exact());
    d.open();
    let id = d.id();
    d.take();
    d.closed(id, clean(4001, "go away"), Some(false));
    let events = d.events();
    assert_eq!(close_events(&events), [&clean(4001, "go away")]);
    assert!(!events.iter().any(|e| matches!(e, Event::Reconnecting { .. })));
    assert_eq!(d.m.state(), State::Closed);
    assert_eq!(d.m.poll_timeout(), None);
    d.advance(DAY_MS);
    assert_eq!(d.connects.len(), 1);
}

#[test]
fn by_default_even_a_clean_server_close_is_retried() {
    let mut d = Driver::new(exact());
    d.open();
    let id = d.id();
    d.closed(id, clean(1000, "restart"), None);
    assert_eq!(d.m.state(), State::Reconnecting);
    let mut d = Driver::new(exact());
    let id = d.id();
    d.closed(id, clean(1000, ""), Some(true));
    assert_eq!(d.m.state(), State::Reconnecting);
}

// ---- network and visibility ----

#[test]
fn offline_stops_retries_and_online_resumes_at_once_with_backoff_reset() {
    let mut d = Driver::new(exact());
    d.fail_and_retry();
    d.fail_and_retry();
    d.fail();
    assert_eq!(d.m.retry_count(), 3);
    d.m.handle_offline();
    assert_eq!(d.m.poll_timeout(), None);
    d.advance(DAY_MS);
    assert_eq!(d.connects.len(), 3, "no retry while offline");
    d.take();
    d.m.handle_online(d.now);
    d.drain();
    assert_eq!(connects(&d.take()).len(), 1, "online retries at once");
    assert_eq!(d.m.retry_count(), 0);
}

#[test]
fn a_failure_while_offline_waits_for_online() {
    let mut d = Driver::new(exact());
    d.m.handle_offline();
    d.fail();
    assert_eq!(d.m.state(), State::Reconnecting);
    assert_eq!(d.m.poll_timeout(), None);
    d.advance(DAY_MS);
    assert_eq!(d.connects.len(), 1);
    d.m.handle_online(d.now);
    d.drain();
    assert_eq!(d.connects.len(), 2);
}

#[test]
fn without_reconnect_on_online_the_retry_resumes_but_keeps_its_count() {
    let mut c = exact();
    c.reconnect_on_online = false;
    let mut d = Driver::new(c);
    d.fail_and_retry();
    d.fail();
    d.m.handle_offline();
    d.advance(DAY_MS);
    assert_eq!(d.connects.len(), 2);
    d.m.handle_online(d.now);
    d.drain();
    assert_eq!(d.connects.len(), 3, "the cancelled retry is not lost");
    assert_eq!(d.m.retry_count(), 2);
}

#[test]
fn online_while_connected_changes_nothing() {
    let mut d = Driver::new(exact());
    d.open();
    d.take();
    d.m.handle_offline();
    d.m.handle_online(d.now);
    d.drain();
    assert!(d.take().is_empty());
    assert_eq!(d.m.state(), State::Open);
}

#[test]
fn pause_when_hidden_defers_retries_until_visible() {
    let mut c = exact();
    c.pause_when_hidden = true;
    let mut d = Driver::new(c);
    d.m.handle_visibility(d.now, false);
    d.fail();
    assert_eq!(d.m.state(), State::Reconnecting);
    assert_eq!(d.m.poll_timeout(), None);
    d.advance(DAY_MS);
    assert_eq!(d.connects.len(), 1);
    d.m.handle_visibility(d.now, true);
    d.drain();
    assert_eq!(d.connects.len(), 2, "visible resumes at once");
}

#[test]
fn hidden_during_the_wait_holds_the_retry_until_visible() {
    let mut c = exact();
    c.pause_when_hidden = true;
    let mut d = Driver::new(c);
    d.fail();
    d.m.handle_visibility(d.now, false);
    d.advance(DAY_MS);
    assert_eq!(d.connects.len(), 1);
    assert_eq!(d.m.state(), State::Reconnecting);
    d.m.handle_visibility(d.now, true);
    d.drain();
    assert_eq!(d.connects.len(), 2);
}

#[test]
fn hidden_without_pause_when_hidden_changes_nothing() {
    let mut d = Driver::new(exact());
    d.m.handle_visibility(0.0, false);
    d.fail();
    assert_eq!(d.fire_next_timer(), 1000.0);
    assert_eq!(d.connects.len(), 2);
}

// ---- outbox limits ----

fn limited(max_messages: usize, max_bytes: u64, overflow: Overflow) -> Driver {
    let mut c = exact();
    c.start_closed = true; // so every send is queued
    c.queue = QueueLimits {
        max_messages,
        max_bytes,
        overflow,
    };
    Driver::new(c)
}

#[test]
fn drop_oldest_reports_each_evicted_message() {
    let mut d = limited(2, u64::MAX, Overflow::DropOldest);
    for _ in 0..5 {
        assert_eq!(d.send(1).1, SendOutcome::Queued);
    }
    assert_eq!(
        dropped(&d.events()),
        [
            (0, DropReason::Overflow),
            (1, DropReason::Overflow),
            (2, DropReason::Overflow)
        ]
    );
    assert_eq!(d.m.queued_messages(), 2);
    d.reconnect();
    d.open();
    assert_eq!(d.written(), [3, 4]);
}

#[test]
fn drop_newest_reports_the_new_message() {
    let mut d = limited(2, u64::MAX, Overflow::DropNewest);
    d.send(1);
    d.send(1);
    assert_eq!(d.send(1).1, SendOutcome::Dropped);
    assert_eq!(d.send(1).1, SendOutcome::Dropped);
    assert_eq!(
        dropped(&d.events()),
        [(2, DropReason::Overflow), (3, DropReason::Overflow)]
    );
    d.reconnect();
    d.open();
    assert_eq!(d.written(), [0, 1]);
}

#[test]
fn reject_hands_the_message_back() {
    let mut d = limited(2, u64::MAX, Overflow::Reject);
    d.send(1);
    d.send(1);
    assert_eq!(d.send(1).1, SendOutcome::Rejected(2));
    assert!(
        d.events().is_empty(),
        "a rejected message is not reported dropped"
    );
    assert_eq!(d.m.queued_messages(), 2);
}

#[test]
fn byte_limit_counts_bytes() {
    let mut d = limited(usize::MAX, 10, Overflow::DropOldest);
    d.send(4);
    d.send(4);
    assert_eq!(d.m.queued_bytes(), 8);
    d.send(4); // evicts #0
    assert_eq!((d.m.queued_messages(), d.m.queued_bytes()), (2, 8));
    d.send(2); // fits exactly
    assert_eq!(d.m.queued_bytes(), 10);
    // Bigger than the whole budget: it alone is dropped, nothing is evicted for it.
    assert_eq!(d.send(11).1, SendOutcome::Dropped);
    assert_eq!(
        dropped(&d.events()),
        [(0, DropReason::Overflow), (4, DropReason::Overflow)]
    );
    assert_eq!(d.m.queued_bytes(), 10);

    let mut d = limited(usize::MAX, 10, Overflow::Reject);
    d.send(6);
    assert_eq!(d.send(5).1, SendOutcome::Rejected(1));
    assert_eq!(d.send(4).1, SendOutcome::Queued);
    assert_eq!(
        d.send(0).1,
        SendOutcome::Queued,
        "empty messages always fit the byte budget"
    );
}

#[test]
fn max_messages_zero_queues_nothing() {
    let mut d = limited(0, u64::MAX, Overflow::DropOldest);
    assert_eq!(d.send(1).1, SendOutcome::Dropped);
    assert_eq!(dropped(&d.events()), [(0, DropReason::Overflow)]);
    let mut d = limited(0, u64::MAX, Overflow::Reject);
    assert_eq!(d.send(1).1, SendOutcome::Rejected(0));
}

// ---- unsent messages ----

#[test]
fn an_unsent_message_goes_back_ahead_of_later_sends() {
    let mut d = Driver::new(exact());
    d.open();
    let id = d.id();
    // The server has started closing: the write fails and the driver hands the message back.
    d.broken.insert(id);
    let (s0, out) = d.send(3);
    assert_eq!(out, SendOutcome::Write(id, s0));
    assert!(d.written().is_empty());
    let (_, out) = d.send(1);
    assert_eq!(out, SendOutcome::Queued, "later sends queue behind it");
    d.send(1);
    assert_eq!((d.m.queued_messages(), d.m.queued_bytes()), (3, 5));
    d.take();
    d.fail();
    d.fire_next_timer();
    d.open();
    assert_eq!(d.written(), [0, 1, 2]);
}

#[test]
fn a_flush_into_a_closing_socket_keeps_the_rest_in_order() {
    let mut d = Driver::new(exact());
    for _ in 0..4 {
        d.send(1);
    }
    let id = d.id();
    // The socket opens but the server closes it at once: the first write fails.
    d.broken.insert(id);
    d.open();
    assert!(d.written().is_empty());
    assert_eq!(d.m.queued_messages(), 4);
    assert_eq!(d.send(1).1, SendOutcome::Queued);
    d.fail();
    d.fire_next_timer();
    d.open();
    assert_eq!(d.written(), [0, 1, 2, 3, 4]);
}

#[test]
fn unsent_messages_are_kept_beyond_the_limits() {
    let mut d = limited(1, 1, Overflow::Reject);
    d.send(1);
    // A message that was already accepted must not be lost to the limits.
    d.m.handle_unsent(ConnId(99), 77, 5);
    d.drain();
    assert!(d.events().is_empty());
    assert_eq!((d.m.queued_messages(), d.m.queued_bytes()), (2, 6));
    assert_eq!(d.send(1).1, SendOutcome::Rejected(1));
}

// ---- stale ids ----

#[test]
fn inputs_for_an_old_connection_change_nothing() {
    let mut d = Driver::new(with_heartbeat(1000.0, 500.0));
    let old = d.id();
    d.advance(4000.0); // connection timeout: `old` is abandoned
    d.fire_next_timer();
    let snapshot = |m: &Machine<u32>| {
        (
            m.state(),
            m.current(),
            m.retry_count(),
            m.poll_timeout(),
            m.queued_messages(),
        )
    };
    let feed_stale = |d: &mut Driver| {
        d.take();
        let before = snapshot(&d.m);
        d.m.handle_opened(old, d.now, "");
        d.m.handle_message(old, true); // must not count as the heartbeat reply
        d.m.handle_error(old);
        d.m.handle_connect_failed(old, d.now);
        d.m.handle_closed(old, d.now, abnormal(), 0, |_| 0, None);
        d.m.handle_closed(ConnId(12345), d.now, abnormal(), 0, |_| 0, None);
        d.drain();
        assert!(d.take().is_empty());
        assert_eq!(snapshot(&d.m), before);
    };
    // While the new attempt is connecting (a late open of the old one must not count)...
    feed_stale(&mut d);
    assert_eq!(d.m.state(), State::Connecting);
    // ...and once it is open with a heartbeat out.
    d.open();
    d.advance(1000.0);
    feed_stale(&mut d);
    d.advance(500.0);
    assert_eq!(d.m.state(), State::Reconnecting, "the heartbeat was not answered");
}

// ---- dispose ----

#[test]
fn dispose_reports_every_queued_message_dropped_and_stops_all_timers() {
    let mut d = Driver::new(with_heartbeat(1000.0, 500.0));
    for _ in 0..3 {
        d.send(1);
    }
    let id = d.id();
    d.take();
    d.m.dispose();
    d.drain();
    let actions = d.take();
    assert!(matches!(actions[0], Action::Close { id: i, abandon: true, .. } if i == id));
    assert_eq!(
        dropped(&events_of(actions)),
        [
            (0, DropReason::Disposed),
            (1, DropReason::Disposed),
            (2, DropReason::Disposed)
        ]
    );
    assert_eq!(d.m.poll_timeout(), None);
    assert_eq!(d.m.queued_messages(), 0);
    assert!(d.live.is_empty());
    d.advance(DAY_MS);
    assert!(d.take().is_empty());
}

#[test]
fn dispose_while_open_with_heartbeat_leaves_no_timer() {
    let mut d = Driver::new(with_heartbeat(1000.0, 500.0));
    d.open();
    d.advance(1000.0);
    d.m.dispose();
    d.drain();
    assert_eq!(d.m.poll_timeout(), None);
    assert!(d.live.is_empty());
}

// ---- timers ----

#[test]
fn infinite_min_uptime_or_max_delay_never_arms_an_infinite_timer() {
    // A browser setTimeout(f, Infinity) fires at once: an infinite deadline must read as "none".
    let mut c = exact();
    c.backoff.min_uptime_ms = f64::INFINITY;
    let mut d = Driver::new(c);
    d.open();
    assert_eq!(d.m.poll_timeout(), None);

    // No cap: the second delay overflows to infinity.
    let mut c = exact();
    c.backoff.min_delay_ms = 1e308;
    c.backoff.grow_factor = 10.0;
    c.backoff.max_delay_ms = f64::INFINITY;
    c.connection_timeout_ms = f64::INFINITY;
    let mut d = Driver::new(c);
    d.fail();
    assert_eq!(d.fire_next_timer(), 1e308);
    d.take();
    d.fail();
    assert_eq!(retry_of(&d.events()).1, f64::INFINITY);
    assert_eq!(d.m.state(), State::Reconnecting);
    assert_eq!(d.m.poll_timeout(), None);
    // reconnect() still works.
    d.reconnect();
    assert_eq!(d.m.state(), State::Connecting);
}

#[test]
fn an_early_timer_call_does_nothing() {
    let mut d = Driver::new(exact());
    d.fail();
    d.take();
    let at = d.m.poll_timeout().unwrap();
    d.m.handle_timeout(at - 1.0);
    d.drain();
    assert!(d.take().is_empty());
    assert_eq!(d.m.poll_timeout(), Some(at));
}

// ---- messages that never left the browser ----

/// Sends `sizes` on the open socket, telling the machine each write as the driver does.
fn send_logged(d: &mut Driver, sizes: &[u64]) -> Vec<u32> {
    sizes
        .iter()
        .map(|&bytes| {
            let (seq, out) = d.send(bytes);
            let SendOutcome::Write(id, payload) = out else {
                panic!("{seq} not written: {out:?}")
            };
            d.m.handle_written(id, payload, None);
            seq
        })
        .collect()
}

fn requeued(events: &[E]) -> Vec<(usize, u64)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Requeued { count, bytes } => Some((*count, *bytes)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_drop_requeues_the_messages_still_buffered_ahead_of_the_backlog() {
    let mut d = Driver::new(exact());
    d.open();
    // Sizes 10, 20, 30: 35 bytes never left, so #2 entirely and #1 partly: both go again.
    let sent = send_logged(&mut d, &[10, 20, 30]);
    d.written();
    d.take();
    d.fail_buffering(35, |seq| [10, 20, 30][*seq as usize]);
    let events = d.events();
    assert_eq!(requeued(&events), [(2, 50)]);
    // Reported before the close event of that socket.
    let at = |want: fn(&E) -> bool| events.iter().position(want).unwrap();
    assert!(at(|e| matches!(e, Event::Requeued { .. })) < at(|e| matches!(e, Event::Close(_))));
    assert_eq!(d.m.queued_messages(), 2);
    // A message sent while down queues behind them; all go out in order on the next socket.
    let (later, _) = d.send(5);
    d.fire_next_timer();
    d.open();
    assert_eq!(d.written(), [sent[1], sent[2], later]);
}

#[test]
fn direct_writes_are_granted_only_while_a_send_would_be_written_and_are_requeued_like_any() {
    let mut d = Driver::new(exact());
    // Not open: every send must ask.
    assert_eq!(d.m.direct_writes(), 0);
    d.open();
    let id = d.id();
    // Open, nothing queued: up to the first trim of the in-flight log without asking.
    let grant = d.m.direct_writes();
    assert_eq!(grant, 64);
    // The driver writes three (payloads 100..=102, 10 bytes each) and reports them later,
    // in order: the machine knows them as if `send` had said Write for each.
    let asked: Vec<bool> = (100..103).map(|p| d.m.handle_written(id, p, None)).collect();
    assert_eq!(asked, [false; 3]);
    assert_eq!(d.m.direct_writes(), grant - 3);
    // Something queued (a socket that refused a write): no grant until the outbox is empty.
    let held = 200;
    assert_eq!(d.m.send(held, None, |_| 10), SendOutcome::Write(id, held));
    d.m.handle_unsent(id, held, 10);
    assert_eq!(d.m.direct_writes(), 0);
    // The socket dies with 15 bytes unsent: the last two direct writes go back, ahead of it.
    d.take();
    d.fail_buffering(15, |_| 10);
    assert_eq!(requeued(&d.events()), [(2, 20)]);
    assert_eq!(d.m.queued_messages(), 3);
    assert_eq!(d.m.direct_writes(), 0);
    d.fire_next_timer();
    d.open();
    assert_eq!(d.written(), [101, 102, held]);
    assert_eq!(d.m.direct_writes(), 64, "a new socket, a new log");
}

#[test]
fn nothing_buffered_means_nothing_requeued() {
    let mut d = Driver::new(exact());
    d.open();
    send_logged(&mut d, &[10, 20]);
    d.take();
    d.fail_buffering(0, |_| unreachable!("nothing needs sizing"));
    assert_eq!(requeued(&d.events()), []);
    assert_eq!(d.m.queued_messages(), 0);
}

#[test]
fn a_healthy_socket_let_go_keeps_its_buffer_on_the_wire() {
    // reconnect(): the browser sends its buffer before our close frame; resending it would
    // deliver those messages twice.
    let mut d = Driver::new(exact());
    d.open();
    send_logged(&mut d, &[10]);
    let id = d.id();
    d.reconnect();
    // The late close event of the socket let go, with its buffer.
    d.m.handle_closed(id, d.now, abnormal(), 10, |_| 10, None);
    d.drain();
    assert_eq!(requeued(&d.events()), []);
    assert_eq!(d.m.queued_messages(), 0);
}

#[test]
fn a_dead_heartbeat_abandons_the_socket_without_requeuing_its_buffer() {
    let mut d = Driver::new(with_heartbeat(1000.0, 500.0));
    d.open();
    send_logged(&mut d, &[8, 8]);
    let id = d.id();
    d.advance(1000.0);
    d.m.handle_heartbeat_written(id, u32::MAX);
    d.take();
    // Even if a driver reports the buffer of the socket it let go: after our close() the
    // browser may still send it (a stalled, not dead, connection did), so requeueing it
    // could duplicate. Without acknowledgements it is at-most-once.
    d.m.handle_timeout(d.now + 500.0);
    let size_of = |seq: &u32| if *seq == u32::MAX { 4 } else { 8 };
    d.m.handle_closed(id, d.now, abnormal(), 12, size_of, None);
    d.drain();
    let events = d.events();
    assert_eq!(requeued(&events), []);
    assert_eq!(close_events(&events)[0].reason, "heartbeat timeout");
    assert_eq!(d.m.queued_messages(), 0);
    assert_eq!(
        d.m.in_flight_len(),
        0,
        "the abandoned socket's writes are forgotten"
    );
}

#[test]
fn a_too_big_message_closes_as_1009_and_retries() {
    let mut d = Driver::new(exact());
    d.open();
    d.take();
    let id = d.id();
    d.m.handle_oversized(id, d.now);
    d.drain();
    let actions = d.take();
    assert!(actions
        .iter()
        .any(|a| matches!(a, Action::Close { id: c, code: 4000, abandon: true, .. } if *c == id)));
    let events = events_of(actions);
    assert!(events.contains(&Event::Error(ErrorKind::MessageTooBig)));
    let close = close_events(&events)[0];
    assert_eq!((close.code, close.reason.as_str()), (1009, "message too big"));
    let reason = events.iter().find_map(|e| match e {
        Event::Reconnecting { reason, .. } => Some(*reason),
        _ => None,
    });
    assert_eq!(reason, Some(RetryReason::MessageTooBig));
    assert_eq!(d.m.state(), State::Reconnecting);
}

#[test]
fn map_payload_turns_only_the_payload() {
    let dropped: Event<u32> = Event::Dropped {
        payload: 7,
        reason: DropReason::Overflow,
    };
    assert_eq!(
        dropped.map_payload(|n| n * 2),
        Event::Dropped {
            payload: 14,
            reason: DropReason::Overflow
        }
    );
    let others: [Event<u32>; 4] = [
        Event::Open,
        Event::Error(ErrorKind::Socket),
        Event::StateChange {
            from: State::Connecting,
            to: State::Open,
        },
        Event::Requeued { count: 2, bytes: 9 },
    ];
    for e in others {
        let before = format!("{e:?}");
        assert_eq!(format!("{:?}", e.map_payload(|_| 0u8)), before);
    }
}
