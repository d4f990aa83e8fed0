#![cfg(not(target_arch = "wasm32"))]
//! The continuity engines paired: a client ([`Client`]) and a server ([`Sessions`]) over a
//! simulated link that carries frames in order per connection and loses everything in flight
//! when it drops; the server restarts keeping its state or losing it, acks are lost with the
//! link, replays overlap what was delivered. After every step:
//! - nothing is delivered twice or out of order, in either direction (a message the client
//!   sends again after a lost session is the only one that may arrive twice, and it was
//!   reported: `resumed: false` with its count);
//! - the unacknowledged logs stay within the window, the server's queue within its bounds.
//!
//! And once the link heals, everything sent is delivered, or was reported lost.
//!
//! The page also reloads: the client engine is dropped, with its connection, and a new one
//! is restored from what the page wrote through to storage ([`Client::saved`] and the
//! unacknowledged messages under their numbers). Storage is written at the end of every step,
//! as the JS driver writes it in the task that made the change (a reload comes between
//! tasks). The outbox stands for the page's own, which the driver keeps in storage too.

mod cases;
mod page_storage;

use std::collections::{BTreeSet, VecDeque};

use page_storage::PageStorage;

use proptest::prelude::*;
use tether_ws::core::continuity::{
    Client, ClientConfig, ClientInbound, DataHeaderBuf, InDoubt, Inbound, RestoreError, ResumeReason,
    SavedSession, ServerConfig, Sessions, Transmit, Window,
};

const WINDOW: Window = Window {
    messages: 8,
    bytes: 64,
};

/// One message's payload: its number, as text.
fn payload(n: u32) -> Vec<u8> {
    n.to_string().into_bytes()
}

fn number(bytes: &[u8]) -> u32 {
    std::str::from_utf8(bytes).unwrap().parse().unwrap()
}

fn data_frame(seq: u64, ack: u64, n: u32) -> Vec<u8> {
    let mut frame = DataHeaderBuf::new(seq, ack).unwrap().as_bytes().to_vec();
    frame.extend(payload(n));
    frame
}

/// Frames in flight one way, with `text`, in order.
type Frames = VecDeque<(Vec<u8>, bool)>;

#[derive(Debug, Clone)]
enum Step {
    ClientSends(u8),
    ServerSends(u8),
    ToServer(u8),
    ToClient(u8),
    Wait(u16),
    Drop,
    RestartKeepingState,
    RestartLosingState,
    /// The page reloads without a word to the server (as a crashed tab does): the server
    /// learns of it from the new page's resume, which supersedes the old connection.
    Reload,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (1u8..4).prop_map(Step::ClientSends),
        4 => (1u8..4).prop_map(Step::ServerSends),
        5 => (1u8..6).prop_map(Step::ToServer),
        5 => (1u8..6).prop_map(Step::ToClient),
        2 => (1u16..400).prop_map(Step::Wait),
        2 => Just(Step::Drop),
        1 => Just(Step::RestartKeepingState),
        1 => Just(Step::RestartLosingState),
        1 => Just(Step::Reload),
    ]
}

struct World {
    now: f64,
    client: Client<u32>,
    server: Sessions<u32>,
    /// The connection: its key and the frames in flight to the server and to the client.
    conn: Option<(u64, Frames, Frames)>,
    next_conn: u64,
    /// The client's outbox: messages waiting for a live session with room.
    outbox: VecDeque<u32>,
    next_client_msg: u32,
    next_server_msg: u32,
    /// What each application received.
    at_server: Vec<u32>,
    at_client: Vec<u32>,
    /// Client messages sent again after a lost session: they may arrive twice.
    in_doubt: BTreeSet<u32>,
    /// Server messages the server's application was told about (refused, or lost with the
    /// server's state): never expected at the client.
    reported: BTreeSet<u32>,
    /// Server messages accepted by `send`, in order, with their session.
    server_sent: Vec<(u32, String)>,
    sid: Option<String>,
    lost_sessions: usize,
    /// The page's storage.
    storage: PageStorage,
    /// Connections of reloaded pages the server has not heard the end of yet.
    dangling: Vec<u64>,
    reloads: usize,
}

impl World {
    fn new() -> Self {
        let mut w = World {
            now: 0.0,
            client: Client::new(client_config()),
            server: Sessions::new(server_config()),
            conn: None,
            next_conn: 1,
            outbox: VecDeque::new(),
            next_client_msg: 1,
            next_server_msg: 1,
            at_server: Vec::new(),
            at_client: Vec::new(),
            in_doubt: BTreeSet::new(),
            reported: BTreeSet::new(),
            server_sent: Vec::new(),
            sid: None,
            lost_sessions: 0,
            storage: PageStorage::default(),
            dangling: Vec::new(),
            reloads: 0,
        };
        w.connect();
        w
    }

    fn random(&self) -> [u8; 32] {
        let mut r = [0u8; 32];
        let seed = self.next_conn.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        for (i, b) in r.iter_mut().enumerate() {
            *b = (seed >> ((i % 8) * 8)) as u8 ^ i as u8;
        }
        r
    }

    fn connect(&mut self) {
        let key = self.next_conn;
        self.next_conn += 1;
        let mut hello = String::new();
        self.client.handle_opened(&mut hello);
        let mut to_server = VecDeque::new();
        to_server.push_back((hello.into_bytes(), true));
        self.conn = Some((key, to_server, VecDeque::new()));
    }

    fn drop_link(&mut self) {
        if let Some((key, _, _)) = self.conn.take() {
            self.client.handle_closed();
            self.server.handle_disconnect(key, self.now);
        }
        for key in std::mem::take(&mut self.dangling) {
            self.server.handle_disconnect(key, self.now);
        }
    }

    /// The page writes through what changed: the session, and drops the messages it no
    /// longer needs (acknowledged, or of a session that is over).
    fn write_through(&mut self) {
        self.storage.write(self.client.saved());
    }

    fn reload(&mut self) {
        if let Some((key, _, _)) = self.conn.take() {
            self.dangling.push(key);
        }
        self.reloads += 1;
        self.client = match self.storage.take_up(2) {
            Some((saved, unacked)) => {
                Client::restore(client_config(), saved, unacked).expect("what the page wrote")
            }
            None => Client::new(client_config()),
        };
        self.connect();
    }

    /// Writes what the client may send now: the outbox, while live and within the window.
    fn client_flush(&mut self) {
        while let Some(&n) = self.outbox.front() {
            if !self.client.has_room(2) || self.conn.is_none() {
                return;
            }
            let (seq, ack) = self.client.push(n, 2).unwrap();
            self.outbox.pop_front();
            // Written through before the frame goes (under the session it belongs to).
            let sid = self.client.sid().unwrap().to_string();
            self.storage.keep(&sid, seq, n);
            self.send_to_server(data_frame(seq, ack, n), true);
        }
    }

    fn send_to_server(&mut self, frame: Vec<u8>, text: bool) {
        if let Some((_, q, _)) = self.conn.as_mut() {
            q.push_back((frame, text));
        }
    }

    /// Carries out the server's transmits.
    fn server_io(&mut self) {
        while let Some(t) = self.server.poll_transmit() {
            let Some((key, _, to_client)) = self.conn.as_mut() else {
                continue;
            };
            match t {
                Transmit::Text { conn, text } if conn == *key => {
                    to_client.push_back((text.into_bytes(), true))
                }
                Transmit::Data {
                    conn,
                    header,
                    payload: n,
                } if conn == *key => {
                    let mut frame = header.as_bytes().to_vec();
                    frame.extend(payload(n));
                    to_client.push_back((frame, true));
                }
                Transmit::Close { conn, code, .. } if conn == *key => {
                    panic!("server closed the live connection with {code}")
                }
                _ => {}
            }
        }
    }

    fn deliver_to_server(&mut self, count: u8) {
        for _ in 0..count {
            let Some((key, q, _)) = self.conn.as_mut() else {
                return;
            };
            let key = *key;
            let Some((frame, text)) = q.pop_front() else {
                return;
            };
            let random = self.random();
            match self.server.handle_frame(key, &frame, text, self.now, &random) {
                Ok(Inbound::Deliver { payload_at, .. }) => {
                    let n = number(&frame[payload_at..]);
                    self.at_server.push(n);
                }
                Ok(Inbound::Welcomed { sid, .. }) => self.sid = Some(sid.to_string()),
                Ok(_) => {}
                Err(e) => panic!(
                    "server: protocol error {e:?} on {:?}",
                    String::from_utf8_lossy(&frame)
                ),
            }
            self.server_io();
        }
    }

    fn deliver_to_client(&mut self, count: u8) {
        for _ in 0..count {
            let Some((_, _, q)) = self.conn.as_mut() else {
                return;
            };
            let Some((frame, text)) = q.pop_front() else {
                return;
            };
            match self.client.handle_frame(&frame, frame.len(), text, self.now) {
                Ok(ClientInbound::Deliver { payload_at }) => {
                    self.at_client.push(number(&frame[payload_at..]))
                }
                Ok(ClientInbound::Welcomed(r)) => {
                    if !r.resumed && r.reason != Some(ResumeReason::New) {
                        self.lost_sessions += 1;
                    }
                    // In doubt: sent again first, in the new session.
                    assert!(r.dropped.is_empty());
                    for (n, _) in r.resend.into_iter().rev() {
                        self.in_doubt.insert(n);
                        self.outbox.push_front(n);
                    }
                    let replay: Vec<(u64, u32)> = self.client.replay().map(|(s, &n)| (s, n)).collect();
                    for (seq, n) in replay {
                        let ack = self.client.ack_to_send();
                        self.send_to_server(data_frame(seq, ack, n), true);
                    }
                    self.client_flush();
                }
                Ok(ClientInbound::Nothing) => {}
                Err(e) => panic!(
                    "client: protocol error {e:?} on {:?}",
                    String::from_utf8_lossy(&frame)
                ),
            }
            // An ack may have made room in the window.
            self.client_flush();
        }
    }

    fn wait(&mut self, ms: f64) {
        self.now += ms;
        self.server.handle_timeout(self.now);
        self.server_io();
        // A session the server ended (a client that never came back to it, e.g. its
        // welcome was lost): what it held is reported to the server's application.
        while let Some(ended) = self.server.poll_ended() {
            let lost = self
                .server_sent
                .iter()
                .filter(|(n, sid)| *sid == ended.sid && !self.at_client.contains(n));
            self.reported.extend(lost.map(|(n, _)| *n).collect::<Vec<_>>());
        }
        if let Some(ack) = self.client.poll_ack(self.now) {
            self.send_to_server(ack.as_bytes().to_vec(), true);
        }
    }

    fn run(&mut self, step: &Step) {
        match *step {
            Step::ClientSends(k) => {
                for _ in 0..k {
                    self.outbox.push_back(self.next_client_msg);
                    self.next_client_msg += 1;
                }
                self.client_flush();
            }
            Step::ServerSends(k) => {
                for _ in 0..k {
                    let n = self.next_server_msg;
                    self.next_server_msg += 1;
                    match self.sid.clone() {
                        Some(sid) if self.server.send(&sid, n, 2).is_ok() => self.server_sent.push((n, sid)),
                        _ => {
                            self.reported.insert(n);
                        }
                    }
                }
                self.server_io();
            }
            Step::ToServer(k) => self.deliver_to_server(k),
            Step::ToClient(k) => self.deliver_to_client(k),
            Step::Wait(ms) => self.wait(f64::from(ms)),
            Step::Drop | Step::RestartKeepingState => {
                self.drop_link();
                self.connect();
            }
            Step::RestartLosingState => {
                self.drop_link();
                // Whatever the server held for the client is gone, and its app knows it.
                let lost = self
                    .server_sent
                    .iter()
                    .map(|(n, _)| *n)
                    .filter(|n| !self.at_client.contains(n));
                self.reported.extend(lost.collect::<Vec<_>>());
                self.server = Sessions::new(server_config());
                self.sid = None;
                self.connect();
            }
            Step::Reload => self.reload(),
        }
        self.write_through();
        self.check();
    }

    fn check(&self) {
        // Client → server: in order, each once, except in-doubt messages sent again.
        let mut seen = BTreeSet::new();
        let mut last = 0;
        for &n in &self.at_server {
            if !seen.insert(n) {
                assert!(
                    self.in_doubt.contains(&n),
                    "#{n} delivered twice to the server: {:?}",
                    self.at_server
                );
                continue;
            }
            assert!(
                n > last || self.in_doubt.contains(&n),
                "#{n} after #{last}: {:?}",
                self.at_server
            );
            last = last.max(n);
        }
        // Server → client: in order, each once.
        for pair in self.at_client.windows(2) {
            assert!(
                pair[0] < pair[1],
                "server messages out of order or twice: {:?}",
                self.at_client
            );
        }
        assert!(self.client.unacked() <= WINDOW.messages as usize);
        if let Some(sid) = &self.sid {
            let cfg = server_config();
            assert!(self.server.held(sid) <= WINDOW.messages as usize + cfg.max_queued_messages);
        }
    }

    /// Heals the link and lets everything through.
    fn settle(&mut self) {
        self.drop_link();
        self.connect();
        for _ in 0..200 {
            self.deliver_to_server(50);
            self.deliver_to_client(50);
            self.wait(300.0);
            self.write_through();
            self.check();
        }
        // Past every TTL: sessions nobody resumed end, and say so.
        self.wait(server_config().ttl_ms as f64);
        let delivered: BTreeSet<u32> = self.at_server.iter().copied().collect();
        for n in 1..self.next_client_msg {
            assert!(
                delivered.contains(&n),
                "client message #{n} never delivered: {:?}",
                self.at_server
            );
        }
        for (n, _) in &self.server_sent {
            assert!(
                self.at_client.contains(n) || self.reported.contains(n),
                "server message #{n} neither delivered nor reported: {:?}",
                self.at_client
            );
        }
        assert!(self.outbox.is_empty() && self.client.unacked() == 0, "all acked");
    }
}

fn client_config() -> ClientConfig {
    ClientConfig {
        window: WINDOW,
        ..ClientConfig::default()
    }
}

fn server_config() -> ServerConfig {
    ServerConfig {
        window: WINDOW,
        max_queued_messages: 64,
        max_queued_bytes: 1024,
        ..ServerConfig::default()
    }
}

proptest! {
    #![proptest_config(cases::config(256))]

    #[test]
    fn exactly_once_in_order_both_ways_across_drops_and_restarts(steps in prop::collection::vec(step(), 1..120)) {
        let mut w = World::new();
        for s in &steps {
            w.run(s);
        }
        w.settle();
    }
}

#[test]
fn a_resume_replays_what_the_other_side_had_not_delivered() {
    let mut w = World::new();
    w.deliver_to_server(1);
    w.deliver_to_client(1);
    w.run(&Step::ClientSends(3));
    w.run(&Step::ServerSends(3));
    // The frames are in flight both ways when the link drops.
    w.run(&Step::Drop);
    w.settle();
    assert_eq!(w.at_server, [1, 2, 3]);
    assert_eq!(w.at_client, [1, 2, 3]);
    assert_eq!(w.lost_sessions, 0);
}

#[test]
fn a_server_that_lost_its_state_is_reported_and_the_client_sends_again() {
    let mut w = World::new();
    w.deliver_to_server(1);
    w.deliver_to_client(1);
    w.run(&Step::ClientSends(2));
    w.deliver_to_server(2); // taken, not acked yet
    w.run(&Step::RestartLosingState);
    w.settle();
    assert_eq!(w.lost_sessions, 1);
    // Taken twice, and reported: the in-doubt messages were sent again.
    assert_eq!(w.at_server, [1, 2, 1, 2]);
    assert_eq!(w.in_doubt, BTreeSet::from([1, 2]));
}

#[test]
fn under_in_doubt_drop_the_lost_messages_are_handed_back() {
    let mut client: Client<u32> = Client::new(ClientConfig {
        in_doubt: InDoubt::Drop,
        ..ClientConfig::default()
    });
    let mut hello = String::new();
    client.handle_opened(&mut hello);
    let welcome = br#"{"t":"welcome","sid":"a","tok":"b","resumed":false,"rx":0,"ttl":1000,"reason":"new"}"#;
    assert!(matches!(
        client.handle_frame(welcome, welcome.len(), true, 0.0),
        Ok(ClientInbound::Welcomed(_))
    ));
    client.push(7, 1).unwrap();
    client.handle_closed();
    let mut hello = String::new();
    client.handle_opened(&mut hello);
    assert!(
        hello.contains(r#""sid":"a""#) && hello.contains(r#""tok":"b""#),
        "{hello}"
    );
    let lost = br#"{"t":"welcome","sid":"c","tok":"d","resumed":false,"rx":0,"ttl":1000,"reason":"unknown"}"#;
    let Ok(ClientInbound::Welcomed(r)) = client.handle_frame(lost, lost.len(), true, 0.0) else {
        panic!()
    };
    assert_eq!((r.resumed, r.reason), (false, Some(ResumeReason::Unknown)));
    assert_eq!((r.resend, r.dropped), (vec![], vec![(7, 1)]));
}

#[test]
fn a_server_config_out_of_the_protocols_range_still_welcomes() {
    let mut server: Sessions<u32> = Sessions::new(ServerConfig {
        window: Window {
            messages: 0,
            bytes: 0,
        },
        ttl_ms: u64::MAX,
        ..ServerConfig::default()
    });
    let hello = br#"{"t":"hello","v":1,"sid":null,"tok":null,"rx":0}"#;
    let inbound = server.handle_frame(1, hello, true, 0.0, &[7; 32]);
    assert!(
        matches!(inbound, Ok(Inbound::Welcomed { resumed: false, .. })),
        "{inbound:?}"
    );
    let Some(Transmit::Text { text, .. }) = server.poll_transmit() else {
        panic!("a welcome")
    };
    assert!(text.contains(r#""window":1,"windowBytes":1"#), "{text}");
}

#[test]
fn a_resume_whose_welcome_is_lost_still_resumes() {
    // The token rotates on every welcome; the client keeps the one it last received.
    let mut w = World::new();
    w.deliver_to_server(1);
    w.deliver_to_client(1);
    w.run(&Step::ClientSends(2));
    w.run(&Step::Drop);
    w.deliver_to_server(1); // the resume's hello: the server rotates the token...
    w.run(&Step::Drop); // ...and its welcome is lost with the connection
    w.settle();
    assert_eq!(w.lost_sessions, 0, "the session survived");
    assert_eq!(w.at_server, [1, 2]);
}

#[test]
fn a_reload_resumes_the_session_from_storage_both_ways() {
    let mut w = World::new();
    w.deliver_to_server(1);
    w.deliver_to_client(1);
    w.run(&Step::ClientSends(3));
    w.run(&Step::ServerSends(3));
    w.run(&Step::ToServer(1)); // the server took #1, unacked
    w.run(&Step::ToClient(2)); // the page delivered server #1 and #2
    w.run(&Step::Reload);
    assert_eq!(
        w.client.unacked(),
        3,
        "restored: the three unacknowledged messages"
    );
    assert_eq!(w.client.rx(), 2);
    w.settle();
    assert_eq!(w.at_server, [1, 2, 3]);
    assert_eq!(w.at_client, [1, 2, 3]);
    assert_eq!((w.lost_sessions, w.reloads), (0, 1));
    assert!(w.in_doubt.is_empty(), "resumed, nothing sent twice");
}

#[test]
fn reloads_in_a_row_under_a_stream_lose_and_repeat_nothing() {
    let mut w = World::new();
    w.deliver_to_server(1);
    w.deliver_to_client(1);
    for _ in 0..50 {
        w.run(&Step::ClientSends(2));
        w.run(&Step::ServerSends(2));
        w.run(&Step::ToServer(3));
        w.run(&Step::ToClient(3));
        w.run(&Step::Reload);
    }
    w.settle();
    assert_eq!(w.at_server, (1..=100).collect::<Vec<_>>());
    assert_eq!(w.at_client, (1..=100).collect::<Vec<_>>());
    assert_eq!((w.lost_sessions, w.reloads), (0, 50));
}

#[test]
fn a_reload_before_any_welcome_starts_a_new_session() {
    let mut w = World::new();
    w.run(&Step::ClientSends(2)); // queued: no welcome yet
    w.run(&Step::Reload);
    assert_eq!(w.storage.saved, None);
    w.settle();
    assert_eq!(w.at_server, [1, 2]);
}

#[test]
fn a_restore_takes_up_the_numbers_where_the_page_left_them() {
    let saved = SavedSession {
        sid: "s".into(),
        tok: "t".into(),
        rx: 5,
        acked: 7,
        last: 9,
    };
    let mut client = Client::restore(client_config(), saved.clone(), vec![(8u32, 30), (9, 40)]).unwrap();
    assert_eq!(client.saved(), Some(saved.clone()));
    assert_eq!((client.sid(), client.rx(), client.unacked()), (Some("s"), 5, 2));
    assert_eq!(client.replay_range(), 8..=9);
    assert_eq!(client.unacked_at(9), Some(&9));
    assert!(!client.is_live());
    let mut hello = String::new();
    client.handle_opened(&mut hello);
    assert!(
        hello.contains(r#""sid":"s","tok":"t","rx":5"#),
        "the hello resumes it: {hello}"
    );
    // The server had taken 8: the resume replays 9 alone, numbered as before.
    let welcome = br#"{"t":"welcome","sid":"s","tok":"u","resumed":true,"rx":8,"ttl":1000}"#;
    assert!(matches!(
        client.handle_frame(welcome, welcome.len(), true, 0.0),
        Ok(ClientInbound::Welcomed(_))
    ));
    assert_eq!(client.replay().collect::<Vec<_>>(), [(9, &9)]);
    assert_eq!(client.next_header(), (10, 5));
    // Message 9's 40 bytes still count against the window's 64.
    assert!(client.has_room(24) && !client.has_room(25));
    assert_eq!(
        client.saved(),
        Some(SavedSession {
            tok: "u".into(),
            acked: 8,
            ..saved
        })
    );
    // Nothing owed: the hello's rx acknowledged what the old page delivered, so the next
    // delivery waits for the ack timer (the half-window counts from 5, not from 0).
    assert_eq!(client.flush_ack(), None);
    let data = b"D6,9;x";
    assert!(matches!(
        client.handle_frame(data, data.len(), true, 0.0),
        Ok(ClientInbound::Deliver { payload_at: 5 })
    ));
    assert_eq!(client.poll_timeout(), Some(250.0));
    assert_eq!(client.unacked(), 0);
}

#[test]
fn a_restore_refuses_what_no_page_wrote() {
    let saved = |sid: &str, rx: u64, acked: u64| SavedSession {
        sid: sid.into(),
        tok: "t".into(),
        rx,
        acked,
        last: acked,
    };
    // (`last` set to match the `n` messages given.)
    let restore = |s: SavedSession, n: usize| {
        let last = s.acked.wrapping_add(n as u64);
        Client::restore(client_config(), SavedSession { last, ..s }, vec![(0u32, 1); n]).err()
    };
    let max = (1u64 << 53) - 1;
    assert_eq!(
        restore(saved(&"x".repeat(257), 0, 0), 0),
        Some(RestoreError::TokenTooLong)
    );
    assert_eq!(restore(saved(&"x".repeat(256), max, 0), 0), None);
    let long_tok = SavedSession {
        tok: "x".repeat(257),
        ..saved("s", 0, 0)
    };
    assert_eq!(restore(long_tok, 0), Some(RestoreError::TokenTooLong));
    let longest_tok = SavedSession {
        tok: "x".repeat(256),
        ..saved("s", 0, 0)
    };
    assert_eq!(restore(longest_tok, 0), None);
    assert_eq!(
        restore(saved("s", max + 1, 0), 0),
        Some(RestoreError::NumberTooLarge)
    );
    assert_eq!(restore(saved("s", 0, max - 1), 1), None);
    assert_eq!(
        restore(saved("s", 0, max - 1), 2),
        Some(RestoreError::NumberTooLarge)
    );
    assert_eq!(
        restore(saved("s", 0, u64::MAX), 1),
        Some(RestoreError::NumberTooLarge)
    );
    assert_eq!(restore(saved("s", 0, 0), 65536), None);
    assert_eq!(
        restore(saved("s", 0, 0), 65537),
        Some(RestoreError::TooManyMessages)
    );
    // Messages missing, or more than were numbered.
    let numbered = |last: u64, n: usize| {
        let s = SavedSession {
            last,
            ..saved("s", 0, 4)
        };
        Client::restore(client_config(), s, vec![(0u32, 1); n]).err()
    };
    assert_eq!(numbered(6, 2), None);
    assert_eq!(numbered(6, 1), Some(RestoreError::MessagesMissing));
    assert_eq!(numbered(6, 3), Some(RestoreError::MessagesMissing));
    assert_eq!(numbered(3, 0), Some(RestoreError::MessagesMissing));
    assert_eq!(numbered(4, 0), None);
    for e in [
        RestoreError::TokenTooLong,
        RestoreError::NumberTooLarge,
        RestoreError::TooManyMessages,
        RestoreError::MessagesMissing,
    ] {
        assert!(e.to_string().starts_with("saved session: "), "{e}");
        assert_eq!(e.to_string(), e.message());
    }
}
