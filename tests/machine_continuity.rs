#![cfg(not(target_arch = "wasm32"))]
//! The connection machine with continuity on, natively, against the server engine: a small
//! driver that does what both real drivers do (src/core/mod.rs, the driver contract) over a
//! simulated link, with sockets that can be cut. The rules the machine adds on top of the
//! protocol's engines: `open` only after the `welcome`, sends queued until then, the window,
//! the replay after a resume, a lost session reported, a server without the protocol
//! (plain, selecting it without a welcome, breaking it).

mod page_storage;

use std::collections::VecDeque;

use page_storage::PageStorage;

use tether_ws::core::continuity::{
    Inbound, RestoreError, SavedSession, ServerConfig, Sessions, Transmit, Window, PING,
};
use tether_ws::core::{
    Action, CloseInfo, Config, ConnId, Continuity, ErrorKind, Event, Heartbeat, Machine, RetryReason,
    SendOutcome, SessionStart, State,
};

type E = Event<u32>;

/// A client machine, a server engine, and the frames in flight between them.
struct Link {
    m: Machine<u32>,
    cfg: Config,
    /// The page's storage.
    storage: PageStorage,
    reloads: u64,
    server: Sessions<u32>,
    now: f64,
    /// The machine's socket, with the subprotocol its server selects, and whether the
    /// server speaks the protocol at all.
    socket: Option<ConnId>,
    protocol: &'static str,
    speaks: bool,
    /// The server's `welcome` loses its `"ping":true` on the way (a server that does not
    /// answer pings).
    no_pongs: bool,
    /// The session, once welcomed.
    sid: Option<String>,
    /// Flush actions are kept here instead of carried out (to act in between).
    held_flushes: Option<Vec<ConnId>>,
    /// Flush actions the machine asked for.
    flushes: usize,
    /// How each attempt's opening handshake goes.
    handshake: Handshake,
    /// Whether each attempt offered the protocol.
    offers: Vec<bool>,
    to_server: VecDeque<Vec<u8>>,
    to_client: VecDeque<Vec<u8>>,
    /// What the server's application received, and what the client's did.
    at_server: Vec<u32>,
    at_client: Vec<u32>,
    events: Vec<E>,
    connects: usize,
    closes: Vec<u16>,
}

/// How a connection attempt's opening handshake goes.
#[derive(Clone, Copy)]
enum Handshake {
    Opens,
    /// The browser fails it (as it does when the server selects none of the offered
    /// subprotocols).
    Fails,
    /// It opens speaking the protocol, and the server closes before its `welcome`.
    ClosesBeforeWelcome,
}

fn continuity(required: bool, window: u32) -> Config {
    Config {
        continuity: Some(Continuity {
            required,
            window,
            ..Continuity::default()
        }),
        ..Config::default()
    }
}

fn frame(header: (u64, u64), n: u32) -> Vec<u8> {
    format!("D{},{};{n}", header.0, header.1).into_bytes()
}

impl Link {
    fn new(cfg: Config) -> Self {
        Link::with_server(cfg, ServerConfig::default())
    }

    fn with_server(cfg: Config, server: ServerConfig) -> Self {
        let mut l = Link {
            m: Machine::new(cfg.clone(), 7, 0.0),
            cfg,
            storage: PageStorage::default(),
            reloads: 0,
            server: Sessions::new(server),
            now: 0.0,
            socket: None,
            protocol: "tether.v1",
            speaks: true,
            no_pongs: false,
            sid: None,
            held_flushes: None,
            flushes: 0,
            handshake: Handshake::Opens,
            offers: Vec::new(),
            to_server: VecDeque::new(),
            to_client: VecDeque::new(),
            at_server: Vec::new(),
            at_client: Vec::new(),
            events: Vec::new(),
            connects: 0,
            closes: Vec::new(),
        };
        l.drive();
        l
    }

    /// Carries out the machine's actions, as a driver does.
    fn drive(&mut self) {
        while let Some(a) = self.m.poll_action() {
            match a {
                Action::Connect { id } => {
                    self.connects += 1;
                    self.socket = Some(id);
                    self.m.handle_socket_created(id);
                    let offered = self.m.offers_continuity();
                    self.offers.push(offered);
                    let protocol = if offered { self.protocol } else { "" };
                    let closed = |code| CloseInfo {
                        code,
                        reason: String::new(),
                        was_clean: false,
                    };
                    match self.handshake {
                        Handshake::Opens => self.m.handle_opened(id, self.now, protocol),
                        Handshake::Fails => {
                            self.socket = None;
                            self.m.handle_closed(id, self.now, closed(1006), 0, |_| 1, None);
                        }
                        Handshake::ClosesBeforeWelcome => {
                            self.socket = None;
                            self.m.handle_opened(id, self.now, protocol);
                            self.m.handle_closed(id, self.now, closed(4003), 0, |_| 1, None);
                        }
                    }
                }
                Action::SendFrame { id, text } => self.write(id, text.into_bytes()),
                Action::Flush { .. }
                    if {
                        self.flushes += 1;
                        false
                    } => {}
                Action::Flush { id } if self.held_flushes.is_some() => {
                    self.held_flushes.get_or_insert_with(Vec::new).push(id);
                }
                Action::Flush { id } => {
                    let mut replay = Vec::new();
                    while let Some((seq, ack, &n)) = self.m.poll_replay(id) {
                        replay.push(frame((seq, ack), n));
                    }
                    for f in replay {
                        self.write(id, f);
                    }
                    while let Some((n, size)) = self.m.poll_flush(id) {
                        self.write_message(id, n, Some(size));
                    }
                }
                Action::Close { id, code, .. } => {
                    self.closes.push(code);
                    if self.socket == Some(id) {
                        self.socket = None;
                    }
                }
                Action::SendHeartbeat { .. } => panic!("the heartbeat message would break the protocol"),
                Action::Emit(e) => self.events.push(e),
            }
        }
    }

    /// The server's key for socket `id` (each page numbers its sockets from 1).
    fn key(&self, id: ConnId) -> u64 {
        id.0 + 1_000_000 * self.reloads
    }

    fn write(&mut self, id: ConnId, bytes: Vec<u8>) {
        if self.socket == Some(id) {
            self.to_server.push_back(bytes);
        }
    }

    /// Writes message `n` with its header, then says it went.
    fn write_message(&mut self, id: ConnId, n: u32, size: Option<u64>) {
        match self.m.data_header() {
            Some(h) => {
                // The page's storage keeps it under its session and number until acked.
                if let Some(saved) = self.m.saved_session() {
                    self.storage.keep(&saved.sid, h.0, n);
                }
                self.write(id, frame(h, n));
            }
            None => self.write(id, n.to_string().into_bytes()),
        }
        self.m.handle_written(id, n, size);
        // (Numbered: the record's `last` moved.)
        self.write_through();
    }

    /// What a page writes through after a frame: the session, and only the messages it
    /// still needs.
    fn write_through(&mut self) {
        self.storage.write(self.m.saved_session());
    }

    /// The page reloads without a word to the server: a new machine takes up the saved
    /// session, and its first socket resumes it (superseding the old one, 4001). The
    /// messages still queued (which a page keeps from `send()` on) come along after the
    /// session's own.
    fn reload(&mut self) {
        self.socket = None;
        self.to_server.clear();
        self.to_client.clear();
        self.reloads += 1;
        let mut queued = vec![];
        while let Some(n) = self.m.take_queued() {
            queued.push((n, 1));
        }
        self.m = Machine::new(self.cfg.clone(), 8, self.now);
        match self.storage.take_up(1) {
            Some((saved, mut kept)) => {
                kept.extend(queued);
                self.m.restore_session(saved, kept).expect("what the page wrote");
            }
            // No session yet: the messages go out in the new one.
            None => assert_eq!(self.m.restore_record(b"", queued), Err(RestoreError::Malformed)),
        }
        self.drive();
    }

    fn send(&mut self, n: u32) {
        self.send_sized(n, 1);
    }

    /// Sends message `n`, counted as `size` bytes.
    fn send_sized(&mut self, n: u32, size: u64) {
        if let SendOutcome::Write(id, n) = self.m.send(n, None, |_| size) {
            self.write_message(id, n, None);
        }
        self.drive();
    }

    /// Delivers every frame in flight, both ways, until none is left.
    fn exchange(&mut self) {
        for _ in 0..1000 {
            self.fire_due_timers();
            if self.socket.is_none() || !(self.deliver_one_to_server() || self.deliver_one_to_client()) {
                return;
            }
        }
        panic!("the exchange did not settle");
    }

    /// The next frame in flight to the server arrives (false: none).
    fn deliver_one_to_server(&mut self) -> bool {
        let (Some(id), Some(f)) = (self.socket, self.to_server.pop_front()) else {
            return false;
        };
        if !self.speaks {
            // A plain echo server (the `ws` package's default, say): echoes the hello.
            self.to_client.push_back(f);
            return true;
        }
        let conn = self.key(id);
        match self
            .server
            .handle_frame(conn, &f, true, self.now, &[conn as u8; 32])
        {
            Ok(Inbound::Deliver { payload_at, .. }) => self
                .at_server
                .push(std::str::from_utf8(&f[payload_at..]).unwrap().parse().unwrap()),
            Ok(Inbound::Welcomed { sid, .. }) => self.sid = Some(sid.to_owned()),
            Ok(_) => {}
            Err(e) => panic!("server: {e:?}"),
        }
        self.server_io();
        true
    }

    /// The next frame in flight to the client arrives (false: none).
    fn deliver_one_to_client(&mut self) -> bool {
        let (Some(id), Some(f)) = (self.socket, self.to_client.pop_front()) else {
            return false;
        };
        if let Some(at) = self.m.handle_frame(id, &f, f.len() as u64, true, self.now) {
            self.at_client
                .push(std::str::from_utf8(&f[at..]).unwrap().parse().unwrap());
        }
        self.drive();
        self.write_through();
        true
    }

    /// Timers due now fire (an ack owed at once is one), as the drivers' would.
    fn fire_due_timers(&mut self) {
        if self.m.poll_timeout().is_some_and(|at| at <= self.now) {
            self.m.handle_timeout(self.now);
            self.drive();
            // A deadline still due after its timeout would spin the driver's timer.
            let next = self.m.poll_timeout();
            assert!(next.map_or(true, |at| at > self.now), "{next:?} at {}", self.now);
        }
        if self.server.poll_timeout().is_some_and(|at| at <= self.now) {
            self.server.handle_timeout(self.now);
            self.server_io();
        }
    }

    /// The server's frames, onto the link.
    fn server_io(&mut self) {
        while let Some(t) = self.server.poll_transmit() {
            match t {
                Transmit::Text { text, .. } if self.no_pongs => {
                    self.to_client
                        .push_back(text.replace(",\"ping\":true", "").into_bytes());
                }
                Transmit::Text { text, .. } => self.to_client.push_back(text.into_bytes()),
                Transmit::Data { header, payload, .. } => {
                    let mut b = header.as_bytes().to_vec();
                    b.extend(payload.to_string().into_bytes());
                    self.to_client.push_back(b);
                }
                // A take-over closes the socket the machine gave up on (4001).
                Transmit::Close { conn, .. } if self.socket.map(|s| self.key(s)) != Some(conn) => {}
                Transmit::Close { code, .. } => panic!("server closed with {code}"),
            }
        }
    }

    /// The connection dies with frames in flight; the machine retries after its backoff.
    fn cut(&mut self) {
        let id = self.socket.take().expect("a socket");
        self.to_server.clear();
        self.to_client.clear();
        let key = self.key(id);
        self.server.handle_disconnect(key, self.now);
        let info = CloseInfo {
            code: 1006,
            reason: String::new(),
            was_clean: false,
        };
        self.m.handle_closed(id, self.now, info, 0, |_| 1, None);
        self.drive();
    }

    fn wait(&mut self, ms: f64) {
        self.now += ms;
        self.m.handle_timeout(self.now);
        self.server.handle_timeout(self.now);
        self.server_io();
        self.drive();
    }

    fn starts(&self) -> Vec<SessionStart> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Resume { start, .. } => Some(*start),
                _ => None,
            })
            .collect()
    }
}

#[test]
fn open_comes_after_the_welcome_and_sends_wait_for_it() {
    let mut l = Link::new(continuity(false, 256));
    assert_eq!(l.m.state(), State::Connecting, "socket open, no welcome yet");
    assert!(l.server.is_empty(), "no hello read yet");
    l.send(1);
    assert_eq!(l.m.queued_messages(), 1);
    l.exchange();
    assert!(!l.server.is_empty() && l.server.len() == 1);
    assert_eq!(l.m.state(), State::Open);
    assert_eq!(l.starts(), [SessionStart::New]);
    let at = |want: fn(&E) -> bool| l.events.iter().position(want).unwrap();
    assert!(at(|e| matches!(e, Event::Resume { .. })) < at(|e| matches!(e, Event::Open)));
    l.send(2);
    l.exchange();
    assert_eq!(l.at_server, [1, 2]);
}

#[test]
fn a_cut_resumes_and_replays_what_the_server_had_not_taken() {
    let mut l = Link::new(continuity(false, 256));
    l.exchange();
    for n in 1..=5 {
        l.send(n);
    }
    // Frames 1–5 are in flight when the connection dies.
    l.cut();
    assert_eq!(l.m.state(), State::Reconnecting);
    l.wait(20_000.0);
    l.exchange();
    assert_eq!(l.starts(), [SessionStart::New, SessionStart::Resumed]);
    assert_eq!(l.at_server, [1, 2, 3, 4, 5], "replayed once, in order");
    l.send(6);
    l.exchange();
    assert_eq!(
        l.at_server,
        [1, 2, 3, 4, 5, 6],
        "and not again with the next flush"
    );
}

#[test]
fn the_window_holds_messages_in_the_outbox_until_acks_come() {
    let mut l = Link::new(continuity(false, 2));
    l.exchange();
    for n in 1..=5 {
        l.send(n);
    }
    assert_eq!(l.m.queued_messages(), 3, "two in flight, three waiting");
    l.exchange();
    l.wait(300.0); // the server's delayed ack
    l.exchange();
    l.wait(300.0);
    l.exchange();
    assert_eq!(l.at_server, [1, 2, 3, 4, 5]);
    assert_eq!(l.m.queued_messages(), 0);
}

#[test]
fn a_server_that_lost_the_session_is_reported_and_the_unacked_sent_again() {
    let mut l = Link::new(continuity(false, 256));
    l.exchange();
    l.send(1);
    l.exchange(); // delivered, acked later
    l.send(2);
    l.send(3);
    l.cut();
    l.server = Sessions::new(ServerConfig::default()); // restarted without its state
    l.wait(20_000.0);
    l.exchange();
    let resume = l.events.iter().rev().find_map(|e| match e {
        Event::Resume { start, resent, .. } => Some((*start, *resent)),
        _ => None,
    });
    assert_eq!(
        resume,
        Some((SessionStart::Unknown, 3)),
        "1 was never acked either"
    );
    assert_eq!(
        l.at_server,
        [1, 1, 2, 3],
        "in doubt: 1 was taken twice, and said so"
    );
}

#[test]
fn prefer_without_a_welcome_goes_plain_and_required_fails() {
    for required in [false, true] {
        let mut l = Link::new(continuity(required, 256));
        l.speaks = false; // selects tether.v1, echoes the hello
        l.exchange();
        if required {
            assert!(
                l.events.contains(&Event::Error(ErrorKind::NoContinuity)),
                "{:?}",
                l.events
            );
            assert!(l.events.iter().any(|e| matches!(
                e,
                Event::Reconnecting {
                    reason: RetryReason::NoContinuity,
                    ..
                }
            )));
        } else {
            assert_eq!(l.starts(), [SessionStart::NoWelcome]);
            assert!(
                !l.m.offers_continuity(),
                "the next attempts offer only the app's protocols"
            );
            l.wait(20_000.0);
            assert_eq!(l.m.state(), State::Open, "plain");
            assert_eq!(l.starts(), [SessionStart::NoWelcome, SessionStart::Unsupported]);
        }
        assert_eq!(l.closes, [4002], "closed as a protocol error");
    }
}

#[test]
fn a_server_without_the_protocol_is_plain_under_prefer_and_a_failure_under_required() {
    for required in [false, true] {
        let mut l = Link {
            protocol: "",
            ..Link::new(Config::default())
        };
        l.m = Machine::new(continuity(required, 256), 7, 0.0);
        l.drive();
        if required {
            assert_eq!(l.m.state(), State::Reconnecting);
            assert!(l.events.contains(&Event::Error(ErrorKind::NoContinuity)));
        } else {
            assert_eq!(l.m.state(), State::Open);
            assert_eq!(l.starts(), [SessionStart::Unsupported]);
            l.send(9);
            assert_eq!(
                l.to_server.back().map(Vec::as_slice),
                Some(&b"9"[..]),
                "no header"
            );
        }
    }
}

#[test]
fn garbage_from_the_server_closes_with_4002_and_resumes() {
    let mut l = Link::new(continuity(false, 256));
    l.exchange();
    l.send(1);
    let id = l.socket.unwrap();
    assert_eq!(l.m.handle_frame(id, b"D9,0;gap", 8, true, l.now), None);
    l.drive();
    assert_eq!(l.closes, [4002]);
    assert!(l.events.contains(&Event::Error(ErrorKind::ProtocolError)));
    l.to_server.clear();
    l.server.handle_disconnect(id.0, l.now);
    l.wait(20_000.0);
    l.exchange();
    assert_eq!(l.starts(), [SessionStart::New, SessionStart::Resumed]);
    assert_eq!(l.at_server, [1], "replayed on the next connection");
}

impl Link {
    /// The `attempt` of each `Reconnecting` event so far.
    fn attempts(&self) -> Vec<u32> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Reconnecting { attempt, .. } => Some(*attempt),
                _ => None,
            })
            .collect()
    }

    /// The server breaks the protocol on the current socket; the machine closes it (4002),
    /// and the server sees it go.
    fn protocol_error(&mut self) {
        let id = self.socket.expect("a socket");
        assert_eq!(self.m.handle_frame(id, b"D9,0;gap", 8, true, self.now), None);
        self.drive();
        self.to_server.clear();
        let key = self.key(id);
        self.server.handle_disconnect(key, self.now);
    }
}

#[test]
fn a_protocol_error_on_a_connection_up_for_min_uptime_restarts_the_backoff() {
    let mut cfg = continuity(false, 256);
    cfg.backoff.min_uptime_ms = 5_000.0;
    let mut l = Link::new(cfg);
    l.wait(1_000.0); // (not at 0 ms, where "now − opened" and "now + opened" agree)
    l.exchange();
    l.protocol_error();
    l.wait(20_000.0);
    l.exchange();
    assert_eq!(l.m.state(), State::Open);
    // Soon after opening: the retries go on counting.
    l.protocol_error();
    assert_eq!(l.attempts(), [1, 2]);
    l.wait(20_000.0);
    l.exchange();
    // Up for 6 s (the uptime timer not fired yet): a stable connection, counting restarts.
    l.now += 6_000.0;
    l.protocol_error();
    assert_eq!(l.attempts(), [1, 2, 1]);
}

#[test]
fn a_stale_sockets_frame_is_ignored() {
    let mut l = Link::new(continuity(false, 256));
    l.exchange();
    let old = l.socket.unwrap();
    l.cut();
    l.wait(20_000.0);
    l.exchange();
    assert_ne!(l.socket, Some(old));
    assert_eq!(
        l.m.handle_frame(old, b"D1,0;5", 6, true, l.now),
        None,
        "not delivered"
    );
    let sid = l.sid.clone().unwrap();
    l.server.send(&sid, 1, 1).unwrap();
    l.server_io();
    l.exchange();
    assert_eq!(l.at_client, [1], "the session's numbers were not moved by it");
}

#[test]
fn an_ack_asks_for_a_flush_only_when_the_outbox_has_something_the_window_now_takes() {
    let mut l = Link::new(continuity(false, 2));
    l.exchange();
    l.send(1);
    l.send(2);
    l.send(3); // beyond the window of 2: queued
    assert_eq!(l.m.queued_messages(), 1);
    let before = l.flushes;
    l.exchange(); // the server acks 1 and 2 (half the window): room for 3
    assert_eq!(l.at_server, [1, 2, 3]);
    assert_eq!(l.flushes, before + 1);
    // Acks with nothing queued ask for nothing.
    l.send(4);
    l.wait(1_000.0);
    l.exchange();
    assert_eq!(l.at_server, [1, 2, 3, 4]);
    assert_eq!(l.flushes, before + 1);
}

#[test]
fn falling_back_to_plain_drops_or_resends_the_messages_in_doubt_as_resend_says() {
    for resend in [true, false] {
        let cfg = Config {
            continuity: Some(Continuity {
                resend,
                ..Continuity::default()
            }),
            ..Config::default()
        };
        let mut l = Link::new(cfg);
        l.exchange();
        l.send(1);
        l.send(2);
        // Cut before they arrive; the next server only echoes (it does not speak it).
        l.cut();
        l.speaks = false;
        l.wait(20_000.0);
        l.exchange();
        let resume = l
            .events
            .iter()
            .find_map(|e| match e {
                Event::Resume {
                    start: SessionStart::NoWelcome,
                    resent,
                    dropped,
                } => Some((*resent, *dropped)),
                _ => None,
            })
            .expect("a resume event for the fallback");
        let dropped: Vec<u32> = l
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Dropped { payload, .. } => Some(*payload),
                _ => None,
            })
            .collect();
        if resend {
            assert_eq!(resume, (2, 0));
            assert!(dropped.is_empty());
            assert_eq!(l.m.queued_messages(), 2, "re-sent on the plain connection");
        } else {
            assert_eq!(resume, (0, 2));
            assert_eq!(dropped, [1, 2]);
            assert_eq!(l.m.queued_messages(), 0);
        }
    }
}

#[test]
fn prefer_after_two_failed_handshakes_makes_every_other_attempt_without_the_offer() {
    let attempts = |required: bool, handshake: Handshake| {
        let mut l = Link::new(Config {
            connection_timeout_ms: f64::INFINITY,
            ..continuity(required, 256)
        });
        l.handshake = handshake;
        l.offers.clear();
        l.m.reconnect(l.now, 1000, "");
        l.drive();
        for _ in 0..5 {
            l.wait(20_000.0);
        }
        l.offers
    };
    let (t, f) = (true, false);
    // Maybe over the subprotocol offered: after two failures, every other attempt without.
    assert_eq!(attempts(false, Handshake::Fails), [t, t, f, t, f, t]);
    // Required never goes without; a server that speaks it and closes is not counted.
    assert_eq!(attempts(true, Handshake::Fails), [t, t, t, t, t, t]);
    assert_eq!(
        attempts(false, Handshake::ClosesBeforeWelcome),
        [t, t, t, t, t, t]
    );
}

#[test]
fn the_byte_window_counts_each_message_by_its_size() {
    let mut l = Link::new(Config {
        continuity: Some(Continuity {
            window_bytes: 10,
            ..Continuity::default()
        }),
        ..Config::default()
    });
    l.exchange();
    for n in 1..=3 {
        l.send_sized(n, 8);
    }
    l.exchange();
    assert_eq!(l.at_server, [1], "8 + 8 bytes is over the window of 10");
    assert_eq!(l.m.queued_messages(), 2);
    // The server's delayed ack frees message 1: room for one more 8-byte message.
    l.wait(300.0);
    l.exchange();
    assert_eq!(l.at_server, [1, 2]);
    l.wait(300.0);
    l.exchange();
    assert_eq!(l.at_server, [1, 2, 3]);
}

#[test]
fn acks_owed_are_written_at_once_when_the_page_hides_or_unloads() {
    type Page = fn(&mut Machine<u32>, f64);
    let hide: Page = |m, now| m.handle_visibility(now, false);
    let unload: Page = |m, _| m.handle_unload();
    for (what, page) in [("hidden", hide), ("pagehide", unload)] {
        let mut l = Link::new(continuity(false, 256));
        l.exchange();
        let sid = l.sid.clone().unwrap();
        l.server.send(&sid, 1, 1).unwrap();
        l.server_io();
        l.exchange();
        assert_eq!(l.at_client, [1]);
        assert!(l.to_server.is_empty(), "{what}: the ack waits for its timer");
        page(&mut l.m, l.now);
        l.drive();
        assert_eq!(l.to_server.pop_front().as_deref(), Some(&b"A1"[..]), "{what}");
    }
}

#[test]
fn after_a_drop_the_ack_owed_is_not_a_deadline_any_more() {
    let mut l = Link::new(continuity(false, 256));
    l.exchange();
    let sid = l.sid.clone().unwrap();
    l.server.send(&sid, 1, 1).unwrap();
    l.server_io();
    l.exchange();
    let ack_due = l.m.poll_timeout().expect("the ack's timer");
    assert!(ack_due <= l.now + 250.0);
    l.cut();
    assert_eq!(l.m.state(), State::Reconnecting);
    // Only the retry is left (at least 500 ms away: 1 s less at most 50 % jitter).
    assert!(
        l.m.poll_timeout().is_some_and(|at| at >= l.now + 500.0),
        "{:?}",
        l.m.poll_timeout()
    );
}

#[test]
fn close_sends_bye_first() {
    let mut l = Link::new(continuity(false, 256));
    l.exchange();
    l.m.close(l.now, 1000, "");
    l.drive();
    assert_eq!(
        l.to_server.back().map(Vec::as_slice),
        Some(&br#"{"t":"bye"}"#[..])
    );
    assert_eq!(l.closes, [1000]);
}

#[test]
fn acks_follow_the_smaller_window_so_a_small_one_never_waits_for_the_ack_timer() {
    // Client window 8, server window 256: the client's hello states its 8, so the server
    // acks every 4 at once. (Before: it waited for 128, i.e. for its 250 ms timer.)
    let mut l = Link::new(continuity(false, 8));
    l.exchange();
    for n in 1..=40 {
        l.send(n);
        l.exchange();
    }
    assert_eq!(l.at_server, (1..=40).collect::<Vec<_>>(), "no time passed");

    // Server window 8, client window 256: the welcome states the server's 8, so the client
    // acks every 4 at once.
    let server = ServerConfig {
        window: Window {
            messages: 8,
            bytes: u64::MAX,
        },
        ..ServerConfig::default()
    };
    let mut l = Link::with_server(continuity(false, 256), server);
    l.exchange();
    let sid = l.sid.clone().expect("a session");
    for n in 1..=40 {
        l.server.send(&sid, n, 1).unwrap();
        l.server_io();
        l.exchange();
    }
    assert_eq!(l.at_client, (1..=40).collect::<Vec<_>>(), "no time passed");
}

#[test]
fn the_client_sends_within_the_window_the_welcome_states() {
    let server = ServerConfig {
        window: Window {
            messages: 2,
            bytes: u64::MAX,
        },
        ..ServerConfig::default()
    };
    let mut l = Link::with_server(continuity(false, 256), server);
    l.exchange();
    for n in 1..=3 {
        l.send(n);
    }
    assert_eq!(
        l.m.queued_messages(),
        1,
        "the server's window of 2, not the client's 256"
    );
    assert_eq!(l.to_server.len(), 2);
}

#[test]
fn a_replay_goes_to_its_own_socket_only_and_never_after_bye() {
    let mut l = Link::new(continuity(false, 256));
    l.exchange();
    for n in 1..=3 {
        l.send(n);
    }
    l.cut();
    l.held_flushes = Some(Vec::new());
    l.wait(20_000.0);
    l.exchange();
    assert_eq!(l.starts(), [SessionStart::New, SessionStart::Resumed]);
    let id = l
        .held_flushes
        .as_mut()
        .and_then(Vec::pop)
        .expect("the flush of the replay");
    assert_eq!(
        l.m.poll_replay(ConnId(id.0 + 1)),
        None,
        "another socket has no replay"
    );
    assert_eq!(l.m.poll_replay(id).map(|(seq, _, &n)| (seq, n)), Some((1, 1)));
    // The page closes before writing the rest: bye, and no data after it.
    l.m.close(l.now, 1000, "");
    l.drive();
    assert_eq!(l.m.poll_replay(id), None, "the session is forgotten");
    assert_eq!(l.m.poll_flush(id), None);
}

fn with_heartbeat() -> Config {
    Config {
        heartbeat: Some(Heartbeat {
            interval_ms: 1_000.0,
            timeout_ms: 500.0,
        }),
        ..continuity(false, 256)
    }
}

impl Link {
    /// The ping frames in flight to the server.
    fn pings(&self) -> usize {
        self.to_server
            .iter()
            .filter(|f| f.as_slice() == PING.as_bytes())
            .count()
    }

    fn heartbeat_timeouts(&self) -> usize {
        self.events
            .iter()
            .filter(|e| {
                matches!(
                    e,
                    Event::Reconnecting {
                        reason: RetryReason::HeartbeatTimeout,
                        ..
                    }
                )
            })
            .count()
    }
}

#[test]
fn the_heartbeat_of_a_session_is_the_protocols_ping_and_its_pong_keeps_it_alive() {
    let mut l = Link::new(with_heartbeat());
    l.exchange();
    assert_eq!(l.m.state(), State::Open);
    for round in 1..=5 {
        l.wait(1_000.0);
        assert_eq!(l.pings(), 1, "round {round}: one ping, not the heartbeat message");
        // The server engine answers it (a plain message would be a protocol error there).
        l.exchange();
        l.wait(600.0);
        assert_eq!(l.m.state(), State::Open, "round {round}: the pong was the reply");
    }
    assert!(
        l.at_server.is_empty() && l.at_client.is_empty(),
        "no ping or pong delivered"
    );
    assert!(l.closes.is_empty());
}

#[test]
fn a_session_whose_server_stops_answering_pings_is_given_up_and_resumed() {
    let mut l = Link::new(with_heartbeat());
    l.exchange();
    l.send(1);
    l.wait(1_000.0);
    assert_eq!(l.pings(), 1);
    // Nothing arrives from the server any more: the ping and message 1 vanish.
    l.to_server.clear();
    l.wait(499.0);
    assert_eq!(l.m.state(), State::Open, "within the timeout");
    l.wait(2.0);
    assert_eq!(l.heartbeat_timeouts(), 1);
    assert_eq!(l.closes, [4000]);
    // The next connection resumes the session and replays message 1.
    l.wait(20_000.0);
    l.exchange();
    assert_eq!(l.starts(), [SessionStart::New, SessionStart::Resumed]);
    assert_eq!(l.at_server, [1]);
}

#[test]
fn any_frame_of_the_session_is_the_heartbeats_reply() {
    let mut l = Link::new(with_heartbeat());
    l.exchange();
    l.wait(1_000.0);
    // The ping is lost, but the server's data keeps coming.
    l.to_server.clear();
    let sid = l.sid.clone().expect("a session");
    l.server.send(&sid, 7, 1).unwrap();
    l.server_io();
    l.exchange();
    l.wait(600.0);
    assert_eq!(l.m.state(), State::Open);
    assert_eq!(l.at_client, [7]);
    assert_eq!(l.heartbeat_timeouts(), 0);
}

#[test]
fn a_server_that_does_not_say_it_answers_pings_is_sent_none() {
    let mut l = Link::new(with_heartbeat());
    l.no_pongs = true;
    l.exchange();
    assert_eq!(l.m.state(), State::Open);
    for _ in 0..10 {
        l.wait(1_000.0);
        assert_eq!(l.pings(), 0);
        assert_eq!(l.m.state(), State::Open, "no ping, so no reply awaited");
    }
    assert_eq!(l.heartbeat_timeouts(), 0);
}

#[test]
fn a_reloaded_page_takes_up_its_session_from_storage() {
    let mut l = Link::new(continuity(false, 8));
    l.exchange();
    let sid = l.sid.clone().unwrap();
    for n in 1..=3 {
        l.send(n);
    }
    for n in 101..=103 {
        l.server.send(&sid, n, 3).unwrap();
    }
    l.server_io();
    assert!(l.deliver_one_to_server() && l.deliver_one_to_server()); // the server takes #1 and #2
    assert!(l.deliver_one_to_client() && l.deliver_one_to_client()); // the page delivers 101 and 102
    assert_eq!(
        (l.at_server.clone(), l.at_client.clone()),
        (vec![1, 2], vec![101, 102])
    );
    let saved = l.storage.saved.clone().unwrap();
    assert_eq!((saved.sid.as_str(), saved.rx, saved.acked), (sid.as_str(), 2, 0));
    assert_eq!(l.storage.messages.len(), 3, "#1 to #3 kept until acked");
    l.reload();
    l.exchange();
    assert_eq!(
        l.starts(),
        [SessionStart::New, SessionStart::Resumed],
        "the new page resumed it"
    );
    assert_eq!(l.at_server, [1, 2, 3], "each once, in order");
    assert_eq!(l.at_client, [101, 102, 103]);
    assert_eq!(l.closes, [] as [u16; 0]);
    l.send(4);
    l.exchange();
    l.wait(1000.0);
    l.exchange();
    assert_eq!(l.at_server, [1, 2, 3, 4], "numbered on from the restored log");
    assert!(
        l.storage.messages.is_empty(),
        "all acked: {:?}",
        l.storage.messages
    );
}

#[test]
fn reloads_in_a_row_lose_and_repeat_nothing_either_way() {
    let mut l = Link::new(continuity(false, 8));
    l.exchange();
    let sid = l.sid.clone().unwrap();
    for round in 0..50u32 {
        l.send(2 * round + 1);
        l.send(2 * round + 2);
        l.server.send(&sid, 1000 + round, 4).unwrap();
        l.server_io();
        l.deliver_one_to_server();
        l.deliver_one_to_client();
        l.reload();
        l.exchange();
    }
    l.wait(1000.0);
    l.exchange();
    assert_eq!(l.at_server, (1..=100).collect::<Vec<_>>());
    assert_eq!(l.at_client, (1000..1050).collect::<Vec<_>>());
    let starts = l.starts();
    assert_eq!(starts.len(), 51);
    assert!(
        starts[1..].iter().all(|s| *s == SessionStart::Resumed),
        "{starts:?}"
    );
}

#[test]
fn messages_not_yet_sent_survive_a_reload_after_the_sessions_own() {
    // Before any welcome: nothing numbered, no record; the queued ones go out in the session
    // the new page begins.
    let mut l = Link::new(continuity(false, 8));
    l.send(1);
    l.send(2);
    l.reload();
    l.exchange();
    assert_eq!(l.at_server, [1, 2]);
    // Within a session: #1..#8 fill the window of 8 (numbered, not yet acknowledged), #9 to
    // #12 wait in the outbox; then the link goes down and #13 is queued too.
    for n in 3..=12 {
        l.send(n);
    }
    l.cut();
    l.send(13);
    assert_eq!(l.m.queued_messages(), 5, "#9 to #13 queued");
    l.reload();
    assert_eq!(l.m.queued_messages(), 5, "the new page holds the queued ones");
    l.exchange();
    l.wait(1000.0);
    l.exchange();
    assert_eq!(l.at_server, (1..=13).collect::<Vec<_>>(), "each once, in order");
    assert_eq!(l.starts().last(), Some(&SessionStart::Resumed));
    // Storage that no page wrote: the session is new, and every message is sent in it.
    let mut m: Machine<u32> = Machine::new(continuity(false, 8), 1, 0.0);
    assert_eq!(
        m.restore_record(b"{\"v\":9}", vec![(1, 1), (2, 1)]),
        Err(RestoreError::Malformed)
    );
    assert_eq!(
        (m.take_queued(), m.take_queued(), m.take_queued()),
        (Some(1), Some(2), None)
    );
    // A record whose messages are not all kept: refused, none lost.
    let saved = SavedSession {
        sid: "s".into(),
        tok: "t".into(),
        rx: 0,
        acked: 4,
        last: 7,
    };
    let mut m: Machine<u32> = Machine::new(continuity(false, 8), 1, 0.0);
    assert_eq!(
        m.restore_session(saved.clone(), vec![(5, 1), (6, 1)]),
        Err(RestoreError::MessagesMissing)
    );
    assert_eq!(m.queued_messages(), 2);
    // All kept, and one more that was queued: three the session's, one in the outbox.
    let mut m: Machine<u32> = Machine::new(continuity(false, 8), 1, 0.0);
    assert_eq!(
        m.restore_session(saved.clone(), vec![(5, 1), (6, 1), (7, 1), (8, 1)]),
        Ok(())
    );
    assert_eq!(m.saved_session(), Some(saved));
    assert_eq!((m.take_queued(), m.take_queued()), (Some(8), None));
}

#[test]
fn a_saved_session_is_taken_up_only_before_the_first_hello_and_with_continuity_on() {
    let saved = SavedSession {
        sid: "s".into(),
        tok: "t".into(),
        rx: 0,
        acked: 0,
        last: 1,
    };
    let mut plain: Machine<u32> = Machine::new(Config::default(), 1, 0.0);
    assert_eq!(
        plain.restore_session(saved.clone(), vec![]),
        Err(RestoreError::ContinuityOff)
    );
    assert_eq!(plain.saved_session(), None);
    // The first socket has opened and said hello: too late.
    let mut l = Link::new(continuity(false, 8));
    assert_eq!(
        l.m.restore_session(saved.clone(), vec![]),
        Err(RestoreError::SessionBegun)
    );
    l.exchange();
    l.cut();
    // Between sockets, with a session: too late as well.
    assert_eq!(
        l.m.restore_session(saved.clone(), vec![]),
        Err(RestoreError::SessionBegun)
    );
    // Before the first socket opens: taken up.
    let mut m: Machine<u32> = Machine::new(continuity(false, 8), 1, 0.0);
    assert_eq!(m.restore_session(saved.clone(), vec![(1, 1)]), Ok(()));
    assert_eq!(m.saved_session(), Some(saved));
    let long = SavedSession {
        tok: "x".repeat(257),
        ..SavedSession::clone(&m.saved_session().unwrap())
    };
    let mut m: Machine<u32> = Machine::new(continuity(false, 8), 1, 0.0);
    assert_eq!(
        m.restore_session(long, vec![(1, 1)]),
        Err(RestoreError::TokenTooLong)
    );
    assert_eq!(m.saved_session(), None, "left new");
    assert_eq!(m.take_queued(), Some(1), "and its message in the outbox");
    for e in [RestoreError::ContinuityOff, RestoreError::SessionBegun] {
        assert!(e.message().starts_with("saved session: "));
    }
}
