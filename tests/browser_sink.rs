//! `Socket` as a `futures::Sink` with backpressure, `opened()` / `flushed()`, and the event
//! streams as `FusedStream`s, in real Chromium against the real test server.
//!
//! Run: `CHROMEDRIVER=/usr/bin/chromedriver cargo test -p tether-ws --target
//! wasm32-unknown-unknown --test browser_sink` with tests/server running (see
//! tests/common/mod.rs).
#![cfg(target_arch = "wasm32")]

mod common;

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use common::*;
use futures::future::poll_fn;
use futures::stream::{self, FusedStream};
use futures::{Sink, SinkExt, StreamExt};
use tether_ws::{Error, Event, Message, Sent, Socket, State, TypedSocket};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// A waker that counts its wakes.
struct Count(AtomicUsize);

impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// `f`'s output, which must come within 2 s: a wait the socket fails to wake is only
/// re-polled by `with_timeout`'s own timer, at 5 s, and fails here.
async fn soon<F: std::future::Future>(what: &str, f: F) -> F::Output {
    let started = now_ms();
    let value = with_timeout(5_000, what, f).await;
    let took = now_ms() - started;
    assert!(
        took < 2_000.0,
        "{what} took {took:.0} ms: not woken by the socket"
    );
    value
}

/// One poll of the sink's `poll_ready`: whether it is ready now.
async fn ready_now(socket: &mut Socket) -> bool {
    poll_fn(|cx| Poll::Ready(Pin::new(&mut *socket).poll_ready(cx).is_ready())).await
}

/// Whether `f` is ready at its first poll.
async fn resolves_at_once<F: std::future::Future + Unpin>(f: &mut F) -> Option<F::Output> {
    poll_fn(|cx| {
        Poll::Ready(match Pin::new(&mut *f).poll(cx) {
            Poll::Ready(v) => Some(v),
            Poll::Pending => None,
        })
    })
    .await
}

#[wasm_bindgen_test]
async fn send_all_delivers_every_message_once_in_order_then_close_closes() {
    const N: usize = 300;
    let key = unique_key("sink-all");
    // A small mark, so that send_all waits on backpressure many times: first while the
    // outbox fills before the connection opens, then while the socket's buffer drains.
    let mut socket = Socket::builder(ws_url("/mute?after=0", &key))
        .high_water_mark(256)
        .connect()
        .expect("valid options");
    assert_eq!(
        socket.state(),
        State::Connecting,
        "send_all starts before the open"
    );
    let expected: Vec<String> = (0..N)
        .map(|i| format!("message {i:04} {}", "x".repeat(40)))
        .collect();
    let mut messages = stream::iter(expected.clone()).map(|m| Ok(Message::Text(m)));
    with_timeout(20_000, "send_all", socket.send_all(&mut messages))
        .await
        .expect("nothing refused");
    assert_eq!(socket.buffered_amount(), 0, "send_all flushes");
    assert_eq!(socket.queued_messages(), 0);

    let s = stats_until(&key, 10_000, "all messages received", |s| s.messages.len() >= N).await;
    assert_eq!(s.messages, expected, "each once, in order");
    assert_eq!(s.connections, 1);

    soon("SinkExt::close", SinkExt::close(&mut socket))
        .await
        .expect("closed");
    assert_eq!(socket.state(), State::Closed, "poll_close waits for the close");
    let s = stats_until(&key, 5_000, "the close frame", |s| !s.closes.is_empty()).await;
    assert_eq!(s.closes[0].code, Some(1000));
    // Closed already: at once.
    with_timeout(1_000, "close again", SinkExt::close(&mut socket))
        .await
        .expect("closed");
}

#[wasm_bindgen_test]
async fn poll_ready_is_pending_while_a_large_send_is_buffered_and_ready_once_it_drains() {
    const MARK: u64 = 1024;
    const BIG: usize = 4 << 20;
    let key = unique_key("sink-backpressure");
    let mut socket = Socket::builder(ws_url("/mute?after=0", &key))
        .high_water_mark(MARK)
        .connect()
        .expect("valid options");
    soon("opened", socket.opened()).await.expect("opens");
    assert!(ready_now(&mut socket).await, "nothing buffered: ready");

    Pin::new(&mut socket)
        .start_send(Message::Binary(vec![7; BIG]))
        .expect("sent");
    assert!(socket.buffered_amount() > MARK, "the browser buffers it");
    assert!(!ready_now(&mut socket).await, "above the mark: not ready");

    // Woken once it has drained, although no event comes (only the drain check sees it):
    // polled with a waker that counts, and not polled again until the bytes are gone.
    let count = Arc::new(Count(AtomicUsize::new(0)));
    let waker = Waker::from(count.clone());
    let mut cx = Context::from_waker(&waker);
    assert!(Pin::new(&mut socket).poll_ready(&mut cx).is_pending());
    let started = now_ms();
    while socket.buffered_amount() > MARK {
        assert!(now_ms() - started < 10_000.0, "not drained in 10 s");
        sleep(5).await;
    }
    log(&format!("drained {BIG} bytes in {:.0} ms", now_ms() - started));
    sleep(100).await; // (the check's interval is at most 32 ms)
    assert!(count.0.load(Ordering::SeqCst) >= 1, "not woken after the drain");
    assert!(Pin::new(&mut socket).poll_ready(&mut cx).is_ready());
    with_timeout(
        10_000,
        "poll_flush",
        poll_fn(|cx| Pin::new(&mut socket).poll_flush(cx)),
    )
    .await
    .expect("flushed");
    assert_eq!(socket.buffered_amount(), 0);
    stats_until(&key, 10_000, "the big message", |s| s.binary_bytes == BIG as u64).await;
}

#[wasm_bindgen_test]
async fn poll_ready_stays_pending_while_the_server_does_not_read() {
    // /stall never reads: the bytes stay in the browser, and the sink must not say ready.
    let key = unique_key("sink-stall");
    let mut socket = Socket::builder(ws_url("/stall", &key))
        .high_water_mark(1024)
        .connect()
        .expect("valid options");
    soon("opened", socket.opened()).await.expect("opens");
    let mut sent = 0;
    // Enough to fill the kernel's buffers: then what is sent stays in the browser's.
    while socket.buffered_amount() <= 2 << 20 && sent < 64 {
        Pin::new(&mut socket)
            .start_send(Message::Binary(vec![1; 1 << 20]))
            .expect("sent");
        sent += 1;
        sleep(20).await;
    }
    assert!(socket.buffered_amount() > 1024, "still buffered after {sent} MiB");
    let waited = select_timeout(600, poll_fn(|cx| Pin::new(&mut socket).poll_ready(cx))).await;
    assert!(
        waited.is_none(),
        "ready although {} bytes are buffered",
        socket.buffered_amount()
    );
    let mut flushed = socket.flushed();
    assert!(resolves_at_once(&mut flushed).await.is_none(), "not flushed");
}

/// `f`'s output if it comes within `ms`, else `None`.
async fn select_timeout<F: std::future::Future>(ms: u32, f: F) -> Option<F::Output> {
    use futures::future::{select, Either};
    match select(std::pin::pin!(f), gloo_timers::future::TimeoutFuture::new(ms)).await {
        Either::Left((v, _)) => Some(v),
        Either::Right(_) => None,
    }
}

#[wasm_bindgen_test]
async fn opened_resolves_when_open_and_fails_once_closed_for_good() {
    let key = unique_key("sink-opened");
    let socket = Socket::builder(ws_url("/echo", &key))
        .connect()
        .expect("valid options");
    let mut first = socket.opened();
    assert!(resolves_at_once(&mut first).await.is_none(), "still connecting");
    soon("opened", first).await.expect("opens");
    assert_eq!(socket.state(), State::Open);
    let mut again = socket.opened();
    assert_eq!(resolves_at_once(&mut again).await, Some(Ok(())), "open: at once");

    // An attempt that never opens, closed meanwhile: the wait ends with Closed.
    let hole = Socket::builder(blackhole_url())
        .connection_timeout(None)
        .connect()
        .expect("valid options");
    let waiting = hole.opened();
    let closer = hole.clone();
    wasm_bindgen_futures::spawn_local(async move {
        sleep(100).await;
        closer.close(1000, "").expect("valid close");
    });
    assert_eq!(soon("opened fails", waiting).await, Err(Error::Closed));

    // Start-closed: closed already, until reconnect().
    let later = Socket::builder(ws_url("/echo", &key))
        .start_closed(true)
        .connect()
        .expect("valid options");
    assert_eq!(later.opened().await, Err(Error::Closed));
    later.reconnect();
    soon("opened after reconnect", later.opened())
        .await
        .expect("opens");
}

#[wasm_bindgen_test]
async fn flushed_waits_for_the_outbox_to_be_written() {
    let key = unique_key("sink-flushed");
    let socket = Socket::builder(ws_url("/echo", &key))
        .start_closed(true)
        .connect()
        .expect("valid options");
    let mut nothing = socket.flushed();
    assert_eq!(
        resolves_at_once(&mut nothing).await,
        Some(()),
        "nothing queued: at once"
    );

    assert_eq!(socket.send("queued 1"), Ok(Sent::Queued));
    assert_eq!(socket.send("queued 2"), Ok(Sent::Queued));
    let mut flushed = socket.flushed();
    assert!(resolves_at_once(&mut flushed).await.is_none(), "two queued");
    socket.reconnect();
    soon("flushed", flushed).await;
    assert_eq!(socket.queued_messages(), 0);
    assert_eq!(socket.buffered_amount(), 0);
    let s = stats_until(&key, 5_000, "both messages", |s| s.messages.len() >= 2).await;
    assert_eq!(s.messages, ["queued 1", "queued 2"]);
}

#[wasm_bindgen_test]
async fn event_streams_are_terminated_once_the_socket_is_gone() {
    let key = unique_key("sink-fused");
    let (socket, mut events) = connect(Socket::builder(ws_url("/echo", &key)));
    let typed: TypedSocket<serde_json::Value, serde_json::Value> = TypedSocket::new(socket.clone());
    let mut typed_events = typed.events();
    wait_open(&mut events).await;
    assert!(!events.is_terminated());
    assert!(!typed_events.is_terminated());

    drop(typed);
    drop(socket);
    // What was buffered before the end is still read, then None, for good.
    let rest: Vec<Event> = with_timeout(2_000, "the end", (&mut events).collect()).await;
    assert!(events.is_terminated(), "ended after {rest:?}");
    assert_eq!(events.next().await, None);
    let _ = with_timeout(2_000, "the typed end", (&mut typed_events).collect::<Vec<_>>()).await;
    assert!(typed_events.is_terminated());

    // select! takes them without .fuse().
    futures::select! {
        e = events.next() => assert_eq!(e, None),
        e = typed_events.next() => assert!(e.is_none()),
        complete => {}
    }
}
