//! The relay over real sockets: welcome, broadcast, snapshot, leave, bad input, static
//! files, shutdown.

mod common;

use std::time::Duration;

use common::*;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn welcome_gives_id_name_and_colour() {
    let relay = start().await;
    let mut a = connect(&relay, "").await;
    let w = next_json(&mut a, 2000).await;
    assert_eq!(w["type"], "welcome");
    assert!(w["id"].as_u64().is_some(), "{w}");
    assert!(!w["name"].as_str().unwrap_or("").is_empty(), "{w}");
    let color = w["color"].as_str().unwrap_or("");
    assert!(color.len() == 7 && color.starts_with('#'), "{w}");
    let mut b = connect(&relay, "").await;
    let wb = next_json(&mut b, 2000).await;
    assert_ne!(wb["id"], w["id"]);
    assert_ne!(wb["color"], w["color"]);
    relay.stop().await.expect("clean stop");
}

#[tokio::test]
async fn moves_are_broadcast_to_the_others_only() {
    let relay = start().await;
    let mut a = connect(&relay, "").await;
    let wa = next_json(&mut a, 2000).await;
    let mut b = connect(&relay, "").await;
    next_json(&mut b, 2000).await;
    send_move(&mut a, 0.25, 0.75).await;
    let c = next_json(&mut b, 2000).await;
    assert_eq!(c["type"], "cursor");
    assert_eq!(c["id"], wa["id"]);
    assert_eq!(c["name"], wa["name"]);
    assert_eq!(c["color"], wa["color"]);
    assert_eq!(c["x"], 0.25);
    assert_eq!(c["y"], 0.75);
    assert!(
        silent(&mut a, 200).await,
        "the sender does not get its own cursor back"
    );
    // Out-of-range positions are clamped.
    send_move(&mut a, -3.0, 9.0).await;
    let c = next_json(&mut b, 2000).await;
    assert_eq!((c["x"].as_f64(), c["y"].as_f64()), (Some(0.0), Some(1.0)));
    relay.stop().await.expect("clean stop");
}

#[tokio::test]
async fn newcomers_get_the_current_cursors() {
    let relay = start().await;
    let mut a = connect(&relay, "").await;
    let wa = next_json(&mut a, 2000).await;
    send_move(&mut a, 0.1, 0.2).await;
    send_move(&mut a, 0.3, 0.4).await;
    let mut idle = connect(&relay, "").await; // connected, never moves: no cursor
    next_json(&mut idle, 2000).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut b = connect(&relay, "").await;
    assert_eq!(next_json(&mut b, 2000).await["type"], "welcome");
    let c = next_json(&mut b, 2000).await;
    assert_eq!(
        (c["type"].as_str(), c["id"].clone()),
        (Some("cursor"), wa["id"].clone())
    );
    assert_eq!((c["x"].as_f64(), c["y"].as_f64()), (Some(0.3), Some(0.4)));
    assert!(
        silent(&mut b, 200).await,
        "one cursor, the latest, and none for the idle client"
    );
    relay.stop().await.expect("clean stop");
}

#[tokio::test]
async fn leave_is_broadcast_when_a_client_disconnects() {
    let relay = start().await;
    let mut a = connect(&relay, "").await;
    let wa = next_json(&mut a, 2000).await;
    let mut b = connect(&relay, "").await;
    next_json(&mut b, 2000).await;
    send_move(&mut a, 0.5, 0.5).await;
    assert_eq!(next_json(&mut b, 2000).await["type"], "cursor");
    a.close(None).await.expect("close");
    let l = next_json(&mut b, 2000).await;
    assert_eq!(l["type"], "leave");
    assert_eq!(l["id"], wa["id"]);

    // An abrupt drop (no close frame) is a leave too.
    let mut c = connect(&relay, "").await;
    let wc = next_json(&mut c, 2000).await;
    drop(c);
    let l = next_json(&mut b, 2000).await;
    assert_eq!(
        (l["type"].as_str(), l["id"].clone()),
        (Some("leave"), wc["id"].clone())
    );
    relay.stop().await.expect("clean stop");
}

#[tokio::test]
async fn a_reconnecting_client_keeps_a_valid_name_and_colour() {
    let relay = start().await;
    let mut a = connect(&relay, "?name=Brave%20Otter&color=%2312ab34").await;
    let w = next_json(&mut a, 2000).await;
    assert_eq!(
        (w["name"].as_str(), w["color"].as_str()),
        (Some("Brave Otter"), Some("#12ab34"))
    );
    let mut b = connect(&relay, "?name=%3Cscript%3E&color=red").await;
    let w = next_json(&mut b, 2000).await;
    assert_ne!(w["name"], "<script>");
    assert!(w["color"].as_str().unwrap_or("").starts_with('#'));
    relay.stop().await.expect("clean stop");
}

#[tokio::test]
async fn bad_input_is_ignored_or_closes_that_client_only() {
    let relay = start().await;
    let mut a = connect(&relay, "").await;
    next_json(&mut a, 2000).await;
    let mut b = connect(&relay, "").await;
    next_json(&mut b, 2000).await;
    for bad in [
        "not json",
        "{}",
        r#"{"type":"move"}"#,
        r#"{"type":"move","x":"1","y":2}"#,
        r#"{"type":"move","x":1e999,"y":0}"#,
        r#"{"type":"teleport","x":0,"y":0}"#,
        "[1,2,3]",
    ] {
        a.send(Message::Text(bad.into())).await.expect("send");
    }
    a.send(Message::Binary(vec![1, 2, 3].into())).await.expect("send");
    assert!(silent(&mut b, 300).await, "nothing broadcast for bad input");
    send_move(&mut a, 0.5, 0.5).await;
    assert_eq!(next_json(&mut b, 2000).await["x"], 0.5, "the client still works");

    // A message far bigger than a move closes that connection; the others are unaffected.
    let _ = a.send(Message::Text("x".repeat(100_000).into())).await;
    let ended = tokio::time::timeout(Duration::from_secs(3), async {
        while let Some(Ok(_)) = a.next().await {}
    })
    .await;
    assert!(ended.is_ok(), "the oversized client is disconnected");
    assert_eq!(next_json(&mut b, 2000).await["type"], "leave");
    relay.stop().await.expect("clean stop");
}

#[tokio::test]
async fn shutdown_closes_clients_with_1001() {
    let relay = start().await;
    let mut a = connect(&relay, "").await;
    next_json(&mut a, 2000).await;
    let mut b = connect(&relay, "").await;
    next_json(&mut b, 2000).await;
    send_move(&mut b, 0.5, 0.5).await;
    assert_eq!(next_json(&mut a, 2000).await["type"], "cursor");
    let stopping = tokio::spawn(relay.stop());
    let close = tokio::time::timeout(Duration::from_secs(3), async {
        while let Some(Ok(msg)) = a.next().await {
            match msg {
                Message::Close(frame) => return frame.map(|f| u16::from(f.code)),
                Message::Text(t) => panic!("unexpected message during shutdown: {t}"),
                _ => {}
            }
        }
        None
    })
    .await
    .expect("closed within 3 s");
    // 1001, and no `leave` for b before it: a shutdown is not everyone leaving.
    assert_eq!(close, Some(1001));
    drop(b);
    stopping.await.expect("join").expect("clean stop");
}

/// Raw HTTP GET; returns the head (lower-cased) and the body length.
async fn get(addr: std::net::SocketAddr, path: &str) -> (String, usize) {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("tcp");
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("write");
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf))
        .await
        .expect("response in time")
        .expect("read");
    let text = String::from_utf8_lossy(&buf);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (head.to_ascii_lowercase(), body.len())
}

#[tokio::test]
async fn serves_www_and_pkg_with_mime_types_and_csp() {
    let relay = start().await;
    let (head, len) = get(relay.addr, "/").await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("content-type: text/html"), "{head}");
    assert!(
        head.contains("content-security-policy: script-src 'self' 'wasm-unsafe-eval'"),
        "{head}"
    );
    assert!(len > 100);
    let (head, _) = get(relay.addr, "/app.js").await;
    assert!(head.contains("content-type: text/javascript"), "{head}");
    if repo_root().join("pkg/tether_ws_bg.wasm").is_file() {
        let (head, _) = get(relay.addr, "/pkg/tether_ws_bg.wasm").await;
        assert!(head.contains("content-type: application/wasm"), "{head}");
    }
    for refused in [
        "/relay/Cargo.toml",
        "/../Cargo.toml",
        "/pkg/%2e%2e/Cargo.toml",
        "/nope.html",
    ] {
        let (head, _) = get(relay.addr, refused).await;
        assert!(head.starts_with("http/1.1 404"), "{refused}: {head}");
    }
    let (head, _) = get(relay.addr, "/ws").await;
    assert!(head.starts_with("http/1.1 400"), "plain GET /ws: {head}");
    relay.stop().await.expect("clean stop");
}
