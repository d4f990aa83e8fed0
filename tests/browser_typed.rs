//! `TypedSocket` in real Chromium: JSON round trips through the echo server, and messages
//! that do not decode reported as `DecodeError` events without disturbing the socket.
#![cfg(target_arch = "wasm32")]

mod common;

use common::*;
use serde::{Deserialize, Serialize};
use tether_ws::{Event, Message, Sent, Socket, TypedEvent, TypedSocket};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Cursor {
    user: String,
    x: i32,
    y: i32,
}

fn cursor(x: i32) -> Cursor {
    Cursor {
        user: "ana".into(),
        x,
        y: -x,
    }
}

/// A typed socket on /echo, open, with its event stream.
async fn open_typed(name: &str) -> (TypedSocket<Cursor, Cursor>, tether_ws::TypedEventStream<Cursor>) {
    let socket = Socket::builder(ws_url("/echo", &unique_key(name)))
        .connect()
        .unwrap();
    let typed = TypedSocket::new(socket);
    let mut events = typed.events();
    wait_for(&mut events, 5_000, "Open", |e| {
        *e == TypedEvent::Other(Event::Open)
    })
    .await;
    (typed, events)
}

fn is_data(e: &TypedEvent<Cursor>) -> bool {
    matches!(e, TypedEvent::Message(_) | TypedEvent::DecodeError { .. })
}

#[wasm_bindgen_test]
async fn typed_messages_round_trip_as_json() {
    let (typed, mut events) = open_typed("typed").await;
    assert_eq!(typed.send(&cursor(7)), Ok(Sent::Written));
    let (got, _) = wait_for(&mut events, 3_000, "typed echo", is_data).await;
    assert_eq!(got, TypedEvent::Message(cursor(7)));
}

#[wasm_bindgen_test]
async fn non_json_text_is_a_decode_error_and_the_socket_keeps_working() {
    let (typed, mut events) = open_typed("typed-garbage").await;
    // Raw text through the underlying socket; /echo sends it back to the typed layer.
    typed.socket().send("not json").unwrap();
    let (got, _) = wait_for(&mut events, 3_000, "decode error", is_data).await;
    match got {
        TypedEvent::DecodeError { raw, error } => {
            assert_eq!(raw, Message::Text("not json".into()));
            assert!(!error.is_empty());
        }
        other => panic!("expected DecodeError, got {other:?}"),
    }
    typed.send(&cursor(1)).unwrap();
    let (got, _) = wait_for(&mut events, 3_000, "typed echo", is_data).await;
    assert_eq!(got, TypedEvent::Message(cursor(1)));
}

/// Malformed message `i`: plain text, JSON of the wrong shape, or bytes that are not UTF-8.
fn garbage(i: usize) -> Message {
    match i % 3 {
        0 => Message::Text(format!("bad {i}")),
        1 => Message::Text(format!(r#"{{"user":{i},"x":"a"}}"#)),
        _ => Message::Binary(vec![0xff, 0xfe, (i % 256) as u8]),
    }
}

#[wasm_bindgen_test]
async fn a_flood_of_malformed_messages_yields_one_decode_error_each() {
    const N: usize = 1_000;
    let (typed, mut events) = open_typed("typed-flood").await;
    for i in 0..N {
        typed.socket().send(garbage(i)).unwrap();
    }
    for i in 0..N {
        let (got, _) = wait_for(&mut events, 5_000, "decode error", is_data).await;
        match got {
            TypedEvent::DecodeError { raw, .. } => assert_eq!(raw, garbage(i), "message {i}"),
            other => panic!("message {i}: expected DecodeError, got {other:?}"),
        }
    }
    // Still decoding fine afterwards.
    typed.send(&cursor(2)).unwrap();
    let (got, _) = wait_for(&mut events, 3_000, "typed echo", is_data).await;
    assert_eq!(got, TypedEvent::Message(cursor(2)));
}

#[wasm_bindgen_test]
async fn heartbeat_pongs_told_apart_by_is_pong_are_no_decode_errors() {
    use std::time::Duration;
    use tether_ws::HeartbeatOptions;

    let key = unique_key("typed-pong");
    // The echo server answers "ping" with "ping", which is not JSON.
    let heartbeat = HeartbeatOptions::default()
        .interval(Duration::from_millis(100))
        .timeout(Duration::from_millis(300))
        .message("ping")
        .is_pong(|m| *m == Message::from("ping"));
    let socket = Socket::builder(ws_url("/echo", &key))
        .heartbeat(heartbeat)
        .connect()
        .unwrap();
    let typed: TypedSocket<Cursor, Cursor> = TypedSocket::new(socket);
    let mut events = typed.events();
    wait_for(&mut events, 5_000, "Open", |e| {
        matches!(e, TypedEvent::Other(Event::Open))
    })
    .await;
    typed.send(&cursor(1)).unwrap();
    let seen = expect_none(&mut events, 1_000, "a decode error or a close", |e| {
        matches!(
            e,
            TypedEvent::DecodeError { .. } | TypedEvent::Other(Event::Close(_))
        )
    })
    .await;
    assert!(seen.contains(&TypedEvent::Message(cursor(1))), "{seen:?}");
    let pings = stats(&key).await.messages.iter().filter(|m| *m == "ping").count();
    assert!(pings >= 5, "only {pings} heartbeats in 1 s at a 100 ms interval");
}
