#![cfg(not(target_arch = "wasm32"))]
//! Property tests of one direction of a continuity session: an [`Outgoing`] and an
//! [`Incoming`] over a simulated link that loses, duplicates and delays frames, and
//! reconnects (the sender replays from the receiver's `rx`), sometimes without clearing the
//! link first, so that replayed frames arrive behind stale ones.
//!
//! After every step: nothing is delivered twice or out of order, the send log stays within
//! its window, acks never cover what was not delivered, an ack is always owed no later than
//! the rules say, and an ack above what was sent is refused. At the end, once the link is
//! healthy, every message that got a number is delivered. Everything is decided by the
//! proptest inputs, so a failing case replays exactly.
//!
//! 256 cases unless `PROPTEST_CASES` says otherwise (at least 64).

use std::collections::VecDeque;

mod cases;

use proptest::prelude::*;
use tether_ws::core::continuity::{
    parse_ack, parse_data_header, AckBuf, DataHeaderBuf, Incoming, Outgoing, ProtocolError, Received, Window,
};

const ACK_DELAY_MS: f64 = 250.0;

#[derive(Debug, Clone)]
enum Step {
    /// The app sends a message of this many bytes (it waits in the outbox, unnumbered).
    Send(u64),
    /// The outbox drops its oldest message (its overflow policy): no number is lost.
    DropQueued,
    /// The sender writes what the window lets through.
    Pump,
    /// The receiver reads up to this many data frames.
    Deliver(usize),
    /// The link loses its next data frame.
    LoseData,
    /// The link delivers its next data frame twice.
    DuplicateData,
    /// The link loses its next ack.
    LoseAck,
    /// The sender reads up to this many acks.
    DeliverAcks(usize),
    /// Time passes; the receiver's ack timer fires on time.
    Wait(f64),
    /// The page is hidden: any owed ack is written now.
    Flush,
    /// The receiver sends data the other way, carrying its ack.
    Piggyback,
    /// The socket drops and a new one resumes: in-flight frames are lost, the sender replays
    /// from the receiver's rx.
    Reconnect,
    /// A resume while old frames are still on their way: the replay queues behind them.
    ReplayBehindStale,
    /// An ack this far above the highest seq sent arrives.
    AckAboveSent(u64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (0u64..120).prop_map(Step::Send),
        1 => Just(Step::DropQueued),
        4 => Just(Step::Pump),
        5 => (1usize..6).prop_map(Step::Deliver),
        1 => Just(Step::LoseData),
        1 => Just(Step::DuplicateData),
        1 => Just(Step::LoseAck),
        3 => (1usize..4).prop_map(Step::DeliverAcks),
        2 => (0.0..600.0f64).prop_map(Step::Wait),
        1 => Just(Step::Flush),
        1 => Just(Step::Piggyback),
        1 => Just(Step::Reconnect),
        1 => Just(Step::ReplayBehindStale),
        1 => (1u64..1000).prop_map(Step::AckAboveSent),
    ]
}

fn window() -> impl Strategy<Value = Window> {
    (1u32..20, 1u64..400).prop_map(|(messages, bytes)| Window { messages, bytes })
}

/// A data frame on the link: the encoded header and the message's id as its payload.
#[derive(Debug, Clone)]
struct DataFrame {
    bytes: Vec<u8>,
    size: u64,
}

struct Sim {
    window: Window,
    now: f64,
    /// Messages the app sent that have no number yet: (id, bytes).
    outbox: VecDeque<(u64, u64)>,
    next_id: u64,
    sender: Outgoing<(u64, u64)>,
    receiver: Incoming,
    data_link: VecDeque<DataFrame>,
    ack_link: VecDeque<Vec<u8>>,
    /// The ids given a number, in order: the order they must be delivered in.
    numbered: Vec<u64>,
    delivered: Vec<u64>,
    /// The last rx the receiver told the sender (by ack, piggyback or resume).
    told: u64,
    /// When the first delivery not yet acked happened.
    unacked_since: Option<f64>,
    /// The link no longer loses, duplicates or reorders: a gap is then a bug.
    healthy: bool,
}

impl Sim {
    fn new(window: Window) -> Self {
        Sim {
            window,
            now: 0.0,
            outbox: VecDeque::new(),
            next_id: 0,
            sender: Outgoing::new(window),
            receiver: Incoming::new(window, ACK_DELAY_MS),
            data_link: VecDeque::new(),
            ack_link: VecDeque::new(),
            numbered: Vec::new(),
            delivered: Vec::new(),
            told: 0,
            unacked_since: None,
            healthy: false,
        }
    }

    fn encode(seq: u64, ack: u64, id: u64, size: u64) -> DataFrame {
        let mut bytes = DataHeaderBuf::new(seq, ack).unwrap().as_bytes().to_vec();
        bytes.extend_from_slice(id.to_string().as_bytes());
        DataFrame { bytes, size }
    }

    /// The receiver tells the sender its rx some other way than an `A` frame.
    fn told(&mut self, rx: u64) {
        self.told = rx;
        self.unacked_since = None;
    }

    fn send_ack(&mut self, ack: u64) {
        self.ack_link
            .push_back(AckBuf::new(ack).unwrap().as_bytes().to_vec());
        self.told(ack);
    }

    /// What a driver does after every input: write the ack that is due now, if any.
    fn poll_ack(&mut self) {
        if let Some(ack) = self.receiver.poll_ack(self.now) {
            self.send_ack(ack);
        }
    }

    fn pump(&mut self) {
        while let Some(&(id, size)) = self.outbox.front() {
            if !self.sender.has_room(size) {
                break;
            }
            self.outbox.pop_front();
            let seq = self.sender.push((id, size), size).unwrap();
            self.numbered.push(id);
            assert_eq!(
                seq,
                self.numbered.len() as u64,
                "numbers follow on, one per message"
            );
            // The sender's own incoming ack (the other direction) is not simulated: 0.
            self.data_link.push_back(Sim::encode(seq, 0, id, size));
        }
    }

    /// A new socket resumes the session: hello carries the receiver's rx, the sender replays.
    fn resume(&mut self) {
        let rx = self.receiver.rx();
        // The hello and welcome carried rx: nothing is owed any more.
        self.receiver.piggyback();
        self.told(rx);
        let replay: Vec<_> = self
            .sender
            .replay(rx)
            .unwrap()
            .map(|(seq, &(id, size))| Sim::encode(seq, 0, id, size))
            .collect();
        self.data_link.extend(replay);
    }

    fn reconnect(&mut self) {
        self.data_link.clear();
        self.ack_link.clear();
        self.resume();
    }

    fn deliver_one(&mut self) {
        let Some(frame) = self.data_link.pop_front() else {
            return;
        };
        let header = parse_data_header(&frame.bytes).unwrap();
        let id: u64 = std::str::from_utf8(&frame.bytes[header.len..])
            .unwrap()
            .parse()
            .unwrap();
        let rx_before = self.receiver.rx();
        match self.receiver.handle_data(header.seq, frame.size, self.now) {
            Ok(Received::Deliver) => {
                assert_eq!(header.seq, rx_before + 1);
                assert_eq!(
                    self.numbered.get(self.delivered.len()),
                    Some(&id),
                    "delivered in order, each once"
                );
                self.delivered.push(id);
                self.unacked_since.get_or_insert(self.now);
            }
            Ok(Received::Duplicate) => {
                assert!(header.seq <= rx_before);
                assert!(self.delivered.contains(&id), "a duplicate was delivered before");
                assert_eq!(
                    self.receiver.poll_timeout(),
                    Some(self.now),
                    "a duplicate is acked at once"
                );
            }
            Err(e) => {
                // The receiver closes with 4002 and the session resumes.
                assert!(!self.healthy, "a gap on a healthy link: {e:?}");
                assert_eq!(e, ProtocolError::Gap);
                assert!(header.seq > rx_before + 1);
                assert_eq!(self.receiver.rx(), rx_before, "a gap changes nothing");
                self.reconnect();
                return;
            }
        }
        self.poll_ack();
    }

    fn deliver_ack(&mut self) {
        let Some(frame) = self.ack_link.pop_front() else {
            return;
        };
        let ack = parse_ack(&frame).unwrap();
        self.sender.handle_ack(ack).unwrap();
    }

    /// Time passes until `until`, the timer firing at each deadline on the way.
    fn wait(&mut self, until: f64) {
        while let Some(due) = self.receiver.poll_timeout() {
            if due > until {
                break;
            }
            self.now = self.now.max(due);
            self.poll_ack();
        }
        self.now = until;
    }

    fn step(&mut self, step: &Step) {
        match *step {
            Step::Send(size) => {
                self.outbox.push_back((self.next_id, size));
                self.next_id += 1;
            }
            Step::DropQueued => {
                self.outbox.pop_front();
            }
            Step::Pump => self.pump(),
            Step::Deliver(n) => {
                for _ in 0..n {
                    self.deliver_one();
                }
            }
            Step::LoseData => {
                self.data_link.pop_front();
            }
            Step::DuplicateData => {
                if let Some(frame) = self.data_link.front().cloned() {
                    self.data_link.push_front(frame);
                }
            }
            Step::LoseAck => {
                self.ack_link.pop_front();
            }
            Step::DeliverAcks(n) => {
                for _ in 0..n {
                    self.deliver_ack();
                }
            }
            Step::Wait(ms) => self.wait(self.now + ms),
            Step::Flush => {
                if let Some(ack) = self.receiver.flush_ack() {
                    self.send_ack(ack);
                }
                assert_eq!(self.receiver.poll_timeout(), None);
            }
            Step::Piggyback => {
                let ack = self.receiver.piggyback();
                assert_eq!(ack, self.receiver.rx());
                self.ack_link
                    .push_back(AckBuf::new(ack).unwrap().as_bytes().to_vec());
                self.told(ack);
            }
            Step::Reconnect => self.reconnect(),
            Step::ReplayBehindStale => self.resume(),
            Step::AckAboveSent(k) => {
                let before = (self.sender.len(), self.sender.bytes(), self.sender.acked());
                let bogus = self.sender.last_seq() + k;
                assert_eq!(self.sender.handle_ack(bogus), Err(ProtocolError::AckAboveSent));
                assert_eq!(
                    (self.sender.len(), self.sender.bytes(), self.sender.acked()),
                    before
                );
            }
        }
        self.check();
    }

    fn check(&self) {
        let (log, bytes) = (self.sender.len(), self.sender.bytes());
        assert!(
            log <= self.window.messages as usize,
            "log of {log} over the window"
        );
        assert!(
            bytes <= self.window.bytes || log == 1,
            "{bytes} bytes in {log} messages over the window"
        );
        // Acks only cover what was delivered; nothing is delivered that was not sent.
        assert!(self.sender.acked() <= self.receiver.rx());
        assert!(self.receiver.rx() <= self.sender.last_seq());
        assert_eq!(self.receiver.rx(), self.delivered.len() as u64);
        assert_eq!(self.sender.last_seq(), self.numbered.len() as u64);
        // Every message is accounted for: delivered, unacked in the log, or still queued.
        let unacked_from = self.sender.acked() as usize;
        assert_eq!(log, self.numbered.len() - unacked_from);
        // An ack is owed exactly while deliveries are unacked, and due in time.
        let unacked = self.receiver.rx() - self.told;
        let half = u64::from(self.window.messages / 2).max(1);
        assert!(
            unacked < half,
            "{unacked} unacked deliveries: half the window is acked at once"
        );
        match self.unacked_since {
            Some(since) => {
                let due = self.receiver.poll_timeout().expect("an ack is owed");
                assert!(
                    due <= since + ACK_DELAY_MS,
                    "ack due at {due}, first unacked at {since}"
                );
                assert!(due > self.now, "a due ack was not written");
            }
            None => {
                assert_eq!(unacked, 0);
                assert_eq!(self.receiver.poll_timeout(), None, "no ack owed");
            }
        }
    }

    /// The link is healthy from now on: everything numbered gets delivered and acked.
    fn heal(&mut self) {
        self.healthy = true;
        self.reconnect();
        let mut rounds = 0;
        while !(self.outbox.is_empty() && self.sender.is_empty()) {
            rounds += 1;
            assert!(rounds <= 10_000, "no progress");
            self.pump();
            while !self.data_link.is_empty() {
                self.deliver_one();
            }
            self.check();
            self.wait(self.now + ACK_DELAY_MS);
            while !self.ack_link.is_empty() {
                self.deliver_ack();
            }
            self.check();
        }
        assert_eq!(self.delivered, self.numbered);
        assert!(self.data_link.is_empty());
    }
}

proptest! {
    #![proptest_config(cases::config(256))]

    #[test]
    fn every_message_is_delivered_once_in_order(
        window in window(),
        steps in prop::collection::vec(step(), 0..300),
    ) {
        let mut sim = Sim::new(window);
        for step in &steps {
            sim.step(step);
        }
        sim.heal();
        // Everything the app sent is delivered, but for what the outbox dropped unnumbered.
        prop_assert!(sim.delivered.len() as u64 <= sim.next_id);
        prop_assert!(sim.delivered.windows(2).all(|w| w[0] < w[1]));
    }
}

/// A resume whose rx is above what was sent, or below what was acked, is refused.
#[test]
fn a_resume_outside_the_log_is_refused() {
    let mut out: Outgoing<u32> = Outgoing::new(Window::default());
    for i in 0..3 {
        out.push(i, 1).unwrap();
    }
    out.handle_ack(2).unwrap();
    assert!(matches!(out.replay(4), Err(ProtocolError::AckAboveSent)));
    assert!(matches!(out.replay(1), Err(ProtocolError::RxBelowAcked)));
    assert_eq!(out.replay(2).unwrap().collect::<Vec<_>>(), [(3, &2)]);
}
