//! The server under abuse, over loopback: connections that never say hello, oversized and
//! garbage frames, a client that never acks, one that never reads, a flood of idle
//! handshakes. Each is closed with the documented code, the session table stays flat, and
//! an honest client alongside is unaffected.

mod common;

use std::time::{Duration, Instant};

use common::*;
use futures_util::{SinkExt, StreamExt};
use tether_server::{Config, EndReason, SendError, ServerEvent, SessionConfig};
use tether_ws::core::continuity::Window;
use tokio::io::AsyncReadExt;
use tokio_tungstenite::tungstenite::Message as Ws;

fn quick_hello() -> Config {
    Config {
        hello_timeout_ms: 300,
        ..Config::default()
    }
}

/// An honest client alongside: echo round trips still work.
async fn honest_round_trip(c: &mut TestClient, tag: &str) {
    let before = c.received.len();
    for n in 0..20 {
        c.send(format!("{tag}{n}"));
    }
    c.flush().await;
    assert!(
        c.pump_until(WAIT, |c| c.received.len() >= before + 20).await,
        "honest client starved ({tag})"
    );
    let want: Vec<String> = (0..20).map(|n| format!("{tag}{n}")).collect();
    assert_eq!(c.received[before..], want[..]);
}

#[tokio::test]
async fn no_hello_is_closed_with_4002() {
    let (server, addr, _events) = start(quick_hello()).await;
    let started = Instant::now();
    let mut ws = raw(addr).await;
    assert_eq!(close_code(&mut ws).await, Some(4002));
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
    assert!(eventually(|| server.connections() == 0).await);
    assert_eq!(server.sessions(), 0);
    // A TCP connection that never even finishes the upgrade is dropped as well.
    let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("tcp");
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(WAIT, tcp.read(&mut buf))
        .await
        .expect("closed in time");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
}

#[tokio::test]
async fn oversized_frame_is_closed_with_1009() {
    let cfg = Config {
        max_message_bytes: 8192,
        ..Config::default()
    };
    let (server, addr, _events) = start(cfg).await;
    // A payload of exactly the limit is fine.
    let mut ok = raw(addr).await;
    hello(&mut ok, None, None, 0).await;
    ok.send(Ws::text(format!("D1,0;{}", "x".repeat(8192))))
        .await
        .expect("send");
    // One byte more than the limit plus the longest header is not.
    let mut big = raw(addr).await;
    hello(&mut big, None, None, 0).await;
    big.send(Ws::text(format!("D1,0;{}", "x".repeat(8192 + 36))))
        .await
        .expect("send");
    assert_eq!(close_code(&mut big).await, Some(1009));
    // Before hello too, binary too.
    let mut early = raw(addr).await;
    early.send(Ws::binary(vec![b'D'; 20_000])).await.expect("send");
    assert_eq!(close_code(&mut early).await, Some(1009));
    // The session of the closed connection stays for a resume; the other is untouched.
    assert_eq!(server.sessions(), 2);
    ok.send(Ws::text("A0")).await.expect("still open");
}

#[tokio::test]
async fn garbage_is_closed_with_4002() {
    let (server, addr, events) = start(Config::default()).await;
    let _seen = echo(&server, events);
    let mut honest = TestClient::new(format!("ws://{addr}/"));
    honest.connect().await;
    let before_hello: [Ws; 6] = [
        Ws::binary(vec![0u8, 1, 2]),
        Ws::text("hello"),
        Ws::text("D1,0;data before hello"),
        Ws::text("A0"),
        Ws::text(r#"{"t":"bye"}"#),
        Ws::binary(br#"{"t":"hello","v":1,"sid":null,"tok":null,"rx":0}"#.to_vec()),
    ];
    for frame in before_hello {
        let mut ws = raw(addr).await;
        let shown = format!("{frame:?}");
        ws.send(frame).await.expect("send");
        assert_eq!(close_code(&mut ws).await, Some(4002), "{shown}");
    }
    let after_welcome = [
        "D2,0;a gap",
        "D1,5;an ack above sent",
        "A1",
        "D01,0;leading zero",
        "D9007199254740992,0;seq past 2^53-1",
        "Dx;",
        "",
        r#"{"t":"hello","v":1,"sid":null,"tok":null,"rx":0}"#,
        r#"{"t":"welcome"}"#,
        "{not json",
    ];
    for text in after_welcome {
        let mut ws = raw(addr).await;
        hello(&mut ws, None, None, 0).await;
        ws.send(Ws::text(text)).await.expect("send");
        assert_eq!(close_code(&mut ws).await, Some(4002), "{text:?}");
    }
    // A resume whose rx is above what the server sent.
    let mut ws = raw(addr).await;
    let w = hello(&mut ws, None, None, 0).await;
    drop(ws);
    let mut ws = raw(addr).await;
    ws.send(Ws::text(format!(
        r#"{{"t":"hello","v":1,"sid":"{}","tok":"{}","rx":7}}"#,
        w.sid, w.tok
    )))
    .await
    .expect("send");
    assert_eq!(close_code(&mut ws).await, Some(4002));
    honest_round_trip(&mut honest, "g").await;
}

/// A client that reads but never acks: the window fills, then the session's queue, then the
/// session ends: 4003 on its connection, `Ended { Overflow }` for the application, and
/// `"overflow"` on its next resume. Another client meanwhile is unaffected.
#[tokio::test]
async fn never_acking_client_overflows() {
    let cfg = Config {
        sessions: SessionConfig {
            window: Window {
                messages: 4,
                bytes: 1 << 20,
            },
            max_queued_messages: 8,
            ..Default::default()
        },
        ..Config::default()
    };
    let (server, addr, events) = start(cfg).await;
    let mut seen = echo(&server, events);
    let mut honest = TestClient::new(format!("ws://{addr}/"));
    honest.connect().await;
    let honest_sid = match next_event(&mut seen).await {
        ServerEvent::Opened { sid, .. } => sid,
        other => panic!("{other:?}"),
    };
    let mut greedy = raw(addr).await;
    let w = hello(&mut greedy, None, None, 0).await;
    next_event(&mut seen).await;
    // The window (4) goes out, the queue (8) fills, the 13th overflows.
    for n in 1..=12 {
        server
            .send(&w.sid, format!("q{n}"))
            .expect("within window and queue");
        server.send(&honest_sid, format!("h{n}")).expect("honest");
    }
    assert_eq!(server.send(&w.sid, "q13"), Err(SendError::Overflow));
    assert_eq!(server.send(&w.sid, "q14"), Err(SendError::UnknownSession));
    let mut data = 0;
    let code = loop {
        match next_frame(&mut greedy).await {
            Ws::Text(t) if t.starts_with('D') => data += 1,
            Ws::Close(f) => break f.map(|f| u16::from(f.code)),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!((data, code), (4, Some(4003)));
    loop {
        match next_event(&mut seen).await {
            ServerEvent::Ended {
                sid,
                reason,
                undelivered,
            } => {
                assert_eq!(&*sid, w.sid);
                assert_eq!(reason, EndReason::Overflow);
                assert_eq!(undelivered, 12);
                break;
            }
            ServerEvent::Message { .. } => {}
            other => panic!("{other:?}"),
        }
    }
    let mut again = raw(addr).await;
    let w2 = hello(&mut again, Some(&w.sid), Some(&w.tok), 4).await;
    assert_eq!(
        w2.reason,
        Some(tether_ws::core::continuity::ResumeReason::Overflow)
    );
    // The honest client got its 12, and still echoes.
    assert!(honest.pump_until(WAIT, |c| c.received.len() >= 12).await);
    let want: Vec<String> = (1..=12).map(|n| format!("h{n}")).collect();
    assert_eq!(honest.received, want);
    honest_round_trip(&mut honest, "o").await;
}

/// A client that stops reading: once the socket's buffers are full, a write stalls past
/// the write timeout and the connection is closed; the session stays for a resume.
#[tokio::test]
async fn client_that_never_reads_is_closed() {
    let cfg = Config {
        write_timeout_ms: 300,
        sessions: SessionConfig {
            window: Window {
                messages: 4096,
                bytes: 64 << 20,
            },
            max_queued_messages: 4096,
            max_queued_bytes: 64 << 20,
            ..Default::default()
        },
        ..Config::default()
    };
    let (server, addr, events) = start(cfg).await;
    let _seen = echo(&server, events);
    let mut honest = TestClient::new(format!("ws://{addr}/"));
    honest.connect().await;
    let mut stalled = raw(addr).await;
    let w = hello(&mut stalled, None, None, 0).await;
    let chunk = "z".repeat(32 * 1024);
    for _ in 0..1500 {
        // 48 MiB: far beyond what loopback buffers hold.
        server.send(&w.sid, chunk.clone()).expect("send");
    }
    assert!(
        eventually(|| server.connections() == 1).await,
        "the stalled connection was not closed"
    );
    assert_eq!(server.sessions(), 2, "its session stays");
    assert!(server.held(&w.sid) > 0);
    honest_round_trip(&mut honest, "r").await;
    drop(stalled);
}

/// Many handshakes that never say hello: every one is closed, the session table stays
/// empty, and an honest client is served throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flood_of_silent_handshakes_stays_flat() {
    const N: usize = 200;
    let (server, addr, events) = start(quick_hello()).await;
    let _seen = echo(&server, events);
    let mut honest = TestClient::new(format!("ws://{addr}/"));
    honest.connect().await;
    let mut tasks = Vec::new();
    for _ in 0..N {
        tasks.push(tokio::spawn(async move {
            let mut ws = raw(addr).await;
            close_code(&mut ws).await
        }));
    }
    // And bare TCP connections that never send the HTTP request.
    let mut bare = Vec::new();
    for _ in 0..50 {
        bare.push(tokio::net::TcpStream::connect(addr).await.expect("tcp"));
    }
    honest_round_trip(&mut honest, "f").await;
    assert_eq!(server.sessions(), 1, "only the honest session");
    for t in tasks {
        assert_eq!(t.await.expect("task"), Some(4002));
    }
    for mut tcp in bare {
        let mut buf = [0u8; 16];
        let read = tokio::time::timeout(WAIT, tcp.read(&mut buf))
            .await
            .expect("closed in time");
        assert!(matches!(read, Ok(0) | Err(_)));
    }
    assert!(
        eventually(|| server.connections() == 1).await,
        "{}",
        server.connections()
    );
    assert_eq!(server.sessions(), 1);
    // Again: still flat.
    let mut again = Vec::new();
    for _ in 0..N {
        again.push(tokio::spawn(async move {
            let mut ws = raw(addr).await;
            close_code(&mut ws).await
        }));
    }
    for t in again {
        assert_eq!(t.await.expect("task"), Some(4002));
    }
    assert_eq!(server.sessions(), 1);
    honest_round_trip(&mut honest, "F").await;
}

#[tokio::test]
async fn too_many_sessions_is_refused_with_4003() {
    let cfg = Config {
        sessions: SessionConfig {
            max_sessions: 2,
            ..Default::default()
        },
        ..Config::default()
    };
    let (server, addr, _events) = start(cfg).await;
    let mut a = raw(addr).await;
    let mut b = raw(addr).await;
    let wa = hello(&mut a, None, None, 0).await;
    hello(&mut b, None, None, 0).await;
    let mut c = raw(addr).await;
    c.send(Ws::text(r#"{"t":"hello","v":1,"sid":null,"tok":null,"rx":0}"#))
        .await
        .expect("send");
    assert_eq!(close_code(&mut c).await, Some(4003));
    assert_eq!(server.sessions(), 2);
    // A resume needs no new entry.
    drop(a);
    let mut a2 = raw(addr).await;
    assert!(hello(&mut a2, Some(&wa.sid), Some(&wa.tok), 0).await.resumed);
}

#[tokio::test]
async fn shutdown_closes_with_1001_and_ends_events() {
    let (server, addr, mut events) = start(Config::default()).await;
    let mut a = raw(addr).await;
    hello(&mut a, None, None, 0).await;
    next_server_event(&mut events).await;
    server.shutdown();
    assert_eq!(close_code(&mut a).await, Some(1001));
    let end = tokio::time::timeout(WAIT, events.recv()).await.expect("in time");
    assert!(end.is_none(), "{end:?}");
    assert!(connect_with(&format!("ws://{addr}/"), "tether.v1", None)
        .await
        .is_err());
}

/// The application stops reading its events: the server stops reading from clients (their
/// windows fill) instead of queueing without bound; once it reads again, nothing was lost.
#[tokio::test]
async fn slow_application_backpressures_clients() {
    let cfg = Config {
        event_capacity: 8,
        ..Config::default()
    };
    let (_server, addr, mut events) = start(cfg).await;
    let mut c = TestClient::new(format!("ws://{addr}/"));
    c.connect().await;
    for n in 1..=100 {
        c.send(format!("b{n}"));
    }
    c.flush().await;
    c.pump(Duration::from_millis(400)).await;
    // Opened plus a few messages wait; the rest is not acked, so the client keeps it.
    assert!(c.engine.unacked() > 50, "unacked {}", c.engine.unacked());
    let mut got = Vec::new();
    let started = Instant::now();
    while got.len() < 100 {
        assert!(started.elapsed() < WAIT, "only {} of 100 in time", got.len());
        c.pump(Duration::from_millis(5)).await;
        while let Some(ev) = events.try_recv() {
            if let ServerEvent::Message { payload, .. } = ev {
                got.push(payload.as_text().expect("text").to_owned());
            }
        }
        assert!(c.is_connected());
        assert!(got.len() < 100 || c.engine.unacked() <= 100);
        if got.len() < 100 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    let want: Vec<String> = (1..=100).map(|n| format!("b{n}")).collect();
    assert_eq!(got, want);
}

#[tokio::test]
async fn a_silent_client_is_closed_and_its_session_detached() {
    let cfg = Config {
        idle_timeout_ms: 400,
        ..Config::default()
    };
    let (server, addr, _events) = start(cfg).await;
    // A client that answers pings (tungstenite does, while its stream is read) stays.
    let mut alive = raw(addr).await;
    hello(&mut alive, None, None, 0).await;
    // One that says hello, then goes silent (never read: no pong), as a vanished peer.
    let mut silent = raw(addr).await;
    let welcome = hello(&mut silent, None, None, 0).await;
    let started = Instant::now();
    let read_alive = async {
        while tokio::time::timeout(Duration::from_millis(50), alive.next())
            .await
            .map_or(true, |f| f.is_some())
        {
            if started.elapsed() > Duration::from_millis(1500) {
                break;
            }
        }
    };
    read_alive.await;
    assert_eq!(
        server.connections(),
        1,
        "the silent one closed, the live one kept"
    );
    assert_eq!(
        server.sessions(),
        2,
        "both sessions are kept, the silent one detached"
    );
    // The silent client comes back and resumes: its session was waiting for it.
    let mut back = raw(addr).await;
    let resumed = hello(&mut back, Some(&welcome.sid), Some(&welcome.tok), 0).await;
    assert!(resumed.resumed, "{resumed:?}");
}
