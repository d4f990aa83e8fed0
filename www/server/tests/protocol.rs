//! The protocol over real sockets on 127.0.0.1: the handshake, delivery once and in order,
//! resume after a dropped connection, take-over, the reasons of a refused resume, and the
//! upgrade's checks (subprotocol, origin, auth), through the accept loop and the axum route.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use futures_util::SinkExt;
use tether_server::{Config, EndReason, Refusal, SendError, ServerEvent};
use tether_ws::core::continuity::{ResumeReason, Window};
use tokio_tungstenite::tungstenite::Message as Ws;

fn is_hex128(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[tokio::test]
async fn hello_welcome() {
    let (_server, addr, mut events) = start(Config::default()).await;
    let mut ws = raw(addr).await;
    let w = hello(&mut ws, None, None, 0).await;
    assert!(!w.resumed);
    assert_eq!(w.reason, Some(ResumeReason::New));
    assert!(is_hex128(&w.sid) && is_hex128(&w.tok), "{w:?}");
    assert_ne!(w.sid, w.tok);
    assert_eq!((w.rx, w.ttl_ms), (0, 120_000));
    assert_eq!((w.window, w.window_bytes), (Some(256), Some(1_048_576)));
    match next_server_event(&mut events).await {
        ServerEvent::Opened {
            sid,
            resumed,
            protocol,
        } => {
            assert_eq!(&*sid, w.sid);
            assert!(!resumed);
            assert_eq!(&*protocol, "");
        }
        other => panic!("{other:?}"),
    }
    // A second connection gets another session, with fresh random ids.
    let mut ws2 = raw(addr).await;
    let w2 = hello(&mut ws2, None, None, 0).await;
    assert_ne!(w.sid, w2.sid);
    assert_ne!(w.tok, w2.tok);
}

#[tokio::test]
async fn ping_is_answered_with_pong_after_the_welcome_only() {
    let (_server, addr, _events) = start(Config::default()).await;
    let mut ws = raw(addr).await;
    let w = hello(&mut ws, None, None, 0).await;
    assert!(w.ping, "the welcome says the server answers pings");
    for _ in 0..3 {
        ws.send(Ws::text(r#"{"t":"ping"}"#)).await.unwrap();
        assert_eq!(next_frame(&mut ws).await, Ws::text(r#"{"t":"pong"}"#));
    }
    // Before the welcome, a ping breaks the protocol.
    let mut early = raw(addr).await;
    early.send(Ws::text(r#"{"t":"ping"}"#)).await.unwrap();
    assert_eq!(close_code(&mut early).await, Some(4002));
}

#[tokio::test]
async fn echo_once_and_in_order() {
    let (server, addr, events) = start(Config::default()).await;
    let mut seen = echo(&server, events);
    let mut c = TestClient::new(format!("ws://{addr}/"));
    assert!(!c.connect().await.resumed);
    // More than the window (256): the rest waits in the client's outbox for acks.
    let sent: Vec<String> = (1..=600).map(|n| format!("m{n}")).collect();
    for m in &sent {
        c.send(m.clone());
    }
    c.flush().await;
    assert!(
        c.pump_until(WAIT, |c| c.received.len() >= sent.len()).await,
        "{}",
        c.received.len()
    );
    c.pump(Duration::from_millis(300)).await; // nothing more comes
    assert_eq!(c.received, sent);
    assert_eq!(c.engine.unacked(), 0, "all acked");
    // The application saw each once, in order.
    let mut at_app = Vec::new();
    while let Ok(ev) = seen.try_recv() {
        if let ServerEvent::Message { payload, .. } = ev {
            at_app.push(payload.as_text().expect("text").to_owned());
        }
    }
    assert_eq!(at_app, sent);
    // Binary messages stay binary.
    let mut ws = raw(addr).await;
    hello(&mut ws, None, None, 0).await;
    let mut frame = b"D1,0;".to_vec();
    frame.extend([0u8, 1, 2, 255]);
    ws.send(Ws::binary(frame)).await.expect("send");
    match next_frame(&mut ws).await {
        Ws::Binary(b) => assert_eq!(&b[..], b"D1,1;\x00\x01\x02\xff"),
        other => panic!("{other:?}"),
    }
}

/// Both directions stream while the connection is cut, again and again, mid-stream: each
/// side gets everything, once, in order.
#[tokio::test]
async fn resume_after_drops_loses_nothing_both_ways() {
    let (server, addr, mut events) = start(Config::default()).await;
    let at_app = Arc::new(Mutex::new(Vec::<String>::new()));
    let record = Arc::clone(&at_app);
    let mut c = TestClient::new(format!("ws://{addr}/"));
    assert!(!c.connect().await.resumed);
    let sid = match next_server_event(&mut events).await {
        ServerEvent::Opened { sid, .. } => sid,
        other => panic!("{other:?}"),
    };
    tokio::spawn(async move {
        while let Some(ev) = events.recv().await {
            match ev {
                ServerEvent::Message { payload, .. } => record
                    .lock()
                    .unwrap()
                    .push(payload.as_text().expect("text").to_owned()),
                ServerEvent::Opened { resumed, .. } => assert!(resumed, "every later hello resumes"),
                other => panic!("the session must not end or move: {other:?}"),
            }
        }
    });
    let (mut to_server, mut to_client) = (0, 0);
    // Server messages sent and not yet delivered when the connection was cut (round 0
    // reads nothing: its 40 are all on the wire then).
    let mut lost_to_client = 0;
    for round in 0..8u64 {
        for _ in 0..40 {
            to_server += 1;
            c.send(format!("c{to_server}"));
            to_client += 1;
            server.send(&sid, format!("s{to_client}")).expect("send");
        }
        c.flush().await;
        // Cut at a different point each round: before anything is read, or after a bit.
        c.pump(Duration::from_millis(round * 3)).await;
        // And with client messages numbered but never put on the wire.
        for _ in 0..10 {
            to_server += 1;
            c.send(format!("c{to_server}"));
        }
        c.write_outbox().await;
        lost_to_client += to_client - c.received.len();
        c.cut();
        for _ in 0..15 {
            to_client += 1;
            server
                .send(&sid, format!("s{to_client}"))
                .expect("send while away");
        }
        let r = c.connect().await;
        assert!(r.resumed, "round {round}: {r:?}");
        assert_eq!(c.engine.sid(), Some(&*sid));
    }
    let done = c
        .pump_until(WAIT, |c| {
            c.received.len() >= to_client
                && at_app.lock().unwrap().len() >= to_server
                && c.engine.unacked() == 0
        })
        .await;
    c.pump(Duration::from_millis(300)).await;
    let got = at_app.lock().unwrap().clone();
    assert!(
        done,
        "client got {} of {to_client}, server {} of {to_server}",
        c.received.len(),
        got.len()
    );
    let want_server: Vec<String> = (1..=to_server).map(|n| format!("c{n}")).collect();
    let want_client: Vec<String> = (1..=to_client).map(|n| format!("s{n}")).collect();
    assert_eq!(got, want_server, "client → server");
    assert_eq!(c.received, want_client, "server → client");
    assert!(eventually(|| server.held(&sid) == 0).await, "everything acked");
    // The cuts did lose frames in flight, both ways, and the replays made up for them;
    // each side's `rx` made the replays exact (no duplicate to discard).
    assert!(c.replayed >= 80, "client replayed {}", c.replayed);
    assert!(
        lost_to_client > 0,
        "nothing from the server was in flight at a cut"
    );
    assert_eq!(c.duplicates, 0);
}

#[tokio::test]
async fn take_over_closes_the_old_socket_with_4001() {
    let (server, addr, _events) = start(Config::default()).await;
    let mut a = raw(addr).await;
    let w = hello(&mut a, None, None, 0).await;
    server.send(&w.sid, "one").expect("send");
    match next_frame(&mut a).await {
        Ws::Text(t) => assert_eq!(t.as_str(), "D1,0;one"),
        other => panic!("{other:?}"),
    }
    // A resume from another socket while the first still hangs on: not acked, so replayed.
    let mut b = raw(addr).await;
    let w2 = hello(&mut b, Some(&w.sid), Some(&w.tok), 0).await;
    assert!(w2.resumed);
    assert_eq!(w2.reason, None);
    assert_eq!(w2.sid, w.sid);
    assert_ne!(w2.tok, w.tok, "the token rotates on every welcome");
    match next_frame(&mut b).await {
        Ws::Text(t) => assert_eq!(t.as_str(), "D1,0;one", "replayed"),
        other => panic!("{other:?}"),
    }
    assert_eq!(close_code(&mut a).await, Some(4001));
    // Once the new socket shows it got its welcome (any data or ack frame), the old token
    // no longer works (until then it would: a resume whose welcome is lost keeps its session).
    b.send(Ws::text("A1")).await.expect("ack");
    assert!(eventually(|| server.held(&w.sid) == 0).await, "the ack was taken");
    let mut c = raw(addr).await;
    let w3 = hello(&mut c, Some(&w.sid), Some(&w.tok), 1).await;
    assert!(!w3.resumed);
    assert_eq!(w3.reason, Some(ResumeReason::Auth));
}

#[tokio::test]
async fn forged_token_is_refused_as_auth() {
    let (_server, addr, _events) = start(Config::default()).await;
    let mut a = raw(addr).await;
    let w = hello(&mut a, None, None, 0).await;
    drop(a);
    let mut b = raw(addr).await;
    let forged = "0".repeat(32);
    let w2 = hello(&mut b, Some(&w.sid), Some(&forged), 0).await;
    assert!(!w2.resumed);
    assert_eq!(w2.reason, Some(ResumeReason::Auth));
    assert_ne!(w2.sid, w.sid, "a new session");
    let mut c = raw(addr).await;
    let w3 = hello(&mut c, Some(&w.sid), None, 0).await;
    assert_eq!(w3.reason, Some(ResumeReason::Auth), "no token at all");
    // The real session was not harmed by the attempts.
    let mut d = raw(addr).await;
    let w4 = hello(&mut d, Some(&w.sid), Some(&w.tok), 0).await;
    assert!(w4.resumed);
}

#[tokio::test]
async fn bye_then_resume_is_unknown() {
    let (server, addr, mut events) = start(Config::default()).await;
    let mut c = TestClient::new(format!("ws://{addr}/"));
    c.connect().await;
    let sid = match next_server_event(&mut events).await {
        ServerEvent::Opened { sid, .. } => sid,
        other => panic!("{other:?}"),
    };
    server.send(&sid, "unread").expect("send");
    let mut a = raw(addr).await;
    let w = hello(&mut a, None, None, 0).await;
    next_server_event(&mut events).await; // a's Opened
    a.send(Ws::text(r#"{"t":"bye"}"#)).await.expect("bye");
    a.close(None).await.expect("close");
    match next_server_event(&mut events).await {
        ServerEvent::Ended {
            sid,
            reason,
            undelivered,
        } => {
            assert_eq!(&*sid, w.sid);
            assert_eq!(reason, EndReason::Bye);
            assert_eq!(undelivered, 0);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(server.send(&w.sid, "x"), Err(SendError::UnknownSession));
    let mut b = raw(addr).await;
    let w2 = hello(&mut b, Some(&w.sid), Some(&w.tok), 0).await;
    assert!(!w2.resumed);
    assert_eq!(w2.reason, Some(ResumeReason::Unknown));
    // The engine's client says bye too; the server hears it with what was not acked.
    c.pump(Duration::from_millis(50)).await;
    c.bye().await;
    loop {
        match next_server_event(&mut events).await {
            ServerEvent::Ended { sid: s, reason, .. } if s == sid => {
                assert_eq!(reason, EndReason::Bye);
                break;
            }
            _ => {}
        }
    }
}

#[tokio::test]
async fn ttl_expiry_is_reported_both_ways() {
    let cfg = Config {
        sessions: tether_server::SessionConfig {
            ttl_ms: 300,
            ..Default::default()
        },
        ..Config::default()
    };
    let (server, addr, mut events) = start(cfg).await;
    let mut a = raw(addr).await;
    let w = hello(&mut a, None, None, 0).await;
    assert_eq!(w.ttl_ms, 300);
    next_server_event(&mut events).await;
    server.send(&w.sid, "never acked").expect("send");
    server.send(&w.sid, "never acked either").expect("send");
    drop(a);
    let started = std::time::Instant::now();
    match next_server_event(&mut events).await {
        ServerEvent::Ended {
            sid,
            reason,
            undelivered,
        } => {
            assert_eq!(&*sid, w.sid);
            assert_eq!(reason, EndReason::Expired);
            assert_eq!(undelivered, 2);
        }
        other => panic!("{other:?}"),
    }
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
    assert_eq!(server.sessions(), 0);
    let mut b = raw(addr).await;
    let w2 = hello(&mut b, Some(&w.sid), Some(&w.tok), 0).await;
    assert!(!w2.resumed);
    assert_eq!(w2.reason, Some(ResumeReason::Expired));
}

#[tokio::test]
async fn upgrade_checks_subprotocol_origin_and_auth() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let cfg = Config {
        protocols: vec!["chat".into()],
        allowed_origins: Some(vec!["http://app.test".into()]),
        ..Config::default()
    }
    .with_auth(move |req| {
        counted.fetch_add(1, Ordering::SeqCst);
        match req.uri().query() {
            Some("ticket=ok") => Ok(()),
            Some("ticket=banned") => Err(Refusal::forbidden("banned")),
            _ => Err(Refusal::unauthorized("no ticket")),
        }
    });
    let (_server, addr, mut events) = start(cfg).await;
    let url = format!("ws://{addr}/?ticket=ok");
    let origin = Some("http://app.test");
    // No tether token offered: a plain refusal.
    assert_eq!(refused_status(connect_with(&url, "", origin).await), 400);
    assert_eq!(refused_status(connect_with(&url, "chat", origin).await), 400);
    // Origins.
    assert_eq!(refused_status(connect_with(&url, "tether.v1", None).await), 403);
    assert_eq!(
        refused_status(connect_with(&url, "tether.v1", Some("http://evil.test")).await),
        403
    );
    // The hook.
    let no_ticket = format!("ws://{addr}/");
    assert_eq!(
        refused_status(connect_with(&no_ticket, "tether.v1", origin).await),
        401
    );
    let banned = format!("ws://{addr}/?ticket=banned");
    assert_eq!(
        refused_status(connect_with(&banned, "tether.v1", origin).await),
        403
    );
    // Composition: tether.v1+chat is selected, and the app sees "chat".
    let mut ws = connect_with(&url, "tether.v1+chat, chat", origin)
        .await
        .expect("connect");
    let w = hello(&mut ws, None, None, 0).await;
    match next_server_event(&mut events).await {
        ServerEvent::Opened { protocol, .. } => assert_eq!(&*protocol, "chat"),
        other => panic!("{other:?}"),
    }
    // Plain tether.v1 is fine too (the app sees "").
    let mut ws2 = connect_with(&url, "tether.v1", origin).await.expect("connect");
    hello(&mut ws2, None, None, 0).await;
    match next_server_event(&mut events).await {
        ServerEvent::Opened { protocol, .. } => assert_eq!(&*protocol, ""),
        other => panic!("{other:?}"),
    }
    // The hook runs on every connection, resumes included.
    let before = calls.load(Ordering::SeqCst);
    drop(ws);
    assert_eq!(
        refused_status(connect_with(&no_ticket, "tether.v1+chat", origin).await),
        401
    );
    let mut again = connect_with(&url, "tether.v1+chat", origin)
        .await
        .expect("connect");
    assert!(hello(&mut again, Some(&w.sid), Some(&w.tok), 0).await.resumed);
    assert_eq!(calls.load(Ordering::SeqCst), before + 2);
}

#[tokio::test]
async fn connection_limit() {
    let cfg = Config {
        max_connections: 2,
        ..Config::default()
    };
    let (server, addr, _events) = start(cfg).await;
    let mut a = raw(addr).await;
    let mut b = raw(addr).await;
    hello(&mut a, None, None, 0).await;
    hello(&mut b, None, None, 0).await;
    assert!(connect_with(&format!("ws://{addr}/"), "tether.v1", None)
        .await
        .is_err());
    drop(a);
    assert!(eventually(|| server.connections() < 2).await);
    let mut c = raw(addr).await;
    hello(&mut c, None, None, 0).await;
}

#[tokio::test]
async fn small_windows_on_both_sides() {
    // The server's window (stated in welcome) bounds what the client sends, and its own
    // bounds what it sends; everything still arrives once, in order.
    let cfg = Config {
        sessions: tether_server::SessionConfig {
            window: Window {
                messages: 3,
                bytes: 64,
            },
            ..Default::default()
        },
        ..Config::default()
    };
    let (server, addr, events) = start(cfg).await;
    let _seen = echo(&server, events);
    let mut c = TestClient::with_window(
        format!("ws://{addr}/"),
        Window {
            messages: 2,
            bytes: 1 << 20,
        },
    );
    c.connect().await;
    let sent: Vec<String> = (1..=200).map(|n| format!("w{n}")).collect();
    for m in &sent {
        c.send(m.clone());
    }
    c.flush().await;
    assert!(c.pump_until(WAIT, |c| c.received.len() >= sent.len()).await);
    assert_eq!(c.received, sent);
}

#[cfg(feature = "axum")]
#[tokio::test]
async fn axum_route() {
    use axum::Router;

    let server = tether_server::Server::new(Config::default());
    let events = server.events().expect("events");
    let _seen = echo(&server, events);
    let app: Router = Router::new().route("/ws", server.axum_route());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    let url = format!("ws://{addr}/ws");
    assert_eq!(refused_status(connect_with(&url, "chat", None).await), 400);
    let mut c = TestClient::new(url.clone());
    assert!(!c.connect().await.resumed);
    let sent: Vec<String> = (1..=50).map(|n| format!("a{n}")).collect();
    for m in &sent {
        c.send(m.clone());
    }
    c.flush().await;
    assert!(c.pump_until(WAIT, |c| c.received.len() >= sent.len()).await);
    assert_eq!(c.received, sent);
    // Cut and resume through the route.
    c.send("after".into());
    c.flush().await;
    c.cut();
    assert!(c.connect().await.resumed);
    assert!(c.pump_until(WAIT, |c| c.received.len() > sent.len()).await);
    assert_eq!(c.received.last().map(String::as_str), Some("after"));
    // Not an upgrade at all.
    let plain = tokio::net::TcpStream::connect(addr).await.expect("tcp");
    let mut plain = tokio::io::BufStream::new(plain);
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    plain
        .write_all(b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    plain.flush().await.expect("flush");
    let mut head = vec![0u8; 12];
    tokio::time::timeout(WAIT, plain.read_exact(&mut head))
        .await
        .expect("in time")
        .expect("read");
    assert_eq!(&head, b"HTTP/1.1 400");
}
