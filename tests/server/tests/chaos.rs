//! End-to-end test of chaos mode and `/soak`: a server of its own on free loopback ports,
//! a tokio-tungstenite client that keeps reconnecting through a short, dense chaos run.
//! Every wait is bounded.

mod common;

use std::time::{Duration, Instant};

use common::Server;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::time::{sleep, timeout};
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;

const STEP: Duration = Duration::from_secs(5);

/// GET `path` from the server's control port; the JSON body of a 200 answer.
async fn get(srv: &Server, path: &str) -> Value {
    let (status, _, body) = srv.get(path).await;
    assert_eq!(status, 200, "GET {path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
}

#[tokio::test]
async fn chaos_run_disrupts_then_calms_down_and_soak_records_everything() {
    let srv = Server::start();
    let url = format!("ws://{}/soak?key=k", srv.ws);

    // Before any chaos: numbered messages are recorded, anything else is echoed.
    let (mut ws, _) = timeout(STEP, connect_async(&url))
        .await
        .expect("connect")
        .expect("connect");
    ws.send(Message::text("soak:0")).await.expect("send");
    ws.send(Message::text("ping")).await.expect("send");
    let echo = timeout(STEP, ws.next()).await.expect("echo");
    assert!(matches!(echo, Some(Ok(Message::Text(t))) if t.as_str() == "ping"));
    drop(ws);

    // A dense run of 2.5 s: keep reconnecting and sending until it is over.
    let started = get(&srv, "/chaos?seed=5&ms=2500&minGap=40&maxGap=120").await;
    assert_eq!(started["seed"], 5);
    let deadline = Instant::now() + Duration::from_secs(20);
    let (mut seq, mut failures) = (1u64, 0u32);
    loop {
        assert!(Instant::now() < deadline, "chaos never ended");
        let report = get(&srv, "/chaos/report").await;
        if report["running"] == false {
            break;
        }
        match timeout(Duration::from_secs(1), connect_async(&url)).await {
            Ok(Ok((mut ws, _))) => {
                for _ in 0..20 {
                    if ws.send(Message::text(format!("soak:{seq}:pad"))).await.is_err() {
                        failures += 1;
                        break;
                    }
                    seq += 1;
                    sleep(Duration::from_millis(10)).await;
                }
            }
            _ => {
                failures += 1;
                sleep(Duration::from_millis(20)).await;
            }
        }
    }
    let report = get(&srv, "/chaos/report").await;
    let faults = report["faults"].as_array().expect("faults");
    assert!(faults.len() >= 10, "only {} faults: {report}", faults.len());
    assert!(failures > 0, "chaos never disturbed the client");
    assert!(
        report["endedAfterMs"].as_f64().is_some_and(|ms| ms >= 2400.0),
        "{report}"
    );

    // Calm again: a connection works, and stays up.
    let (mut ws, _) = timeout(STEP, connect_async(&url))
        .await
        .expect("connect")
        .expect("connect");
    let last = seq + 1000;
    ws.send(Message::text(format!("soak:{last}")))
        .await
        .expect("send");
    ws.send(Message::text("ping")).await.expect("send");
    let echo = timeout(STEP, ws.next()).await.expect("echo after chaos");
    assert!(matches!(echo, Some(Ok(Message::Text(_)))));
    let report = get(&srv, "/chaos/report?key=k").await;
    let arrivals = report["soak"]["arrivals"].as_array().expect("arrivals");
    let seqs: Vec<u64> = arrivals.iter().filter_map(|a| a[0].as_u64()).collect();
    assert_eq!(seqs.first(), Some(&0));
    assert_eq!(seqs.last(), Some(&last));
    // Arrivals on one connection keep the order they were sent in.
    let mut by_conn = std::collections::HashMap::<u64, u64>::new();
    for a in arrivals {
        let (s, c) = (a[0].as_u64().unwrap_or(0), a[2].as_u64().unwrap_or(0));
        let prev = by_conn.insert(c, s);
        assert!(prev.is_none_or(|p| p < s), "out of order on connection {c}");
    }
    let conns = report["soak"]["connections"].as_array().expect("connections");
    assert!(conns.len() >= 3, "{conns:?}");

    // Stop is idempotent and leaves the port up.
    let stopped = get(&srv, "/chaos/stop").await;
    assert_eq!(stopped["running"], false);
    assert!(stopped["soak"].is_null());
    ws.send(Message::text("ping")).await.expect("send after stop");
    assert!(timeout(STEP, ws.next()).await.expect("echo after stop").is_some());
}

#[tokio::test]
async fn stop_ends_a_run_at_once() {
    let srv = Server::start();
    get(&srv, "/chaos?seed=9&ms=600000&minGap=10&maxGap=20").await;
    sleep(Duration::from_millis(300)).await;
    let stopped = get(&srv, "/chaos/stop").await;
    assert_eq!(stopped["running"], false);
    assert!(stopped["endedAfterMs"].as_f64().is_some_and(|ms| ms < 5000.0));
    let n = stopped["faults"].as_array().map_or(0, Vec::len);
    // Nothing happens after the stop, and the port accepts connections.
    sleep(Duration::from_millis(200)).await;
    assert_eq!(
        get(&srv, "/chaos/report").await["faults"]
            .as_array()
            .map_or(0, Vec::len),
        n
    );
    let url = format!("ws://{}/soak?key=s", srv.ws);
    let (mut ws, _) = timeout(STEP, connect_async(&url))
        .await
        .expect("connect")
        .expect("connect");
    ws.send(Message::text("ping")).await.expect("send");
    assert!(timeout(STEP, ws.next()).await.expect("echo").is_some());
}
