//! The continuity protocol in the Rust `Socket`, in real Chromium: against the reference
//! server (www/server, echo + numbered feed) every message arrives once and in order, both
//! ways, across `reconnect()`; against the plain test server, `Prefer` falls back to a plain
//! WebSocket and `Required` fails each attempt.
//!
//! Run: `cargo test -p tether-ws --target wasm32-unknown-unknown --test browser_continuity`
//! with tests/server running and `tether-server --listen 127.0.0.1:8793 --feed-ms 50` (see
//! tests/common/mod.rs).
#![cfg(target_arch = "wasm32")]

mod common;

use common::*;
use futures::future::{select, Either};
use futures::StreamExt;
use gloo_timers::future::TimeoutFuture;
use tether_ws::{
    ConnectionError, ContinuityMode, ContinuityOptions, Event, EventStream, Message, RetryReason, Sent,
    SessionStart, Socket, State,
};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// The feed messages not at their place: `{"n":k}` must be the k-th message of the session
/// (echoes count), so a lost, doubled or reordered message of either kind moves it.
fn out_of_place<'a>(places: impl IntoIterator<Item = &'a Option<u64>>) -> Vec<(u64, u64)> {
    (1..)
        .zip(places)
        .filter_map(|(place, n)| n.filter(|&n| n != place).map(|n| (place, n)))
        .collect()
}

/// The feed's `{"n":k}`, if `m` is one of its messages.
fn feed_number(m: &Message) -> Option<u64> {
    let Message::Text(text) = m else { return None };
    let n = text.strip_prefix("{\"n\":")?.strip_suffix('}')?;
    n.parse().ok()
}

fn is_resume(e: &Event) -> bool {
    matches!(e, Event::Resume { .. })
}

fn resume(start: SessionStart) -> Event {
    Event::Resume {
        start,
        resent: 0,
        dropped: 0,
        restored: false,
        duplicated: false,
    }
}

fn with_continuity() -> tether_ws::SocketBuilder {
    Socket::builder(continuity_url()).continuity(ContinuityOptions::default())
}

/// Everything a test has seen so far, the feed apart from the echoes.
#[derive(Default)]
struct Seen {
    echoes: Vec<Message>,
    feed: Vec<u64>,
    /// Every message of the session in order: `Some(n)` for a feed message, `None` for an
    /// echo (the feed numbers each message by its place in the session's stream).
    places: Vec<Option<u64>>,
    resumes: Vec<SessionStart>,
    opens: usize,
    /// The other events, for failure messages.
    other: Vec<Event>,
}

/// Short: the last echoes, each cut to 60 characters, and the last events.
impl std::fmt::Debug for Seen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let short = |m: &Message| {
            let text = format!("{m:?}");
            text.chars().take(60).collect::<String>()
        };
        let last_echoes: Vec<String> = self.echoes.iter().rev().take(5).rev().map(short).collect();
        let last_other = &self.other[self.other.len().saturating_sub(20)..];
        f.debug_struct("Seen")
            .field("echoes", &self.echoes.len())
            .field("last_echoes", &last_echoes)
            .field("feed", &self.feed)
            .field("resumes", &self.resumes)
            .field("opens", &self.opens)
            .field("last_other", &last_other)
            .finish()
    }
}

impl Seen {
    fn record(&mut self, event: Event) {
        match event {
            Event::Message(m) => {
                let n = feed_number(&m);
                self.places.push(n);
                match n {
                    Some(n) => self.feed.push(n),
                    None => self.echoes.push(m),
                }
            }
            Event::Resume { start, .. } => self.resumes.push(start),
            Event::Open => self.opens += 1,
            other => self.other.push(other),
        }
    }

    /// Reads `events` (recording each) until `done` holds; panics after `ms`.
    async fn until(&mut self, events: &mut EventStream, ms: u32, what: &str, done: impl Fn(&Seen) -> bool) {
        let deadline = now_ms() + f64::from(ms);
        while !done(self) {
            let left = (deadline - now_ms()).max(0.0) as u32;
            match select(events.next(), TimeoutFuture::new(left)).await {
                Either::Left((Some(event), _)) => self.record(event),
                Either::Left((None, _)) => panic!("the stream ended before {what}; seen: {self:?}"),
                Either::Right(_) => panic!("no {what} within {ms} ms; seen: {self:?}"),
            }
        }
    }

    /// Waits for the next `Open`.
    async fn next_open(&mut self, events: &mut EventStream) {
        let want = self.opens + 1;
        self.until(events, 5_000, "Open", |s| s.opens >= want).await;
    }
}

#[wasm_bindgen_test]
async fn echoes_text_and_binary_exactly_once_and_in_order() {
    let (socket, mut events) = connect(with_continuity());
    // Queued before the session exists: they go once it is welcomed.
    let early = [Message::Text("early 1".into()), Message::Binary(vec![1, 2, 3])];
    for m in &early {
        assert_eq!(socket.send(m.clone()), Ok(Sent::Queued), "queued: not open yet");
    }
    let (first, before) = wait_for(&mut events, 5_000, "Resume", is_resume).await;
    assert_eq!(first, resume(SessionStart::New), "the first session is new");
    assert!(
        !before.contains(&Event::Open),
        "Resume comes before Open: {before:?}"
    );
    let before_open = wait_open(&mut events).await;
    assert!(
        before_open.iter().all(|e| matches!(e, Event::StateChange { .. })),
        "{before_open:?}"
    );
    assert_eq!(socket.state(), State::Open);
    assert_eq!(
        socket.protocol(),
        "",
        "tether.v1 selected: the app's part is empty"
    );

    // Payloads that look like the protocol's frames, empty ones, and non-ASCII text: each
    // arrives as it was sent, without the header.
    let mut sent = early.to_vec();
    for i in 0..40u8 {
        let m = match i % 5 {
            0 => Message::Text(format!("t{i} é✓ 😀")),
            1 => Message::Binary(vec![b'D', b'1', b',', b'0', b';', i, 0, 255]),
            2 => Message::Text(if i % 2 == 0 {
                String::new()
            } else {
                "D1,0;x".into()
            }),
            3 => Message::Text(format!("{{\"t\":\"bye\",\"i\":{i}}}")),
            _ => Message::Binary(if i % 2 == 0 { Vec::new() } else { vec![i; 1000] }),
        };
        assert_eq!(
            socket.send(m.clone()),
            Ok(Sent::Written),
            "written: open, within the window"
        );
        sent.push(m);
    }
    let mut seen = Seen::default();
    let n = sent.len();
    seen.until(&mut events, 10_000, "every echo", |s| s.echoes.len() >= n)
        .await;
    assert_eq!(seen.echoes, sent, "once each, in order");
    // Nothing more: no echo twice.
    let later = expect_none(
        &mut events,
        700,
        "a second echo",
        |e| matches!(e, Event::Message(m) if feed_number(m).is_none()),
    )
    .await;
    assert!(
        !later
            .iter()
            .any(|e| matches!(e, Event::Close(_) | Event::Error(_))),
        "{later:?}"
    );
    assert_eq!(seen.resumes, [], "one session: {seen:?}");
}

#[wasm_bindgen_test]
async fn reconnect_mid_stream_resumes_without_loss_or_duplicates() {
    let (socket, mut events) = connect(with_continuity().backoff(fast_backoff(50)));
    let mut seen = Seen::default();
    seen.next_open(&mut events).await;
    assert_eq!(seen.resumes, [SessionStart::New]);

    let mut sent = Vec::new();
    let mut next = 1;
    for round in 0..4u32 {
        for _ in 0..20 {
            let m = if next % 3 == 0 {
                Message::Binary(format!("b{next}").into_bytes())
            } else {
                Message::Text(format!("m{next}"))
            };
            socket.send(m.clone()).expect("send");
            sent.push(m);
            next += 1;
        }
        // Cut at various points: at once (nothing has left the browser), after a few ms
        // (messages on the wire, echoes coming back), after the first echo of the round.
        match round {
            0 => {}
            1 => sleep(5).await,
            2 => {
                let want = seen.echoes.len() + 1;
                seen.until(&mut events, 5_000, "an echo", |s| s.echoes.len() >= want)
                    .await;
            }
            _ => sleep(30).await,
        }
        socket.reconnect();
        // Each cut from an open (welcomed) connection.
        seen.next_open(&mut events).await;
    }
    for _ in 0..20 {
        let m = Message::Text(format!("m{next}"));
        socket.send(m.clone()).expect("send");
        sent.push(m);
        next += 1;
    }
    let n = sent.len();
    seen.until(&mut events, 15_000, "every echo", |s| s.echoes.len() >= n)
        .await;
    assert_eq!(seen.echoes, sent, "once each, in order, across four reconnects");
    expect_none(
        &mut events,
        700,
        "a second echo",
        |e| matches!(e, Event::Message(m) if feed_number(m).is_none()),
    )
    .await;
    assert_eq!(
        seen.resumes,
        [
            SessionStart::New,
            SessionStart::Resumed,
            SessionStart::Resumed,
            SessionStart::Resumed,
            SessionStart::Resumed
        ],
        "{seen:?}"
    );
    // The feed, too, arrived without a gap or a repeat, each at its place.
    assert!(!seen.feed.is_empty(), "{seen:?}");
    assert_eq!(out_of_place(&seen.places), [], "(place, n)");
}

#[wasm_bindgen_test]
async fn the_feed_arrives_without_gaps_across_reconnects() {
    let (socket, mut events) = connect(with_continuity().backoff(fast_backoff(50)));
    let mut seen = Seen::default();
    let last = 40;
    for cut_at in [4, 10, 11, 25] {
        let what = "the feed (is tether-server running with --feed-ms?)";
        seen.until(&mut events, 15_000, what, |s| s.feed.len() >= cut_at)
            .await;
        socket.reconnect();
        seen.next_open(&mut events).await;
    }
    seen.until(&mut events, 15_000, "the rest of the feed", |s| {
        s.feed.len() >= last
    })
    .await;
    let expected: Vec<u64> = (1..=seen.feed.len() as u64).collect();
    assert_eq!(seen.feed, expected, "every number once, in order");
    assert_eq!(seen.resumes[0], SessionStart::New);
    assert!(
        seen.resumes[1..].iter().all(|s| *s == SessionStart::Resumed),
        "{seen:?}"
    );
    assert_eq!(seen.resumes.len(), 5, "{seen:?}");
}

#[wasm_bindgen_test]
async fn prefer_falls_back_to_a_plain_websocket() {
    let key = unique_key("prefer-plain");
    // The plain test server selects the first subprotocol offered (tether.v1) and echoes the
    // `hello`: the next attempts offer none, and the connection is a plain WebSocket.
    let builder = Socket::builder(ws_url("/echo", &key))
        .continuity(ContinuityOptions::default())
        .backoff(fast_backoff(50));
    let (socket, mut events) = connect(builder);
    let (_, before) = wait_for(&mut events, 10_000, "Resume Unsupported", |e| {
        *e == resume(SessionStart::Unsupported)
    })
    .await;
    assert!(
        !before
            .iter()
            .any(|e| matches!(e, Event::Message(_) | Event::Open)),
        "nothing delivered from the server that does not speak it: {before:?}"
    );
    wait_open(&mut events).await;
    assert_eq!(socket.protocol(), "");
    assert_eq!(socket.send("plain"), Ok(Sent::Written));
    assert_eq!(socket.send(vec![b'D', b'1', b',', b'0', b';']), Ok(Sent::Written));
    let (echo, _) = wait_for(&mut events, 3_000, "echo", |e| matches!(e, Event::Message(_))).await;
    assert_eq!(echo, Event::Message(Message::Text("plain".into())), "no header");
    let (echo, _) = wait_for(&mut events, 3_000, "echo", |e| matches!(e, Event::Message(_))).await;
    assert_eq!(
        echo,
        Event::Message(Message::Binary(b"D1,0;".to_vec())),
        "not read as a frame"
    );
    let s = stats(&key).await;
    assert_eq!(s.messages.last().map(String::as_str), Some("plain"), "{s:?}");
    assert_eq!(s.protocols.last().map(String::as_str), Some(""), "{s:?}");
    // Sent as it is, without a header (the echo above would show one).
    let s = stats_until(&key, 3_000, "the binary message counted", |s| {
        s.binary_messages >= 1
    })
    .await;
    assert_eq!(s.binary_bytes, 5);
}

#[wasm_bindgen_test]
async fn required_fails_each_attempt_against_a_plain_server() {
    let key = unique_key("required-plain");
    let options = ContinuityOptions::default().mode(ContinuityMode::Required);
    let builder = Socket::builder(ws_url("/echo", &key))
        .continuity(options)
        .backoff(fast_backoff(50));
    let (socket, mut events) = connect(builder);
    let no_continuity = Event::Error(ConnectionError::NoContinuity);
    let (_, before) = wait_for(&mut events, 10_000, "NoContinuity", |e| *e == no_continuity).await;
    let (_, between) = wait_for(&mut events, 10_000, "a second NoContinuity", |e| {
        *e == no_continuity
    })
    .await;
    let seen: Vec<&Event> = before.iter().chain(&between).collect();
    assert!(
        !seen
            .iter()
            .any(|e| matches!(e, Event::Open | Event::Message(_) | Event::Resume { .. })),
        "never open: {seen:?}"
    );
    assert!(
        seen.iter().any(|e| matches!(
            e,
            Event::Reconnecting {
                reason: RetryReason::NoContinuity,
                ..
            }
        )),
        "retried as a failed attempt: {seen:?}"
    );
    assert_ne!(socket.state(), State::Open);
    socket.close(1000, "").unwrap();
}

#[wasm_bindgen_test]
async fn reconnect_with_a_window_in_flight_replays_what_the_server_missed() {
    // A window's worth (1 MB) written, then cut at once: the server has not read it all when
    // the next connection takes the session over, so the welcome's `rx` is behind and the
    // client writes the rest again (hundreds of messages each round, in practice).
    let (socket, mut events) = connect(with_continuity().backoff(fast_backoff(50)));
    let mut seen = Seen::default();
    seen.next_open(&mut events).await;
    let filler = "x".repeat(4000);
    let mut sent = Vec::new();
    for round in 0..3u32 {
        for i in 0..250u32 {
            let m = if i % 4 == 3 {
                let mut bytes = format!("r{round} b{i} ").into_bytes();
                bytes.extend_from_slice(filler.as_bytes());
                Message::Binary(bytes)
            } else {
                Message::Text(format!("r{round} m{i} {filler}"))
            };
            socket.send(m.clone()).expect("send");
            sent.push(m);
        }
        socket.reconnect();
        seen.next_open(&mut events).await;
    }
    let n = sent.len();
    seen.until(&mut events, 30_000, "every echo", |s| s.echoes.len() >= n)
        .await;
    // (Compared without printing 3 MB on failure.)
    let first_wrong = seen.echoes.iter().zip(&sent).position(|(a, b)| a != b);
    assert_eq!(first_wrong, None, "an echo out of order or wrong");
    assert_eq!(seen.echoes.len(), n);
    expect_none(
        &mut events,
        700,
        "a second echo",
        |e| matches!(e, Event::Message(m) if feed_number(m).is_none()),
    )
    .await;
    assert!(
        seen.resumes[1..].iter().all(|s| *s == SessionStart::Resumed),
        "{:?}",
        seen.resumes
    );
}

#[wasm_bindgen_test]
async fn a_heartbeat_on_a_session_is_the_protocols_ping_not_the_heartbeat_message() {
    // The heartbeat message, were it written on the session, would be a protocol error
    // (4002, then a resume): so one connection for the whole test shows it never went.
    let heartbeat = tether_ws::HeartbeatOptions::default()
        .interval(std::time::Duration::from_millis(100))
        .timeout(std::time::Duration::from_millis(2_000))
        .message("not a frame");
    let (socket, mut events) = connect(with_continuity().heartbeat(heartbeat));
    let mut seen = Seen::default();
    seen.next_open(&mut events).await;
    for n in 0..10 {
        socket.send(Message::Text(format!("hb {n}"))).unwrap();
        TimeoutFuture::new(100).await;
    }
    seen.until(&mut events, 5_000, "the ten echoes", |s| s.echoes.len() >= 10)
        .await;
    let expected: Vec<Message> = (0..10).map(|n| Message::Text(format!("hb {n}"))).collect();
    assert_eq!(seen.echoes, expected, "{seen:?}");
    assert_eq!(seen.resumes, [SessionStart::New], "one session, never dropped");
    assert_eq!(seen.opens, 1, "{seen:?}");
    assert!(
        !seen
            .other
            .iter()
            .any(|e| matches!(e, Event::Error(_) | Event::Close(_))),
        "{seen:?}"
    );
}
