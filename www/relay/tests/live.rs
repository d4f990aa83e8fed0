//! `/live`: the continuity protocol's reference server inside the relay, by hand over a
//! real socket (tokio-tungstenite): the handshake, the echo of `{"m":k}`, the numbered feed,
//! a resume that keeps the session, the plain WebSocket refused, and the shutdown.

mod common;

use std::time::Duration;

use common::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

async fn connect_live(relay: &tether_relay::Relay) -> Ws {
    let mut req = format!("ws://{}/live", relay.addr).into_client_request().unwrap();
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", "tether.v1".parse().unwrap());
    let (ws, resp) = tokio::time::timeout(Duration::from_secs(5), tokio_tungstenite::connect_async(req))
        .await
        .expect("connect within 5 s")
        .expect("handshake");
    assert_eq!(
        resp.headers()
            .get("sec-websocket-protocol")
            .map(|v| v.to_str().unwrap()),
        Some("tether.v1")
    );
    ws
}

/// The next text frame, within `ms`.
async fn next_text(ws: &mut Ws, ms: u64) -> String {
    loop {
        let msg = tokio::time::timeout(Duration::from_millis(ms), ws.next())
            .await
            .expect("a frame in time")
            .expect("stream open")
            .expect("no error");
        if let Message::Text(t) = msg {
            return t.to_string();
        }
    }
}

/// The payload of the next data frame (`D<seq>,<ack>;<payload>`), skipping acks.
async fn next_data(ws: &mut Ws, ms: u64) -> (u64, String) {
    loop {
        let t = next_text(ws, ms).await;
        if let Some(rest) = t.strip_prefix('D') {
            let (head, payload) = rest.split_once(';').expect("a data frame");
            let seq = head.split(',').next().unwrap().parse().unwrap();
            return (seq, payload.to_owned());
        }
    }
}

#[tokio::test]
async fn live_echoes_numbered_messages_feeds_and_resumes() {
    let relay = start().await;
    let mut ws = connect_live(&relay).await;
    ws.send(Message::text(
        r#"{"t":"hello","v":1,"sid":null,"tok":null,"rx":0}"#,
    ))
    .await
    .unwrap();
    let welcome: Value = serde_json::from_str(&next_text(&mut ws, 2000).await).unwrap();
    assert_eq!(welcome["t"], "welcome");
    assert_eq!(welcome["resumed"], false);
    let sid = welcome["sid"].as_str().unwrap().to_owned();
    let tok = welcome["tok"].as_str().unwrap().to_owned();

    ws.send(Message::text(r#"D1,0;{"m":1}"#)).await.unwrap();
    ws.send(Message::text("D2,0;not numbered")).await.unwrap();
    ws.send(Message::text(r#"D3,0;{"m":3}"#)).await.unwrap();
    // The echoes and the feed, each in order; the feed ticks every 500 ms.
    let (mut echoes, mut feed, mut rx) = (Vec::new(), Vec::new(), 0);
    while echoes.len() < 2 || feed.len() < 2 {
        let (seq, payload) = next_data(&mut ws, 2000).await;
        assert_eq!(seq, rx + 1, "in order");
        rx = seq;
        let v: Value = serde_json::from_str(&payload).unwrap();
        if let Some(m) = v.get("m") {
            echoes.push(m.as_u64().unwrap());
        } else {
            feed.push(v["n"].as_u64().unwrap());
        }
    }
    assert_eq!(echoes, [1, 3], "numbered messages echoed, anything else ignored");
    assert_eq!(feed[..2], [1, 2]);

    // Cut the connection and resume: the same session, the feed goes on where it was.
    drop(ws);
    tokio::time::sleep(Duration::from_millis(700)).await;
    let mut ws = connect_live(&relay).await;
    let hello = serde_json::json!({"t": "hello", "v": 1, "sid": sid, "tok": tok, "rx": rx});
    ws.send(Message::text(hello.to_string())).await.unwrap();
    let welcome: Value = serde_json::from_str(&next_text(&mut ws, 2000).await).unwrap();
    assert_eq!(welcome["resumed"], true, "{welcome}");
    let (seq, payload) = next_data(&mut ws, 2000).await;
    assert_eq!(seq, rx + 1, "nothing lost or repeated across the cut");
    let n: Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(n["n"].as_u64(), Some(*feed.last().unwrap() + 1), "{payload}");

    // Shutdown: the live connection is closed with 1001 too.
    let stopping = tokio::spawn(relay.stop());
    let close = tokio::time::timeout(Duration::from_secs(3), async {
        while let Some(Ok(msg)) = ws.next().await {
            if let Message::Close(frame) = msg {
                return frame.map(|f| u16::from(f.code));
            }
        }
        None
    })
    .await
    .expect("closed within 3 s");
    assert_eq!(close, Some(1001));
    stopping.await.expect("join").expect("clean stop");
}

#[tokio::test]
async fn live_refuses_a_plain_websocket() {
    let relay = start().await;
    let url = format!("ws://{}/live", relay.addr);
    let err = tokio_tungstenite::connect_async(url).await.expect_err("refused");
    assert!(err.to_string().contains("400"), "{err}");
    // /ws is still the plain one.
    let mut ws = connect(&relay, "").await;
    assert_eq!(next_json(&mut ws, 2000).await["type"], "welcome");
    relay.stop().await.unwrap();
}
