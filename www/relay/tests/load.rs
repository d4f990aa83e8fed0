//! Load: 50 clients each send 100 moves as fast as they can; every client must end up
//! with every other client's final position. Prints the numbers (run with --nocapture).
//!
//! Clients stay connected until every one of them is done: a client that leaves has its
//! pending cursor replaced by a `leave` in the others' outboxes (the relay conflates per
//! client), so a slow receiver would rightly never see that client's final position.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::Barrier;
use tokio_tungstenite::tungstenite::Message;

const CLIENTS: usize = 50;
const MOVES: usize = 100;

/// As fast as the sockets take them: the relay conflates, receivers get the latest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_clients_hundred_moves_each_flat_out() {
    run(None).await;
}

/// At 60 moves per second per client, as the demo page sends (one per animation frame).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_clients_hundred_moves_each_at_60_hz() {
    run(Some(Duration::from_micros(16_667))).await;
}

async fn run(pace: Option<Duration>) {
    let relay = start().await;
    let mut sockets = Vec::new();
    let mut ids = Vec::new();
    for _ in 0..CLIENTS {
        let mut ws = connect(&relay, "").await;
        let w = next_json(&mut ws, 5000).await;
        ids.push(w["id"].as_u64().expect("id"));
        sockets.push(ws);
    }
    // Drain the snapshots (nobody has moved yet, so there are none) and start together.
    let start = Instant::now();
    let all_done = Arc::new(Barrier::new(CLIENTS));
    let mut tasks = Vec::new();
    for (i, ws) in sockets.into_iter().enumerate() {
        let me = ids[i];
        let others: Vec<u64> = ids.iter().copied().filter(|&id| id != me).collect();
        let all_done = Arc::clone(&all_done);
        tasks.push(tokio::spawn(async move {
            let (mut tx, mut rx) = ws.split();
            let sender = tokio::spawn(async move {
                for k in 0..MOVES {
                    // The last move of client i is (1.0, i/100): a marker receivers wait for.
                    let x = (k + 1) as f64 / MOVES as f64;
                    let msg = format!(r#"{{"type":"move","x":{x},"y":{}}}"#, i as f64 / 100.0);
                    tx.send(Message::Text(msg.into())).await.expect("send");
                    if let Some(p) = pace {
                        tokio::time::sleep(p).await;
                    }
                }
                tx
            });
            let mut latest: HashMap<u64, (f64, f64)> = HashMap::new();
            let mut received = 0usize;
            let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
            let done = |latest: &HashMap<u64, (f64, f64)>| {
                others
                    .iter()
                    .all(|id| latest.get(id).is_some_and(|&(x, _)| x == 1.0))
            };
            while !done(&latest) {
                let msg = tokio::time::timeout_at(deadline, rx.next())
                    .await
                    .unwrap_or_else(|_| {
                        panic!(
                            "client {i}: not all final positions within 30 s ({} of {})",
                            latest.values().filter(|p| p.0 == 1.0).count(),
                            others.len()
                        )
                    })
                    .expect("open")
                    .expect("no error");
                if let Message::Text(t) = msg {
                    let v: serde_json::Value = serde_json::from_str(&t).expect("json");
                    if v["type"] == "cursor" {
                        received += 1;
                        let (Some(id), Some(x), Some(y)) =
                            (v["id"].as_u64(), v["x"].as_f64(), v["y"].as_f64())
                        else {
                            panic!("bad cursor {v}")
                        };
                        latest.insert(id, (x, y));
                    }
                }
            }
            let elapsed = start.elapsed();
            let _tx = sender.await.expect("sender");
            all_done.wait().await;
            // Positions are right, not only present.
            for (&id, &(x, _)) in &latest {
                assert!(id != me && x == 1.0);
            }
            (received, elapsed)
        }));
    }
    let mut total = 0;
    let mut slowest = Duration::ZERO;
    let mut min_recv = usize::MAX;
    let mut max_recv = 0;
    for t in tasks {
        let (received, elapsed) = t.await.expect("client task");
        total += received;
        slowest = slowest.max(elapsed);
        min_recv = min_recv.min(received);
        max_recv = max_recv.max(received);
    }
    let sent = CLIENTS * MOVES;
    let unconflated = CLIENTS * MOVES * (CLIENTS - 1);
    println!(
        "load ({}): {CLIENTS} clients x {MOVES} moves = {sent} moves sent; every client got all {} final positions; \
         cursor messages delivered: {total} of {unconflated} without conflation ({:.1}%), per client {min_recv}..{max_recv}; \
         all done in {:.0} ms",
        pace.map_or("flat out".to_owned(), |p| format!("one move per {} ms", p.as_millis())),
        CLIENTS - 1,
        100.0 * total as f64 / unconflated as f64,
        slowest.as_secs_f64() * 1000.0
    );
    relay.stop().await.expect("clean stop");
}
