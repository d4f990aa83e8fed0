#![cfg(all(feature = "testing", not(target_arch = "wasm32")))]
//! The testing transport (feature `testing`): a `Socket` on an in-memory `TestServer` with a
//! manual clock, in plain `cargo test`, as an application's own tests would use it. The
//! rules are the core's; these tests check that the transport carries them faithfully:
//! both directions, the outbox across a drop, backoff on the clock, the connection timeout,
//! heartbeats, closes from either side, the URL provider, refused sends, futures and sinks.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use futures::executor::block_on;
use futures::{FutureExt, SinkExt, StreamExt};
use tether_ws::testing::{TestConn, TestServer};
use tether_ws::{
    ConnectionError, DropReason, Event, EventStream, HeartbeatOptions, Jitter, Message, Overflow,
    QueueOptions, ReconnectOptions, RetryReason, SendError, Sent, Socket, SocketBuilder, State, TypedEvent,
    TypedSocket,
};

const MS: Duration = Duration::from_millis(1);

fn text(s: &str) -> Message {
    Message::Text(s.into())
}

/// Exact backoff (no jitter): 1 s, then 1.3 s, ... as the defaults say.
fn builder(server: &TestServer) -> SocketBuilder {
    Socket::builder("wss://example.com/live")
        .backoff(ReconnectOptions::default().jitter(Jitter::None))
        .transport(server)
}

/// The events buffered in `events` so far.
fn drain(events: &mut EventStream) -> Vec<Event> {
    std::iter::from_fn(|| events.next().now_or_never().flatten()).collect()
}

fn accepted(server: &TestServer) -> TestConn {
    let conn = server.next_connection().expect("a connection attempt waits");
    conn.accept();
    conn
}

#[test]
fn messages_go_both_ways_and_events_come_in_order() {
    let server = TestServer::new();
    let socket = builder(&server).connect().unwrap();
    let mut events = socket.events();
    assert_eq!(socket.state(), State::Connecting);
    assert_eq!(server.connections_waiting(), 1);
    let conn = accepted(&server);
    assert_eq!(server.connections_waiting(), 0);
    assert!(conn.is_open() && !conn.is_closed());
    assert_eq!(socket.state(), State::Open);
    assert_eq!(socket.send("hello").unwrap(), Sent::Written);
    socket.send(vec![1u8, 2, 3]).unwrap();
    assert_eq!(conn.received(), [text("hello"), Message::Binary(vec![1, 2, 3])]);
    assert!(conn.send("welcome"));
    assert_eq!(
        drain(&mut events),
        [
            Event::StateChange {
                from: State::Connecting,
                to: State::Open
            },
            Event::Open,
            Event::Message(text("welcome")),
        ]
    );
    assert_eq!(socket.url(), "wss://example.com/live");
}

#[test]
fn a_drop_queues_what_is_sent_and_the_retry_comes_at_the_backoff_delay() {
    let server = TestServer::new();
    let socket = builder(&server).connect().unwrap();
    let mut events = socket.events();
    let conn = accepted(&server);
    assert_eq!(socket.retry_count(), 0);
    conn.drop_connection();
    assert!(!conn.is_open() && conn.is_closed());
    assert!(!conn.send("too late"), "nothing goes over a dropped connection");
    assert_eq!(socket.state(), State::Reconnecting);
    let log = drain(&mut events);
    assert!(log.contains(&Event::Error(ConnectionError::Socket)), "{log:?}");
    assert!(
        log.iter()
            .any(|e| matches!(e, Event::Close(info) if info.code == 1006 && !info.was_clean)),
        "{log:?}"
    );
    // The connection had not stayed up for min_uptime: the first delay is the minimum, 1 s.
    let delay = log.iter().find_map(|e| match e {
        Event::Reconnecting { delay, reason, .. } => Some((*delay, *reason)),
        _ => None,
    });
    assert_eq!(delay, Some((Duration::from_secs(1), RetryReason::Closed)));
    // Sent while down: queued, in order.
    assert_eq!(socket.send("one").unwrap(), Sent::Queued);
    socket.send("two").unwrap();
    assert_eq!(socket.queued_messages(), 2);
    assert_eq!(socket.buffered_amount(), 6);
    server.advance(Duration::from_secs(1) - MS);
    assert_eq!(server.now(), Duration::from_millis(999));
    assert_eq!(server.connections_waiting(), 0, "not before the delay");
    server.advance(MS);
    assert_eq!(server.now(), Duration::from_secs(1));
    let conn = accepted(&server);
    assert_eq!(conn.received(), [text("one"), text("two")]);
    assert_eq!(socket.queued_messages(), 0);
    assert_eq!(socket.retry_count(), 1);
}

#[test]
fn close_from_the_client_is_final_and_the_server_sees_its_code() {
    let server = TestServer::new();
    let socket = builder(&server).connect().unwrap();
    let mut events = socket.events();
    let conn = accepted(&server);
    socket.close(4000, "bye").unwrap();
    assert_eq!(conn.closed_by_client(), Some((4000, "bye".into())));
    assert!(conn.is_closed());
    assert_eq!(socket.state(), State::Closed);
    let log = drain(&mut events);
    assert!(
        log.iter()
            .any(|e| matches!(e, Event::Close(info) if info.code == 4000 && info.was_clean)),
        "{log:?}"
    );
    server.advance(Duration::from_secs(3600));
    assert_eq!(server.connections_waiting(), 0, "no retry after close()");
    // reconnect() starts again at once.
    socket.reconnect();
    assert!(server.next_connection().is_some());
}

#[test]
fn a_close_from_the_server_is_clean_and_retried() {
    let server = TestServer::new();
    let socket = builder(&server).connect().unwrap();
    let mut events = socket.events();
    let conn = accepted(&server);
    drain(&mut events);
    conn.close(1012, "restarting");
    assert_eq!(conn.closed_by_client(), None);
    let log = drain(&mut events);
    assert!(
        log.iter()
            .any(|e| matches!(e, Event::Close(info) if info.code == 1012 && info.reason == "restarting" && info.was_clean)),
        "{log:?}"
    );
    assert_eq!(socket.state(), State::Reconnecting);
    server.advance(Duration::from_secs(1));
    assert!(server.next_connection().is_some());
}

#[test]
fn a_handshake_that_never_completes_times_out_and_is_retried() {
    let server = TestServer::new();
    let socket = builder(&server)
        .connection_timeout(Some(Duration::from_secs(2)))
        .connect()
        .unwrap();
    let mut events = socket.events();
    let first = server.next_connection().unwrap();
    server.advance(Duration::from_secs(2));
    assert!(first.is_closed(), "the socket gave up on it");
    assert!(drain(&mut events).contains(&Event::Error(ConnectionError::ConnectionTimeout)));
    // A late accept changes nothing.
    first.accept();
    assert_eq!(socket.state(), State::Reconnecting);
    server.advance(Duration::from_secs(1));
    let second = accepted(&server);
    assert!(second.is_open());
    assert_eq!(socket.state(), State::Open);
}

#[test]
fn heartbeats_go_out_on_the_clock_and_a_silent_server_is_noticed() {
    let server = TestServer::new();
    let socket = builder(&server)
        .heartbeat(
            HeartbeatOptions::default()
                .interval(Duration::from_secs(10))
                .timeout(Duration::from_secs(3))
                .message("ping")
                .is_pong(|m| *m == Message::Text("pong".into())),
        )
        .connect()
        .unwrap();
    let mut events = socket.events();
    let conn = accepted(&server);
    drain(&mut events);
    server.advance(Duration::from_secs(10));
    assert_eq!(conn.received(), [text("ping")]);
    // Answered: the pong is not delivered, the connection stays.
    conn.send("pong");
    server.advance(Duration::from_secs(5));
    assert!(conn.is_open());
    assert!(drain(&mut events).is_empty(), "a pong is not a message");
    // Next one unanswered: the socket closes it after the timeout and retries.
    server.advance(Duration::from_secs(5));
    assert_eq!(conn.received(), [text("ping")]);
    server.advance(Duration::from_secs(3));
    assert!(conn.is_closed());
    assert!(conn.closed_by_client().is_some());
    let log = drain(&mut events);
    assert!(
        log.iter().any(|e| matches!(
            e,
            Event::Reconnecting {
                reason: RetryReason::HeartbeatTimeout,
                ..
            }
        )),
        "{log:?}"
    );
}

#[test]
fn the_url_provider_runs_before_every_attempt() {
    let server = TestServer::new();
    let attempt = Rc::new(Cell::new(0));
    let counter = attempt.clone();
    let socket = builder(&server)
        .url_provider(move || {
            counter.set(counter.get() + 1);
            format!("wss://example.com/live?token={}", counter.get())
        })
        .connect()
        .unwrap();
    let first = server.next_connection().unwrap();
    assert_eq!(first.url(), "wss://example.com/live?token=1");
    first.refuse();
    server.advance(Duration::from_secs(1));
    let second = server.next_connection().unwrap();
    assert_eq!(second.url(), "wss://example.com/live?token=2");
    assert_eq!(socket.url(), "wss://example.com/live?token=2");
}

#[test]
fn a_refused_send_comes_back_to_the_caller() {
    let server = TestServer::new();
    let socket = builder(&server)
        .queue(
            QueueOptions::default()
                .max_messages(Some(1))
                .overflow(Overflow::Reject),
        )
        .connect()
        .unwrap();
    socket.send("kept").unwrap();
    let Err(SendError::QueueFull(back)) = socket.send("refused") else {
        panic!("a full outbox under Overflow::Reject refuses")
    };
    assert_eq!(back, text("refused"));
    let conn = accepted(&server);
    assert_eq!(conn.received(), [text("kept")]);
}

#[test]
fn an_oversized_message_closes_with_1009_and_is_not_delivered() {
    let server = TestServer::new();
    let socket = builder(&server).max_message_bytes(Some(4)).connect().unwrap();
    let mut events = socket.events();
    let conn = accepted(&server);
    drain(&mut events);
    conn.send("12345");
    let log = drain(&mut events);
    assert!(!log.iter().any(|e| matches!(e, Event::Message(_))), "{log:?}");
    assert!(
        log.contains(&Event::Error(ConnectionError::MessageTooBig)),
        "{log:?}"
    );
    assert!(conn.is_closed());
    assert_eq!(socket.state(), State::Reconnecting);
}

#[test]
fn offered_subprotocols_and_the_selected_one() {
    let server = TestServer::new();
    let socket = builder(&server)
        .protocols(["chat.v2", "chat.v1"])
        .connect()
        .unwrap();
    let conn = server.next_connection().unwrap();
    assert_eq!(conn.protocols(), ["chat.v2", "chat.v1"]);
    conn.accept_protocol("chat.v1");
    assert_eq!(socket.protocol(), "chat.v1");
    // One never offered fails the connection, as in a browser.
    conn.close(1000, "");
    server.advance(Duration::from_secs(1));
    let next = server.next_connection().unwrap();
    next.accept_protocol("other");
    assert!(next.is_closed());
    assert_eq!(socket.state(), State::Reconnecting);
}

#[test]
fn futures_and_the_sink_work_without_a_browser() {
    let server = TestServer::new();
    let mut socket = builder(&server).connect().unwrap();
    let opened = socket.opened();
    let conn = accepted(&server);
    block_on(opened).expect("opened");
    block_on(SinkExt::send(&mut socket, text("via the sink"))).unwrap();
    block_on(socket.flushed());
    assert_eq!(conn.received(), [text("via the sink")]);
}

#[test]
fn a_typed_socket_decodes_what_the_server_sends() {
    let server = TestServer::new();
    let typed: TypedSocket<Vec<u32>, Vec<u32>> = TypedSocket::new(builder(&server).connect().unwrap());
    let mut events = typed.events();
    let conn = accepted(&server);
    typed.send(&vec![1, 2]).unwrap();
    assert_eq!(conn.received(), [text("[1,2]")]);
    conn.send("[3,4]");
    conn.send("not json");
    let decoded: Vec<_> = std::iter::from_fn(|| events.next().now_or_never().flatten()).collect();
    assert!(decoded.contains(&TypedEvent::Message(vec![3, 4])), "{decoded:?}");
    assert!(
        decoded
            .iter()
            .any(|e| matches!(e, TypedEvent::DecodeError { .. })),
        "{decoded:?}"
    );
}

#[test]
fn dropping_the_last_handle_closes_the_connection_and_reports_the_queue() {
    let server = TestServer::new();
    let socket = builder(&server).start_closed(true).connect().unwrap();
    let mut events = socket.events();
    socket.send("left behind").unwrap();
    socket.reconnect();
    let conn = server.next_connection().unwrap();
    drain(&mut events);
    drop(socket);
    assert!(conn.is_closed());
    // Once disposed, only the queued messages' drops are told.
    let log = drain(&mut events);
    assert!(
        matches!(
            &log[..],
            [Event::Dropped { message, reason: DropReason::Disposed }] if *message == text("left behind")
        ),
        "{log:?}"
    );
    assert_eq!(events.next().now_or_never(), Some(None), "the stream ends");
}

#[test]
fn the_handles_say_what_they_hold_when_printed() {
    let server = TestServer::new();
    let _socket = builder(&server).connect().unwrap();
    assert_eq!(
        format!("{server:?}"),
        "TestServer { now: 0ns, connections_waiting: 1, .. }"
    );
    let conn = server.next_connection().unwrap();
    assert_eq!(
        format!("{conn:?}"),
        r#"TestConn { url: "wss://example.com/live", state: Connecting, .. }"#
    );
}

#[test]
fn without_a_transport_a_native_socket_is_still_unsupported() {
    let err = Socket::builder("wss://example.com/live").connect().unwrap_err();
    assert!(matches!(err, tether_ws::Error::Unsupported), "{err}");
}
