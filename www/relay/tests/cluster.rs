//! Several relays sharing one room through Redis (`--broker redis://..`), each test with a
//! `redis-server` of its own and relays as child processes; and the same suite on one relay
//! alone with the in-process broker.
//!
//! A missing or broken redis-server fails these tests (with the reason); nothing is skipped.
//! Timing bounds are generous: the measured times are printed (`-- --nocapture`).

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::cluster::{Proxy, RedisServer, RelayProcess};
use common::*;
use serde_json::Value;

/// The liveness ttl the relays get here (`--broker-ttl-ms`): a sync every ~333 ms.
const TTL_MS: u64 = 1000;

/// A relay's cursors are gone from the others' pages within this long after it died or was
/// cut off: its key expires within a ttl, the others notice at their next sync (ttl / 3),
/// plus a second of slack for a busy machine.
const GONE_WITHIN_MS: u64 = 2 * TTL_MS + 1000;

async fn welcome(ws: &mut Ws) -> Value {
    let w = next_json(ws, 3000).await;
    assert_eq!(w["type"], "welcome", "{w}");
    w
}

/// The demo's behaviour, with clients spread over `relays` (round robin): welcome and
/// unique ids, moves reaching every other client and not the mover, a newcomer's snapshot
/// of everyone's latest position, a leave reaching everyone.
async fn suite(relays: &[SocketAddr]) {
    let at = |i: usize| relays[i % relays.len()];
    let mut a = connect_to(at(0), "").await;
    let wa = welcome(&mut a).await;
    let mut b = connect_to(at(1), "").await;
    let wb = welcome(&mut b).await;
    let mut c = connect_to(at(2), "").await;
    let wc = welcome(&mut c).await;
    let ids = [&wa["id"], &wb["id"], &wc["id"]];
    assert!(ids.iter().all(|id| id.as_u64().is_some()), "{ids:?}");
    assert!(
        ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2],
        "unique ids: {ids:?}"
    );

    send_move(&mut a, 0.25, 0.75).await;
    for ws in [&mut b, &mut c] {
        let m = wait_for(ws, 3000, "a's cursor", |m| is_cursor(m, &wa["id"], 0.25, 0.75)).await;
        assert_eq!((&m["name"], &m["color"]), (&wa["name"], &wa["color"]));
    }
    send_move(&mut b, 0.5, 0.125).await;
    let m = next_json(&mut a, 3000).await;
    assert!(
        is_cursor(&m, &wb["id"], 0.5, 0.125),
        "a gets b's move, never its own: {m}"
    );
    wait_for(&mut c, 3000, "b's cursor", |m| {
        is_cursor(m, &wb["id"], 0.5, 0.125)
    })
    .await;

    // A newcomer on c's relay (which has seen both moves): exactly the latest two.
    let mut d = connect_to(at(2), "").await;
    welcome(&mut d).await;
    let mut snapshot = vec![next_json(&mut d, 3000).await, next_json(&mut d, 3000).await];
    snapshot.sort_by_key(|m| m["id"].as_u64());
    let mut want = vec![(wa["id"].clone(), 0.25, 0.75), (wb["id"].clone(), 0.5, 0.125)];
    want.sort_by_key(|w| w.0.as_u64());
    for (m, (id, x, y)) in snapshot.iter().zip(&want) {
        assert!(is_cursor(m, id, *x, *y), "snapshot {snapshot:?}");
    }
    assert!(silent(&mut d, 300).await, "nothing else in the snapshot");

    a.close(None).await.expect("close");
    for ws in [&mut b, &mut c, &mut d] {
        wait_for(ws, 3000, "a's leave", |m| is_leave(m, &wa["id"])).await;
    }
}

#[tokio::test]
async fn one_relay_alone_in_process() {
    let relay = start().await;
    suite(&[relay.addr]).await;
    relay.stop().await.expect("clean stop");
}

#[tokio::test]
async fn three_relays_on_redis_share_moves_snapshots_and_leaves() {
    let redis = RedisServer::start().await;
    let mut relays = Vec::new();
    for _ in 0..3 {
        relays.push(RelayProcess::start(&redis.url(), TTL_MS).await);
    }
    let addrs: Vec<SocketAddr> = relays.iter().map(|r| r.addr).collect();
    suite(&addrs).await;

    // A relay stopped cleanly says so: its clients' cursors leave the others' pages at once,
    // not a ttl later.
    let mut e = connect_to(addrs[0], "").await;
    welcome(&mut e).await;
    let mut f = connect_to(addrs[1], "").await;
    let wf = welcome(&mut f).await;
    send_move(&mut f, 0.5, 0.5).await;
    wait_for(&mut e, 3000, "f's cursor", |m| is_cursor(m, &wf["id"], 0.5, 0.5)).await;
    let t = Instant::now();
    relays[1].terminate().await;
    wait_for(&mut e, 3000, "f's leave", |m| is_leave(m, &wf["id"])).await;
    let took = t.elapsed();
    println!("a stopped relay's cursor left the others after {took:?}");
    assert!(took < Duration::from_millis(TTL_MS), "before the ttl: {took:?}");
}

#[tokio::test]
async fn a_killed_relays_cursors_vanish_within_the_ttl() {
    let redis = RedisServer::start().await;
    let mut doomed = RelayProcess::start(&redis.url(), TTL_MS).await;
    let survivor = RelayProcess::start(&redis.url(), TTL_MS).await;
    let mut a = connect_to(doomed.addr, "").await;
    let wa = welcome(&mut a).await;
    let mut b = connect_to(survivor.addr, "").await;
    welcome(&mut b).await;
    send_move(&mut a, 0.3, 0.6).await;
    wait_for(&mut b, 3000, "a's cursor", |m| is_cursor(m, &wa["id"], 0.3, 0.6)).await;

    let t = Instant::now();
    doomed.kill().await;
    wait_for(&mut b, GONE_WITHIN_MS, "a's leave", |m| is_leave(m, &wa["id"])).await;
    println!(
        "a killed relay's cursor vanished after {:?} (ttl {TTL_MS} ms)",
        t.elapsed()
    );
    // Gone from snapshots too, and from Redis.
    let mut c = connect_to(survivor.addr, "").await;
    welcome(&mut c).await;
    assert!(silent(&mut c, 500).await, "no ghost in a newcomer's snapshot");
    let left: Vec<String> = redis.query(&["HKEYS", "tether:room:demo:cursors"]).await;
    assert!(
        !left.contains(&wa["id"].to_string()),
        "its entry is deleted: {left:?}"
    );
}

#[tokio::test]
async fn a_redis_restart_is_survived_pubsub_resumes_and_cursors_come_back() {
    let mut redis = RedisServer::start().await;
    let one = RelayProcess::start(&redis.url(), TTL_MS).await;
    let two = RelayProcess::start(&redis.url(), TTL_MS).await;
    let mut a = connect_to(one.addr, "").await;
    let wa = welcome(&mut a).await;
    let mut b = connect_to(two.addr, "").await;
    let wb = welcome(&mut b).await;
    send_move(&mut a, 0.1, 0.1).await;
    wait_for(&mut b, 3000, "a's cursor", |m| is_cursor(m, &wa["id"], 0.1, 0.1)).await;
    send_move(&mut b, 0.2, 0.2).await;
    wait_for(&mut a, 3000, "b's cursor", |m| is_cursor(m, &wb["id"], 0.2, 0.2)).await;

    // Redis dies with everything in it. Past a ttl, neither relay vouches for the other's
    // cursors; each keeps serving its own clients.
    redis.kill();
    let t = Instant::now();
    wait_for(&mut b, GONE_WITHIN_MS, "a's leave while Redis is down", |m| {
        is_leave(m, &wa["id"])
    })
    .await;
    wait_for(&mut a, GONE_WITHIN_MS, "b's leave while Redis is down", |m| {
        is_leave(m, &wb["id"])
    })
    .await;
    println!("without Redis, remote cursors dropped after {:?}", t.elapsed());
    send_move(&mut a, 0.9, 0.8).await; // made during the outage: must arrive afterwards

    // An empty Redis on the same port: the relays reconnect, resubscribe and put their
    // cursors back.
    redis.restart().await;
    let t = Instant::now();
    wait_for(&mut b, 10_000, "a's latest cursor after the restart", |m| {
        is_cursor(m, &wa["id"], 0.9, 0.8)
    })
    .await;
    wait_for(&mut a, 10_000, "b's cursor after the restart", |m| {
        is_cursor(m, &wb["id"], 0.2, 0.2)
    })
    .await;
    println!(
        "after the Redis restart, cursors were back within {:?}",
        t.elapsed()
    );
    let subs: (String, i64) = redis.query(&["PUBSUB", "NUMSUB", "tether:room:demo"]).await;
    assert_eq!(subs.1, 2, "both relays subscribed again");
    send_move(&mut a, 0.4, 0.4).await;
    wait_for(&mut b, 3000, "a live move", |m| is_cursor(m, &wa["id"], 0.4, 0.4)).await;
    let mut c = connect_to(two.addr, "").await;
    welcome(&mut c).await;
    wait_for(&mut c, 3000, "a in a newcomer's snapshot", |m| {
        is_cursor(m, &wa["id"], 0.4, 0.4)
    })
    .await;
}

#[tokio::test]
async fn a_relay_cut_off_from_redis_leaves_no_ghosts_and_comes_back() {
    let redis = RedisServer::start().await;
    let proxy = Proxy::start(redis.port).await;
    let island = RelayProcess::start(&proxy.url(), TTL_MS).await;
    let mainland = RelayProcess::start(&redis.url(), TTL_MS).await;
    let mut a = connect_to(island.addr, "").await;
    let wa = welcome(&mut a).await;
    let mut b = connect_to(mainland.addr, "").await;
    let wb = welcome(&mut b).await;
    send_move(&mut a, 0.7, 0.3).await;
    wait_for(&mut b, 3000, "a's cursor", |m| is_cursor(m, &wa["id"], 0.7, 0.3)).await;
    send_move(&mut b, 0.6, 0.6).await;
    wait_for(&mut a, 3000, "b's cursor", |m| is_cursor(m, &wb["id"], 0.6, 0.6)).await;

    proxy.set_open(false);
    let t = Instant::now();
    wait_for(&mut b, GONE_WITHIN_MS, "the cut-off client's leave", |m| {
        is_leave(m, &wa["id"])
    })
    .await;
    wait_for(
        &mut a,
        GONE_WITHIN_MS,
        "the mainland's leave on the island",
        |m| is_leave(m, &wb["id"]),
    )
    .await;
    println!(
        "a partition dropped the cursors on both sides after {:?}",
        t.elapsed()
    );

    proxy.set_open(true);
    let t = Instant::now();
    wait_for(&mut b, 10_000, "a back", |m| is_cursor(m, &wa["id"], 0.7, 0.3)).await;
    wait_for(&mut a, 10_000, "b back", |m| is_cursor(m, &wb["id"], 0.6, 0.6)).await;
    println!("after the partition, cursors were back within {:?}", t.elapsed());
    send_move(&mut a, 0.2, 0.9).await;
    wait_for(&mut b, 3000, "a live move", |m| is_cursor(m, &wa["id"], 0.2, 0.9)).await;
}
