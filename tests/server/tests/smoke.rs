//! End-to-end smoke tests: each test starts its own server on free loopback ports and talks
//! to it with tokio-tungstenite and raw TCP. Every wait is bounded.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{within, Client, Server, STEP};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::time::{sleep, timeout};
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

impl Server {
    async fn stats(&self, key: &str) -> Value {
        let (status, _, body) = self.get(&format!("/stats?key={key}")).await;
        assert_eq!(status, 200);
        serde_json::from_str(&body).expect("stats json")
    }

    /// Polls `/stats` until `pred` holds (bounded).
    async fn wait_stats(&self, key: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + STEP;
        loop {
            let s = self.stats(key).await;
            if pred(&s) {
                return s;
            }
            assert!(Instant::now() < deadline, "stats never matched: {s}");
            sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn recv(ws: &mut Client) -> Message {
    match within("recv", ws.next()).await {
        Some(Ok(m)) => m,
        other => panic!("expected a message, got {other:?}"),
    }
}

/// Reads until the stream ends; returns the close frame seen, if any. Errors end it too.
async fn read_to_end(ws: &mut Client) -> (Option<Message>, Option<WsError>) {
    let mut close = None;
    loop {
        match within("read to end", ws.next()).await {
            None => return (close, None),
            Some(Ok(m @ Message::Close(_))) => close = Some(m),
            Some(Ok(_)) => {}
            Some(Err(e)) => return (close, Some(e)),
        }
    }
}

#[tokio::test]
async fn echo_text_and_binary_and_stats_order() {
    let srv = Server::start();
    let mut ws = srv.connect("/echo?key=e").await;
    for t in ["one", "two", "three"] {
        ws.send(Message::text(t)).await.expect("send");
        assert_eq!(recv(&mut ws).await, Message::text(t));
    }
    ws.send(Message::binary(vec![1, 2, 3])).await.expect("send");
    assert_eq!(recv(&mut ws).await, Message::binary(vec![1, 2, 3]));

    let s = srv.stats("e").await;
    assert_eq!(s["messages"], serde_json::json!(["one", "two", "three"]));
    assert_eq!(
        (s["binaryMessages"].as_u64(), s["binaryBytes"].as_u64()),
        (Some(1), Some(3))
    );
    assert_eq!(
        (s["connections"].as_u64(), s["open"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(s["protocols"], serde_json::json!([""]));
    assert_eq!(s["connectTimes"].as_array().map(Vec::len), Some(1));

    ws.close(None).await.expect("close");
    let _ = read_to_end(&mut ws).await;
    let s = srv.wait_stats("e", |s| s["open"] == 0).await;
    assert_eq!(s["maxConcurrent"], 1);
    assert_eq!(s["closes"], serde_json::json!([{ "code": null, "reason": "" }]));

    // Other keys are untouched; reset clears history.
    assert_eq!(srv.stats("other").await["connections"], 0);
    assert_eq!(srv.get("/reset?key=e").await.2, "ok");
    assert_eq!(srv.stats("e").await["messages"], serde_json::json!([]));
}

#[tokio::test]
async fn proto_selects_first_offered() {
    let srv = Server::start();
    let mut req = srv.url("/proto?key=p").into_client_request().expect("request");
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", "alpha, beta".parse().expect("header"));
    let (mut ws, resp) = within("connect", connect_async(req)).await.expect("connect");
    assert_eq!(
        resp.headers().get("sec-websocket-protocol").map(|v| v.as_bytes()),
        Some(&b"alpha"[..])
    );
    assert_eq!(recv(&mut ws).await, Message::text("protocol:alpha"));
    ws.send(Message::text("hi")).await.expect("send");
    assert_eq!(recv(&mut ws).await, Message::text("hi"));

    let mut plain = srv.connect("/proto?key=p").await;
    assert_eq!(recv(&mut plain).await, Message::text("protocol:"));
    assert_eq!(
        srv.stats("p").await["protocols"],
        serde_json::json!(["alpha", ""])
    );
}

#[tokio::test]
async fn close_sends_code_and_reason_after_n() {
    let srv = Server::start();
    let mut ws = srv
        .connect("/close?key=c&code=4001&reason=bye%20now&after=1")
        .await;
    ws.send(Message::text("x")).await.expect("send");
    assert_eq!(recv(&mut ws).await, Message::text("x"));
    let Message::Close(Some(frame)) = recv(&mut ws).await else {
        panic!("expected a close frame")
    };
    assert_eq!(
        (frame.code, frame.reason.as_str()),
        (CloseCode::from(4001), "bye now")
    );
    let _ = read_to_end(&mut ws).await;
    // The client's reply is recorded like any client close frame.
    let s = srv.wait_stats("c", |s| s["open"] == 0).await;
    assert_eq!(s["closes"][0]["code"], 4001);
}

#[tokio::test]
async fn drop_closes_tcp_without_close_frame() {
    let srv = Server::start();
    let mut ws = srv.connect("/drop?after=1").await;
    ws.send(Message::text("x")).await.expect("send");
    assert_eq!(recv(&mut ws).await, Message::text("x"));
    let (close, _) = read_to_end(&mut ws).await;
    assert_eq!(close, None, "no close frame expected");
}

#[tokio::test]
async fn drop_all_by_key() {
    let srv = Server::start();
    let mut a = srv.connect("/echo?key=a").await;
    let mut b = srv.connect("/echo?key=b").await;
    srv.wait_stats("a", |s| s["open"] == 1).await;
    assert_eq!(srv.get("/drop-all?key=a").await.2, "1");
    assert_eq!(read_to_end(&mut a).await.0, None);
    assert_eq!(srv.stats("a").await["open"], 0);
    b.send(Message::text("still here")).await.expect("send");
    assert_eq!(recv(&mut b).await, Message::text("still here"));
}

#[tokio::test]
async fn down_refuses_tcp_then_comes_back() {
    let srv = Server::start();
    let mut ws = srv.connect("/echo?key=d").await;
    assert_eq!(srv.get("/down?ms=600").await.2, "ok");
    let started = Instant::now();
    // Live connection dropped with no close frame; new connects refused outright.
    assert_eq!(read_to_end(&mut ws).await.0, None);
    let err = TcpStream::connect(srv.ws).await.expect_err("should be refused");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    // Back by itself after the timer.
    loop {
        if TcpStream::connect(srv.ws).await.is_ok() {
            break;
        }
        assert!(started.elapsed() < STEP, "listener never came back");
        sleep(Duration::from_millis(50)).await;
    }
    assert!(started.elapsed() >= Duration::from_millis(500));
    srv.connect("/echo").await;

    // Without ms it stays down until /up.
    srv.get("/down").await;
    assert!(TcpStream::connect(srv.ws).await.is_err());
    assert_eq!(srv.get("/up").await.2, "ok");
    srv.connect("/echo").await;
}

#[tokio::test]
async fn blackhole_never_answers_the_handshake() {
    let srv = Server::start();
    let url = format!("ws://{}/echo", srv.blackhole);
    let res = timeout(Duration::from_secs(1), connect_async(url)).await;
    assert!(res.is_err(), "handshake should never complete");
}

#[tokio::test]
async fn unknown_path_is_404() {
    let srv = Server::start();
    match within("connect", connect_async(srv.url("/nope"))).await {
        Err(WsError::Http(resp)) => assert_eq!(resp.status(), 404),
        other => panic!("expected 404, got {other:?}"),
    }
}

#[tokio::test]
async fn push_huge_slow_and_mute() {
    let srv = Server::start();
    let mut ws = srv.connect("/push?n=3&size=6").await;
    for i in 0..3 {
        assert_eq!(recv(&mut ws).await, Message::text(format!("{i}:xxxx")));
    }
    let mut ws = srv.connect("/push?n=2&size=5&binary=1").await;
    assert_eq!(recv(&mut ws).await, Message::binary(vec![0, 0, 0, 0, 0]));
    assert_eq!(recv(&mut ws).await, Message::binary(vec![1, 0, 0, 0, 0]));

    let mut ws = srv.connect("/huge?bytes=100000").await;
    assert_eq!(recv(&mut ws).await, Message::text("a".repeat(100_000)));

    let started = Instant::now();
    srv.connect("/slow?ms=300").await;
    assert!(started.elapsed() >= Duration::from_millis(300));

    let mut ws = srv.connect("/mute?after=1&key=m").await;
    ws.send(Message::text("1")).await.expect("send");
    assert_eq!(recv(&mut ws).await, Message::text("1"));
    ws.send(Message::text("2")).await.expect("send");
    assert!(
        timeout(Duration::from_millis(300), ws.next()).await.is_err(),
        "muted"
    );
    srv.wait_stats("m", |s| s["messages"] == serde_json::json!(["1", "2"]))
        .await;
}

#[tokio::test]
async fn bad_utf8_is_rejected_by_the_client() {
    let srv = Server::start();
    let mut ws = srv.connect("/bad-utf8").await;
    match within("recv", ws.next()).await {
        Some(Err(WsError::Utf8(_))) => {}
        other => panic!("expected a UTF-8 error, got {other:?}"),
    }
}

#[tokio::test]
async fn stall_holds_until_client_leaves() {
    let srv = Server::start();
    let mut ws = srv.connect("/stall?key=s").await;
    srv.wait_stats("s", |s| s["open"] == 1).await;
    // The server never reads, so sending eventually blocks once the TCP buffers are full.
    let chunk = vec![0u8; 256 * 1024];
    let mut blocked = false;
    for _ in 0..400 {
        if timeout(
            Duration::from_millis(300),
            ws.send(Message::binary(chunk.clone())),
        )
        .await
        .is_err()
        {
            blocked = true;
            break;
        }
    }
    assert!(blocked, "sends never blocked: is the server reading?");
    // A client closing with unsent data queued cannot be noticed (its FIN waits behind the
    // data the server never reads), so tests clean such connections up with /drop-all.
    assert_eq!(srv.get("/drop-all?key=s").await.2, "1");
    drop(ws);

    // A client that leaves with nothing queued is noticed without reading.
    let ws = srv.connect("/stall?key=s2").await;
    srv.wait_stats("s2", |s| s["open"] == 1).await;
    drop(ws);
    srv.wait_stats("s2", |s| s["open"] == 0).await;
}

#[tokio::test]
async fn http_control_and_static_files() {
    let srv = Server::start();
    let (status, head, body) = srv.get("/health").await;
    assert_eq!((status, body.as_str()), (200, "ok"));
    assert!(head.contains("access-control-allow-origin: *"), "{head}");
    assert!(head.contains("cache-control: no-store"), "{head}");

    let (status, head, _) = srv.get("/mod.wasm").await;
    assert_eq!(status, 200);
    assert!(head.contains("content-type: application/wasm"), "{head}");

    let (status, head, body) = srv.get("/pages/index.html?csp=1").await;
    assert_eq!(status, 200);
    assert!(body.contains("hi"));
    assert!(head.contains("content-type: text/html"), "{head}");
    assert!(head.contains("content-security-policy: script-src 'self' 'wasm-unsafe-eval'"));
    let (_, head, _) = srv.get("/pages/index.html").await;
    assert!(!head.contains("content-security-policy"));

    assert_eq!(srv.get("/pages").await.0, 308);
    assert_eq!(srv.get("/pages/").await.0, 200);
    assert_eq!(srv.get("/missing.js").await.0, 404);
    assert_eq!(srv.get("/../etc/passwd").await.0, 403);
    assert_eq!(srv.get("/pages/%2e%2e/%2e%2e/etc/passwd").await.0, 403);
}

/// Waits (bounded) for the server process to exit by itself.
fn wait_exit(srv: &mut Server, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(Some(status)) = srv.child.try_wait() {
            return status;
        }
        assert!(Instant::now() < deadline, "server did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn exits_cleanly_on_sigterm() {
    let mut srv = Server::start();
    let killed = Command::new("kill")
        .args(["-TERM", &srv.child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(killed.success());
    assert!(wait_exit(&mut srv, STEP).success());
}

#[test]
fn exits_after_max_lifetime() {
    let mut srv = Server::start_with(&["--max-lifetime-secs", "1"]);
    assert!(wait_exit(&mut srv, STEP).success());
}
