#![cfg(all(
    feature = "testing",
    feature = "postcard",
    feature = "msgpack",
    not(target_arch = "wasm32")
))]
//! The typed layer's codecs on a real `Socket` (the testing transport, feature `testing`):
//! one decode per message however many streams and callbacks, typed `send_replacing` and
//! `on_event`, postcard and MessagePack as binary, and streams that end with the socket.
//! Run with `cargo test --features testing,postcard,msgpack --test typed_codec`.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use futures::{FutureExt, StreamExt};
use serde::{Deserialize, Serialize};
use tether_ws::testing::{TestConn, TestServer};
use tether_ws::{
    Codec, CodecError, Json, Message, MsgPack, Postcard, Sent, Socket, TypedEvent, TypedEventStream,
    TypedSocket,
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Point {
    x: i32,
    y: i32,
}

thread_local! {
    static DECODES: Cell<usize> = const { Cell::new(0) };
}

/// JSON, counting its decodes.
struct Counting;

impl Codec<Point, Point> for Counting {
    fn encode(value: &Point) -> Result<Message, CodecError> {
        <Json as Codec<Point, Point>>::encode(value)
    }
    fn decode(message: &Message) -> Result<Point, CodecError> {
        DECODES.with(|d| d.set(d.get() + 1));
        <Json as Codec<Point, Point>>::decode(message)
    }
}

fn connect(server: &TestServer) -> (Socket, TestConn) {
    let socket = Socket::builder("wss://example.com/live")
        .transport(server)
        .connect()
        .unwrap();
    let conn = server.next_connection().expect("an attempt");
    conn.accept();
    (socket, conn)
}

fn messages<In: Clone>(events: &mut TypedEventStream<In>) -> Vec<TypedEvent<In>> {
    std::iter::from_fn(|| events.next().now_or_never().flatten())
        .filter(|e| !matches!(e, TypedEvent::Other(_)))
        .collect()
}

#[test]
fn clones_streams_and_callbacks_share_one_decode_per_message() {
    let server = TestServer::new();
    let (socket, conn) = connect(&server);
    let typed = TypedSocket::with_codec(socket, Counting);
    let clone = typed.clone();
    let mut streams = vec![typed.events(), typed.events(), clone.events()];
    let seen = Rc::new(RefCell::new(Vec::new()));
    let _subscriptions: Vec<_> = [&typed, &clone]
        .into_iter()
        .map(|t| {
            let seen = seen.clone();
            t.on_event(move |e| {
                if let TypedEvent::Message(p) = e {
                    seen.borrow_mut().push(p.clone());
                }
            })
        })
        .collect();
    DECODES.with(|d| d.set(0));
    conn.send(r#"{"x":1,"y":2}"#);
    conn.send(r#"{"x":3,"y":4}"#);
    conn.send("garbage");
    assert_eq!(
        DECODES.with(Cell::get),
        3,
        "3 messages, 3 streams + 2 callbacks: 3 decodes"
    );
    for stream in &mut streams {
        let got = messages(stream);
        assert_eq!(got.len(), 3);
        assert_eq!(
            got[..2],
            [
                TypedEvent::Message(Point { x: 1, y: 2 }),
                TypedEvent::Message(Point { x: 3, y: 4 })
            ]
        );
        assert!(matches!(&got[2], TypedEvent::DecodeError { raw, .. } if *raw == Message::from("garbage")));
    }
    assert_eq!(seen.borrow().len(), 4);
    // Another TypedSocket of the same socket is another decoding point.
    let other = TypedSocket::with_codec(typed.socket().clone(), Counting);
    let _other_events = other.events();
    conn.send(r#"{"x":5,"y":6}"#);
    assert_eq!(DECODES.with(Cell::get), 5);
}

#[test]
fn typed_send_replacing_keeps_only_the_latest_queued_value() {
    let server = TestServer::new();
    let socket = Socket::builder("wss://example.com/live")
        .transport(&server)
        .connect()
        .unwrap();
    let cursor: TypedSocket<Point, Point> = TypedSocket::new(socket);
    assert_eq!(
        cursor.send_replacing(&Point { x: 1, y: 0 }, "cursor"),
        Ok(Sent::Queued)
    );
    assert_eq!(
        cursor.send_replacing(&Point { x: 2, y: 0 }, "cursor"),
        Ok(Sent::Queued)
    );
    assert_eq!(cursor.socket().queued_messages(), 1);
    let conn = server.next_connection().unwrap();
    conn.accept();
    assert_eq!(conn.received(), [Message::from(r#"{"x":2,"y":0}"#)]);
}

#[test]
fn postcard_and_msgpack_travel_as_binary() {
    let server = TestServer::new();
    let (socket, conn) = connect(&server);
    let postcard = TypedSocket::<Point, Point, _>::with_codec(socket.clone(), Postcard);
    let msgpack = TypedSocket::<Point, Point, _>::with_codec(socket, MsgPack);
    let (mut p_events, mut m_events) = (postcard.events(), msgpack.events());
    postcard.send(&Point { x: -1, y: 1 }).unwrap();
    msgpack.send(&Point { x: 2, y: -2 }).unwrap();
    let sent = conn.received();
    assert!(sent.iter().all(|m| matches!(m, Message::Binary(_))), "{sent:?}");
    // The server echoes both: each socket decodes its own, and reports the other's bytes.
    for m in &sent {
        conn.send(m.clone());
    }
    let p = messages(&mut p_events);
    assert_eq!(p[0], TypedEvent::Message(Point { x: -1, y: 1 }));
    let m = messages(&mut m_events);
    assert_eq!(m[1], TypedEvent::Message(Point { x: 2, y: -2 }));
    assert!(matches!(m[0], TypedEvent::DecodeError { .. }), "{m:?}");
}

#[test]
fn typed_streams_end_with_the_socket_even_when_a_callback_holds_the_last() {
    use futures::stream::FusedStream;

    let server = TestServer::new();
    let (socket, conn) = connect(&server);
    let typed: TypedSocket<Point, Point> = TypedSocket::new(socket);
    let mut events = typed.events();
    // A callback that holds a stream and a subscription of its own typed socket.
    let held = RefCell::new(Some(typed.events()));
    let subscription = typed.on_event(move |_| drop(held.borrow_mut().take()));
    conn.send(r#"{"x":0,"y":0}"#);
    drop(subscription);
    let late = typed.on_event(|_| {});
    let held = typed.events();
    drop(typed); // the last handle: the socket goes, streams end
    assert_eq!(messages(&mut events), [TypedEvent::Message(Point { x: 0, y: 0 })]);
    assert!(events.is_terminated());
    drop((late, held));
}

#[test]
fn a_typed_socket_kept_only_by_its_own_callback_ends_with_the_socket() {
    let server = TestServer::new();
    let (socket, conn) = connect(&server);
    let typed: TypedSocket<Point, Point> = TypedSocket::new(socket.clone());
    let calls = Rc::new(Cell::new(0));
    // The callback keeps its own subscription (and so the typed socket's decoding) alive.
    let slot = Rc::new(RefCell::new(None));
    let subscription = typed.on_event({
        let (slot, calls) = (slot.clone(), calls.clone());
        move |_| {
            let _ = &slot;
            calls.set(calls.get() + 1);
        }
    });
    *slot.borrow_mut() = Some(subscription);
    drop(slot);
    drop(typed);
    conn.send(r#"{"x":0,"y":0}"#);
    assert_eq!(calls.get(), 1, "still called: the subscription lives");
    drop(socket); // the socket goes, and with it the callback, its subscription and the hub
}
