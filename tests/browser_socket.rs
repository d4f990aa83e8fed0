//! The Rust `Socket` in real Chromium against the real test server: messages, event fan-out,
//! subprotocols, close codes, drops, timeouts, heartbeats and argument checks.
//!
//! Run: `CHROMEDRIVER=/usr/bin/chromedriver cargo test -p tether-ws --target wasm32-unknown-unknown`
//! with tests/server running (see tests/common/mod.rs).
#![cfg(target_arch = "wasm32")]

mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use common::*;
use tether_ws::{
    CloseInfo, ConnectionError, Error, Event, HeartbeatOptions, Message, RetryReason, Sent, Socket, State,
};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn is_close(e: &Event) -> bool {
    matches!(e, Event::Close(_))
}

fn is_reconnecting(e: &Event) -> bool {
    matches!(e, Event::Reconnecting { .. })
}

fn text(s: &str) -> Event {
    Event::Message(Message::Text(s.into()))
}

#[wasm_bindgen_test]
async fn echoes_text_and_binary_through_the_event_stream() {
    let key = unique_key("echo");
    let (socket, mut events) = connect(Socket::builder(ws_url("/echo", &key)));
    assert_eq!(socket.state(), State::Connecting);
    wait_open(&mut events).await;
    assert_eq!(socket.state(), State::Open);

    assert_eq!(
        socket.send("hello"),
        Ok(Sent::Written),
        "written straight to the open socket"
    );
    assert_eq!(socket.send(vec![0u8, 1, 2, 255]), Ok(Sent::Written));
    let (first, _) = wait_for(&mut events, 3_000, "text echo", |e| {
        matches!(e, Event::Message(_))
    })
    .await;
    assert_eq!(first, text("hello"));
    let (second, _) = wait_for(&mut events, 3_000, "binary echo", |e| {
        matches!(e, Event::Message(_))
    })
    .await;
    assert_eq!(second, Event::Message(Message::Binary(vec![0, 1, 2, 255])));

    let s = stats(&key).await;
    assert_eq!(s.messages, ["hello"]);
    assert_eq!((s.binary_messages, s.binary_bytes), (1, 4));
}

#[wasm_bindgen_test]
async fn messages_sent_before_open_are_queued_and_delivered_in_order() {
    let key = unique_key("early");
    let (socket, mut events) = connect(Socket::builder(ws_url("/echo", &key)));
    assert_eq!(socket.send("one"), Ok(Sent::Queued), "queued: not open yet");
    assert_eq!(socket.send("two"), Ok(Sent::Queued));
    assert_eq!(socket.queued_messages(), 2);
    wait_open(&mut events).await;
    // The backlog is written before `Open` is emitted.
    assert_eq!(socket.queued_messages(), 0);
    assert_eq!(socket.send("three"), Ok(Sent::Written));
    let mut got = Vec::new();
    while got.len() < 3 {
        got.push(
            wait_for(&mut events, 3_000, "echo", |e| matches!(e, Event::Message(_)))
                .await
                .0,
        );
    }
    assert_eq!(got, [text("one"), text("two"), text("three")]);
}

#[wasm_bindgen_test]
async fn every_event_stream_sees_every_event() {
    let key = unique_key("fanout");
    let (socket, mut a) = connect(Socket::builder(ws_url("/echo", &key)));
    let mut b = socket.events();
    // Queued now, echoed after open. Read `a` to the end, then `b`, which buffered meanwhile.
    socket.send("1").unwrap();
    socket.send("2").unwrap();
    let (last, mut seen_a) = wait_for(&mut a, 3_000, "echo 2", |e| *e == text("2")).await;
    seen_a.push(last);
    let (last, mut seen_b) = wait_for(&mut b, 3_000, "echo 2", |e| *e == text("2")).await;
    seen_b.push(last);
    let opened = Event::StateChange {
        from: State::Connecting,
        to: State::Open,
    };
    assert_eq!(seen_a, [opened, Event::Open, text("1"), text("2")]);
    assert_eq!(seen_b, seen_a);
}

#[wasm_bindgen_test]
async fn on_event_callback_runs_until_its_guard_is_dropped() {
    let key = unique_key("callback");
    let (socket, mut events) = connect(Socket::builder(ws_url("/echo", &key)));
    let log = Rc::new(RefCell::new(Vec::<Event>::new()));
    let guard = {
        let log = log.clone();
        socket.on_event(move |e| log.borrow_mut().push(e.clone()))
    };
    wait_open(&mut events).await;
    socket.send("before").unwrap();
    wait_for(&mut events, 3_000, "echo", |e| *e == text("before")).await;
    let seen = log.borrow().clone();
    assert!(
        seen.contains(&Event::Open) && seen.ends_with(&[text("before")]),
        "{seen:?}"
    );

    drop(guard);
    socket.send("after").unwrap();
    wait_for(&mut events, 3_000, "echo", |e| *e == text("after")).await;
    assert_eq!(*log.borrow(), seen, "no calls after the guard is dropped");
}

#[wasm_bindgen_test]
async fn offers_subprotocols_and_the_server_selects_the_first() {
    let key = unique_key("proto");
    let builder = Socket::builder(ws_url("/proto", &key)).protocols(["a", "b"]);
    let (socket, mut events) = connect(builder);
    assert_eq!(socket.protocol(), "", "none before open");
    wait_open(&mut events).await;
    assert_eq!(socket.protocol(), "a");
    let (reply, _) = wait_for(&mut events, 3_000, "protocol reply", |e| {
        matches!(e, Event::Message(_))
    })
    .await;
    assert_eq!(reply, text("protocol:a"));
    assert_eq!(stats(&key).await.protocols, ["a"]);
}

#[wasm_bindgen_test]
async fn server_close_is_reported_with_its_code_then_a_retry_is_scheduled() {
    let key = unique_key("close4001");
    // Long delay: the retry is scheduled but does not happen during the test.
    let builder = Socket::builder(ws_url("/close?code=4001&reason=bye", &key)).backoff(fast_backoff(10_000));
    let (socket, mut events) = connect(builder);
    wait_open(&mut events).await;
    let (close, _) = wait_for(&mut events, 3_000, "Close", is_close).await;
    let expected = CloseInfo {
        code: 4001,
        reason: "bye".into(),
        was_clean: true,
    };
    assert_eq!(close, Event::Close(expected));
    // Close, then the state change, then the retry announcement; nothing else in between.
    let (retry, between) = wait_for(&mut events, 1_000, "Reconnecting", is_reconnecting).await;
    assert_eq!(
        between,
        [Event::StateChange {
            from: State::Open,
            to: State::Reconnecting
        }]
    );
    let Event::Reconnecting { attempt, reason, .. } = retry else {
        unreachable!()
    };
    assert_eq!((attempt, reason), (1, RetryReason::Closed));
    assert_eq!(socket.state(), State::Reconnecting);
}

#[wasm_bindgen_test]
async fn should_reconnect_false_closes_for_good() {
    let key = unique_key("noretry");
    let asked = Rc::new(RefCell::new(Vec::<CloseInfo>::new()));
    let builder = {
        let asked = asked.clone();
        Socket::builder(ws_url("/close?code=4001&reason=bye", &key))
            .backoff(fast_backoff(50))
            .should_reconnect(move |info| {
                asked.borrow_mut().push(info.clone());
                false
            })
    };
    let (socket, mut events) = connect(builder);
    wait_open(&mut events).await;
    wait_for(&mut events, 3_000, "Close", is_close).await;
    let (change, _) = wait_for(&mut events, 1_000, "StateChange", |e| {
        matches!(e, Event::StateChange { .. })
    })
    .await;
    assert_eq!(
        change,
        Event::StateChange {
            from: State::Open,
            to: State::Closed
        }
    );
    assert_eq!(asked.borrow().len(), 1);
    assert_eq!(asked.borrow()[0].code, 4001);
    // A retry would come after 50 ms; give it far longer to show up.
    expect_none(&mut events, 1_000, "retry", |e| {
        is_reconnecting(e) || *e == Event::Open
    })
    .await;
    assert_eq!(socket.state(), State::Closed);
    assert_eq!(stats(&key).await.connections, 1);
}

#[wasm_bindgen_test]
async fn abrupt_drop_reports_1006_and_reconnects() {
    let key = unique_key("drop");
    // The server echoes one message, then drops TCP without a close frame.
    let builder = Socket::builder(ws_url("/drop?after=1", &key)).backoff(fast_backoff(100));
    let (socket, mut events) = connect(builder);
    wait_open(&mut events).await;
    socket.send("x").unwrap();
    wait_for(&mut events, 3_000, "echo", |e| *e == text("x")).await;
    let (close, _) = wait_for(&mut events, 3_000, "Close", is_close).await;
    let Event::Close(info) = close else { unreachable!() };
    assert_eq!((info.code, info.was_clean), (1006, false), "{info:?}");
    let (retry, _) = wait_for(&mut events, 1_000, "Reconnecting", is_reconnecting).await;
    assert!(
        matches!(
            retry,
            Event::Reconnecting {
                attempt: 1,
                reason: RetryReason::Closed,
                ..
            }
        ),
        "{retry:?}"
    );
    wait_open(&mut events).await;
    assert_eq!(stats(&key).await.connections, 2);
}

#[wasm_bindgen_test]
async fn connection_timeout_abandons_a_handshake_that_never_completes() {
    let builder = Socket::builder(blackhole_url())
        .connection_timeout(Some(Duration::from_millis(500)))
        .backoff(fast_backoff(10_000));
    let started = now_ms();
    let (socket, mut events) = connect(builder);
    let (error, _) = wait_for(&mut events, 3_000, "Error", |e| matches!(e, Event::Error(_))).await;
    let elapsed = now_ms() - started;
    assert_eq!(error, Event::Error(ConnectionError::ConnectionTimeout));
    // Within +50 % plus 100 ms: the JS face measured 505-537 ms over 10 runs on a loaded box.
    assert!(
        (490.0..850.0).contains(&elapsed),
        "timed out after {elapsed} ms, want ~500"
    );
    let (close, _) = wait_for(&mut events, 1_000, "Close", is_close).await;
    assert!(
        matches!(
            close,
            Event::Close(CloseInfo {
                code: 1006,
                was_clean: false,
                ..
            })
        ),
        "{close:?}"
    );
    let (retry, _) = wait_for(&mut events, 1_000, "Reconnecting", is_reconnecting).await;
    assert!(
        matches!(
            retry,
            Event::Reconnecting {
                attempt: 1,
                reason: RetryReason::ConnectionTimeout,
                ..
            }
        ),
        "{retry:?}"
    );
    assert_eq!(socket.state(), State::Reconnecting);
}

fn heartbeat_200_400() -> HeartbeatOptions {
    HeartbeatOptions::default()
        .interval(Duration::from_millis(200))
        .timeout(Duration::from_millis(400))
        .message("ping")
}

#[wasm_bindgen_test]
async fn heartbeat_timeout_closes_a_connection_whose_server_went_silent() {
    let key = unique_key("mute");
    // The server echoes the first ping, then reads but never answers.
    let builder = Socket::builder(ws_url("/mute?after=1", &key))
        .heartbeat(heartbeat_200_400())
        .backoff(fast_backoff(10_000));
    let (_socket, mut events) = connect(builder);
    wait_open(&mut events).await;
    let opened = now_ms();
    let (close, _) = wait_for(&mut events, 3_000, "Close", is_close).await;
    let elapsed = now_ms() - opened;
    let expected = CloseInfo {
        code: 1006,
        reason: "heartbeat timeout".into(),
        was_clean: false,
    };
    assert_eq!(close, Event::Close(expected));
    // Ping at 200 ms answered, ping at 400 ms not, dead at 800 ms (600 ms if the answered
    // ping were ignored, which the lower bound catches).
    assert!(
        (750.0..1_100.0).contains(&elapsed),
        "declared dead after {elapsed} ms, want ~800"
    );
    let (retry, _) = wait_for(&mut events, 1_000, "Reconnecting", is_reconnecting).await;
    assert!(
        matches!(
            retry,
            Event::Reconnecting {
                reason: RetryReason::HeartbeatTimeout,
                ..
            }
        ),
        "{retry:?}"
    );
    // The server was told why (our close frame: 4000 "heartbeat timeout").
    stats_until(&key, 2_000, "told about the timeout", |s| {
        s.closes.iter().any(|c| c.reason == "heartbeat timeout")
    })
    .await;
}

#[wasm_bindgen_test]
async fn heartbeat_keeps_an_answering_connection_open() {
    let key = unique_key("heartbeat-echo");
    let builder = Socket::builder(ws_url("/echo", &key)).heartbeat(heartbeat_200_400());
    let (socket, mut events) = connect(builder);
    wait_open(&mut events).await;
    expect_none(&mut events, 2_000, "close or error", |e| {
        is_close(e) || matches!(e, Event::Error(_))
    })
    .await;
    assert_eq!(socket.state(), State::Open);
    let s = stats(&key).await;
    let pings = s.messages.iter().filter(|m| *m == "ping").count();
    assert!(pings >= 5, "only {pings} heartbeats in 2 s at a 200 ms interval");
    assert_eq!(s.connections, 1);
}

#[wasm_bindgen_test]
async fn close_1000_stops_retries() {
    let key = unique_key("close-stops");
    let builder = Socket::builder(ws_url("/echo", &key)).backoff(fast_backoff(50));
    let (socket, mut events) = connect(builder);
    wait_open(&mut events).await;
    socket.close(1000, "").unwrap();
    assert_eq!(socket.state(), State::Closing);
    let (close, _) = wait_for(&mut events, 3_000, "Close", is_close).await;
    let expected = CloseInfo {
        code: 1000,
        reason: String::new(),
        was_clean: true,
    };
    assert_eq!(close, Event::Close(expected));
    assert_eq!(socket.state(), State::Closed);
    expect_none(&mut events, 2_000, "retry", |e| {
        is_reconnecting(e) || *e == Event::Open
    })
    .await;
    let s = stats(&key).await;
    assert_eq!((s.connections, s.open), (1, 0));
    assert_eq!(s.closes.first().and_then(|c| c.code), Some(1000));
}

#[wasm_bindgen_test]
async fn close_rejects_codes_and_reasons_the_protocol_forbids() {
    let key = unique_key("bad-close");
    let (socket, mut events) = connect(Socket::builder(ws_url("/echo", &key)));
    wait_open(&mut events).await;
    for code in [0, 999, 1001, 1005, 1006, 2999, 5000] {
        assert!(
            matches!(socket.close(code, ""), Err(Error::InvalidClose(_))),
            "close({code}) must be refused"
        );
    }
    let long = "x".repeat(124);
    let err = socket.close(1000, &long).unwrap_err();
    assert!(matches!(err, Error::InvalidClose(_)), "{err:?}");
    assert!(!err.to_string().is_empty());
    // Refused closes leave the connection alone.
    assert_eq!(socket.state(), State::Open);
    socket.send("still here").unwrap();
    wait_for(&mut events, 3_000, "echo", |e| *e == text("still here")).await;
}

#[wasm_bindgen_test]
fn invalid_urls_and_protocols_are_errors_not_panics() {
    for url in [
        "ws://",
        "http://[::1",
        "ws://host:99999/",
        "ftp://example.com/",
        "ws://example.com/#fragment",
    ] {
        match Socket::builder(url).connect() {
            Err(Error::InvalidUrl(why)) => assert!(!why.to_string().is_empty()),
            other => panic!("{url:?}: expected InvalidUrl, got {:?}", other.err()),
        }
    }
    for protocols in [vec!["a b"], vec![""], vec!["a", "a"]] {
        let result = Socket::builder(ws_url("/echo", "unused"))
            .protocols(protocols.clone())
            .connect();
        assert!(
            matches!(result, Err(Error::InvalidProtocol(_))),
            "{protocols:?}: {:?}",
            result.err()
        );
    }
}

#[wasm_bindgen_test]
async fn a_message_above_max_message_bytes_closes_as_1009_and_is_not_delivered() {
    let key = unique_key("too-big");
    let builder = Socket::builder(ws_url("/echo", &key))
        .max_message_bytes(Some(5))
        .backoff(fast_backoff(50));
    let (socket, mut events) = connect(builder);
    wait_open(&mut events).await;
    // "héllo" is 5 characters but 6 UTF-8 bytes.
    socket.send("héllo").unwrap();
    let (_, seen) = wait_for(&mut events, 3_000, "close", is_close).await;
    assert!(
        seen.contains(&Event::Error(ConnectionError::MessageTooBig)),
        "{seen:?}"
    );
    assert!(!seen.iter().any(|e| matches!(e, Event::Message(_))), "{seen:?}");
    let (retry, _) = wait_for(&mut events, 3_000, "retry", is_reconnecting).await;
    assert!(matches!(
        retry,
        Event::Reconnecting {
            reason: RetryReason::MessageTooBig,
            ..
        }
    ));
    wait_open(&mut events).await;
    socket.send("hello").unwrap();
    let (echo, _) = wait_for(&mut events, 3_000, "echo", |e| matches!(e, Event::Message(_))).await;
    assert_eq!(echo, text("hello"));
}

#[wasm_bindgen_test]
async fn is_pong_replies_keep_the_connection_and_are_not_delivered() {
    let key = unique_key("is-pong");
    // The echo server answers every "ping" with "ping": with is_pong those are the replies.
    let heartbeat = heartbeat_200_400().is_pong(|m| *m == Message::from("ping"));
    let builder = Socket::builder(ws_url("/echo", &key)).heartbeat(heartbeat);
    let (socket, mut events) = connect(builder);
    wait_open(&mut events).await;
    socket.send("news").unwrap();
    // Five heartbeat timeouts long: a pong that did not count would have closed it.
    let seen = expect_none(&mut events, 2_000, "pong delivered, close or error", |e| {
        *e == text("ping") || is_close(e) || matches!(e, Event::Error(_))
    })
    .await;
    assert_eq!(seen, [text("news")], "other messages are delivered");
    assert_eq!(socket.state(), State::Open);
    let s = stats(&key).await;
    let pings = s.messages.iter().filter(|m| *m == "ping").count();
    assert!(pings >= 5, "only {pings} heartbeats in 2 s at a 200 ms interval");
    assert_eq!(s.connections, 1);
}

#[wasm_bindgen_test]
async fn messages_is_pong_refuses_are_delivered_and_are_no_reply() {
    let key = unique_key("not-pong");
    // Every ping is echoed, and is_pong says none is the reply: the heartbeat times out.
    let heartbeat = heartbeat_200_400().is_pong(|m| *m == Message::from("pong"));
    let builder = Socket::builder(ws_url("/echo", &key))
        .heartbeat(heartbeat)
        .backoff(fast_backoff(10_000));
    let (_socket, mut events) = connect(builder);
    wait_open(&mut events).await;
    let opened = now_ms();
    let (close, seen) = wait_for(&mut events, 3_000, "Close", is_close).await;
    let elapsed = now_ms() - opened;
    assert_eq!(
        close,
        Event::Close(CloseInfo {
            code: 1006,
            reason: "heartbeat timeout".into(),
            was_clean: false,
        })
    );
    // First ping at 200 ms, unanswered as far as is_pong goes: dead at 600 ms (counted as
    // a reply, it would keep the connection: no close at all).
    assert!(
        (550.0..1_500.0).contains(&elapsed),
        "declared dead after {elapsed} ms, want ~600"
    );
    assert!(
        seen.contains(&text("ping")),
        "the echoed ping is delivered: {seen:?}"
    );
}

#[wasm_bindgen_test]
async fn without_is_pong_every_reply_is_delivered() {
    // Today's behaviour, kept: any message is the reply, and every message is delivered.
    let key = unique_key("pong-delivered");
    let builder = Socket::builder(ws_url("/echo", &key)).heartbeat(heartbeat_200_400());
    let (socket, mut events) = connect(builder);
    wait_open(&mut events).await;
    wait_for(&mut events, 2_000, "the echoed ping", |e| *e == text("ping")).await;
    expect_none(&mut events, 1_000, "close", is_close).await;
    assert_eq!(socket.state(), State::Open);
}

#[wasm_bindgen_test]
async fn send_says_written_queued_or_dropped_and_a_rejected_message_comes_back() {
    use tether_ws::{DropReason, Overflow, QueueOptions, SendError};

    let queue = |overflow| QueueOptions::default().max_messages(Some(1)).overflow(overflow);
    let closed = |overflow, key: &str| {
        connect(
            Socket::builder(ws_url("/echo", key))
                .start_closed(true)
                .queue(queue(overflow)),
        )
    };
    let is_dropped = |e: &Event| matches!(e, Event::Dropped { .. });

    // Reject: the refused message is handed back, and no Dropped event tells of it.
    let key = unique_key("reject");
    let (socket, mut events) = closed(Overflow::Reject, &key);
    assert_eq!(socket.send("first"), Ok(Sent::Queued));
    let refused = socket.send(vec![1u8, 2, 3]);
    assert_eq!(refused, Err(SendError::QueueFull(Message::Binary(vec![1, 2, 3]))));
    let refused = refused.unwrap_err();
    assert_eq!(refused.to_string(), Error::QueueFull.to_string());
    assert_eq!(refused.into_message(), Message::Binary(vec![1, 2, 3]));
    assert_eq!(
        socket.send_replacing("second", "k"),
        Err(SendError::QueueFull(Message::from("second")))
    );
    assert_eq!(
        socket.send_json(&"third"),
        Err(Error::QueueFull),
        "send_json's caller still has the value"
    );
    assert_eq!(socket.queued_messages(), 1);
    expect_none(&mut events, 100, "Dropped", is_dropped).await;
    // What was queued goes; what was refused never does.
    socket.reconnect();
    wait_open(&mut events).await;
    wait_for(&mut events, 3_000, "echo", |e| *e == text("first")).await;
    assert_eq!(socket.send("later"), Ok(Sent::Written));
    wait_for(&mut events, 3_000, "echo", |e| *e == text("later")).await;
    assert_eq!(stats(&key).await.messages, ["first", "later"]);

    // DropNewest: the new message is discarded at once, and said so.
    let (socket, mut events) = closed(Overflow::DropNewest, &unique_key("drop-newest"));
    assert_eq!(socket.send("kept"), Ok(Sent::Queued));
    assert_eq!(socket.send("gone"), Ok(Sent::Dropped));
    let (dropped, _) = wait_for(&mut events, 1_000, "Dropped", is_dropped).await;
    assert_eq!(
        dropped,
        Event::Dropped {
            message: Message::from("gone"),
            reason: DropReason::Overflow
        }
    );

    // DropOldest: the new message is queued, an older one makes room.
    let (socket, mut events) = closed(Overflow::DropOldest, &unique_key("drop-oldest"));
    assert_eq!(socket.send("old"), Ok(Sent::Queued));
    assert_eq!(socket.send("new"), Ok(Sent::Queued));
    let (dropped, _) = wait_for(&mut events, 1_000, "Dropped", is_dropped).await;
    assert_eq!(
        dropped,
        Event::Dropped {
            message: Message::from("old"),
            reason: DropReason::Overflow
        }
    );
    // Too big for the outbox by itself: dropped, whatever the policy evicts.
    let bytes = QueueOptions::default().max_bytes(Some(4));
    let (socket, _events) = connect(
        Socket::builder(ws_url("/echo", "unused"))
            .start_closed(true)
            .queue(bytes),
    );
    assert_eq!(socket.send("12345"), Ok(Sent::Dropped));
    assert_eq!(socket.send("1234"), Ok(Sent::Queued));
}

#[wasm_bindgen_test]
async fn url_protocol_extensions_and_byte_counts_are_the_js_faces() {
    let key = unique_key("getters");
    let http = ws_url("/proto", &key).replacen("ws://", "http://", 1);
    let builder = Socket::builder(http.as_str()).protocols(["a"]).start_closed(true);
    let (socket, mut events) = connect(builder);
    // Before any socket: the URL to connect to, http: mapped to ws: as the browser does.
    let expected_url = http.replacen("http://", "ws://", 1);
    assert_eq!(socket.url(), expected_url);
    assert_eq!(
        (socket.protocol(), socket.extensions()),
        (String::new(), String::new())
    );
    assert_eq!((socket.queued_bytes(), socket.buffered_amount()), (0, 0));

    // Queued: UTF-8 bytes for text; the outbox is all there is to the buffered amount.
    socket.send("héllo").unwrap(); // 6 bytes
    socket.send(vec![0u8; 10]).unwrap();
    assert_eq!(socket.queued_messages(), 2);
    assert_eq!(socket.queued_bytes(), 16);
    assert_eq!(socket.buffered_amount(), 16);

    socket.reconnect();
    wait_open(&mut events).await;
    assert_eq!(socket.url(), expected_url, "the socket's own");
    assert_eq!(socket.protocol(), "a");
    assert_eq!(socket.extensions(), "", "the test server negotiates none");
    assert_eq!(socket.queued_bytes(), 0, "flushed before Open");

    // Written: in the socket's send buffer until the browser has sent it.
    let big = vec![7u8; 4 << 20];
    assert_eq!(socket.send(big), Ok(Sent::Written));
    let buffered = socket.buffered_amount();
    assert_eq!(socket.queued_bytes(), 0);
    assert!(buffered > 1 << 20, "4 MiB just written, {buffered} B buffered");
    // (The echo comes back once it is all sent.)
    wait_for(
        &mut events,
        10_000,
        "the echo",
        |e| matches!(e, Event::Message(Message::Binary(b)) if b.len() == 4 << 20),
    )
    .await;
    assert_eq!(socket.buffered_amount(), 0);

    // Closed: no socket, nothing selected.
    socket.close(1000, "").unwrap();
    wait_for(&mut events, 3_000, "Close", is_close).await;
    assert_eq!((socket.protocol(), socket.buffered_amount()), (String::new(), 0));
    assert_eq!(socket.url(), expected_url);
}

#[wasm_bindgen_test]
async fn a_url_provider_gives_every_attempt_its_own_url() {
    use std::cell::Cell;

    // Each attempt's URL carries its number in its stats key (as a fresh token would be);
    // the server closes each connection at once, and the third URL is not a valid one.
    let key = unique_key("provided");
    let attempt = Rc::new(Cell::new(0u32));
    let provider = {
        let (attempt, key) = (attempt.clone(), key.clone());
        move || {
            attempt.set(attempt.get() + 1);
            match attempt.get() {
                3 => "ftp://127.0.0.1/".to_owned(),
                n => ws_url("/close?code=4001", &format!("{key}-{n}")),
            }
        }
    };
    let builder = Socket::builder(ws_url("/echo", &key))
        .url_provider(provider)
        .backoff(fast_backoff(50))
        .start_closed(true);
    let (socket, mut events) = connect(builder);
    assert_eq!(attempt.get(), 0, "not asked before an attempt");
    assert_eq!(socket.url(), ws_url("/echo", &key), "the URL given, until then");

    socket.reconnect();
    assert_eq!(attempt.get(), 1, "asked when the attempt's socket is made");
    assert_eq!(socket.url(), ws_url("/close?code=4001", &format!("{key}-1")));
    wait_open(&mut events).await;
    wait_for(&mut events, 3_000, "Close", is_close).await;
    wait_open(&mut events).await;
    // The third attempt's URL is refused: a failed attempt, not a panic, and a retry.
    let (failed, _) = wait_for(&mut events, 3_000, "Error", |e| matches!(e, Event::Error(_))).await;
    assert_eq!(failed, Event::Error(ConnectionError::Socket));
    wait_open(&mut events).await;
    assert_eq!(socket.url(), ws_url("/close?code=4001", &format!("{key}-4")));
    for n in [1, 2, 4] {
        assert_eq!(stats(&format!("{key}-{n}")).await.connections, 1, "attempt {n}");
    }
    assert_eq!(
        stats(&key).await.connections,
        0,
        "the URL given is never connected to"
    );
    socket.close(1000, "").unwrap();
}
