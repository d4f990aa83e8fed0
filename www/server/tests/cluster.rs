//! Several reference servers on one Redis (`--store redis://…`): a session resumes on any
//! node with nothing lost or duplicated either way, also when the node it was on is
//! SIGKILLed mid-stream; take-over across nodes (4001); forged tokens; a TTL that ran out;
//! a Redis restart (resumes refused explicitly, service back); a node cut off from Redis.
//! Each test starts its own `redis-server` (tests/support/redis_server.rs) and nodes as
//! child processes, and kills exactly those. The first scenario also runs on one node
//! without a store (the default). A missing redis-server fails these tests; nothing is
//! skipped.

mod common;

#[path = "../../../tests/support/redis_server.rs"]
mod redis_server;

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use common::{hello, raw, TestClient, WAIT};
use redis_server::{Proxy, RedisServer};
use tether_ws::core::continuity::ResumeReason;
use tokio::io::{AsyncBufReadExt, BufReader};

/// A `tether-server` child process (echo, and a feed every 10 ms); killed on drop.
struct Node {
    addr: SocketAddr,
    args: Vec<String>,
    child: Option<tokio::process::Child>,
}

impl Node {
    /// A node on `store` (a Redis URL; `None`: no store), with extra flags.
    async fn start(store: Option<&str>, extra: &[&str]) -> Node {
        let mut args: Vec<String> = ["--feed-ms", "10"].iter().map(|s| s.to_string()).collect();
        if let Some(url) = store {
            args.extend(["--store".to_owned(), url.to_owned()]);
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        let mut node = Node {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            args,
            child: None,
        };
        node.spawn().await;
        node
    }

    async fn spawn(&mut self) {
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_tether-server"))
            .arg("--listen")
            .arg(self.addr.to_string())
            .args(&self.args)
            .env_remove("TETHER_STORE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("run tether-server");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
            .await
            .expect("the node's ready line within 10 s")
            .expect("read stdout")
            .expect("a ready line");
        let addr = line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        self.addr = addr.parse().expect("an address");
        self.child = Some(child);
    }

    fn url(&self) -> String {
        format!("ws://{}/", self.addr)
    }

    /// SIGKILL: no close frame, nothing flushed, as in a crash.
    async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// SIGTERM: the node closes its connections with 1001 and exits.
    async fn terminate(&mut self) {
        if let Some(mut child) = self.child.take() {
            if let Some(pid) = child.id() {
                let _ = std::process::Command::new("kill")
                    .args(["-TERM", &pid.to_string()])
                    .status();
            }
            let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
        }
    }

    /// Killed, then started again on the same port.
    async fn restart(&mut self) {
        self.kill().await;
        self.spawn().await;
    }
}

/// The client's messages echoed, in order, and whether every feed message stands at its
/// place in the session's stream (`{"n":k}` is the k-th message the client got).
fn check_streams(c: &TestClient, sent: usize) {
    let echoes: Vec<&str> = c
        .received
        .iter()
        .filter(|m| m.starts_with('c'))
        .map(String::as_str)
        .collect();
    let want: Vec<String> = (0..sent).map(|i| format!("c{i}")).collect();
    assert_eq!(echoes.len(), sent, "every message echoed exactly once");
    assert!(echoes.iter().zip(&want).all(|(a, b)| a == b), "echoes in order");
    let mut feed = 0;
    for (i, m) in c.received.iter().enumerate() {
        if let Some(n) = m.strip_prefix(r#"{"n":"#).and_then(|m| m.strip_suffix('}')) {
            feed += 1;
            assert_eq!(
                n.parse::<usize>().ok(),
                Some(i + 1),
                "feed message {m} at place {}",
                i + 1
            );
        }
    }
    assert!(feed > 10, "the feed ran ({feed} messages)");
}

/// Sends `count` more numbered messages from `from` on, pumping between them.
async fn stream(c: &mut TestClient, from: usize, count: usize) {
    for i in from..from + count {
        c.send(format!("c{i}"));
        c.pump(Duration::from_millis(3)).await;
    }
}

/// Pumps until all `sent` messages came back.
async fn drain(c: &mut TestClient, sent: usize) {
    let done = c
        .pump_until(Duration::from_secs(10), |c| {
            c.received.iter().filter(|m| m.starts_with('c')).count() >= sent
        })
        .await;
    assert!(done, "all {sent} echoes within 10 s (closed: {:?})", c.closed);
    c.pump(Duration::from_millis(100)).await;
}

/// The scenario of both the cluster and one node: a session moves from node to node
/// (cuts in the middle of both streams), and nothing is lost or duplicated.
async fn resumes_across(nodes: &[String]) {
    let mut c = TestClient::new(nodes[0].clone());
    assert!(!c.connect().await.resumed);
    let mut sent = 0;
    for round in 0..6 {
        stream(&mut c, sent, 25).await;
        sent += 25;
        // Cut with messages in flight both ways, and come back on the next node.
        c.write_outbox().await;
        c.cut();
        c.set_url(nodes[(round + 1) % nodes.len()].clone());
        let r = c.connect().await;
        assert!(r.resumed, "round {round}: resumed on the next node ({r:?})");
    }
    drain(&mut c, sent).await;
    check_streams(&c, sent);
    println!(
        "{} nodes: {sent} messages each way over 6 moves, {} replayed by the client, {} duplicates discarded",
        nodes.len(),
        c.replayed,
        c.duplicates
    );
}

#[tokio::test]
async fn one_node_without_a_store() {
    let node = Node::start(None, &[]).await;
    resumes_across(&[node.url()]).await;
}

#[tokio::test]
async fn three_nodes_on_redis_a_session_moves_between_them_with_nothing_lost() {
    let redis = RedisServer::start().await;
    let nodes = [
        Node::start(Some(&redis.url()), &[]).await,
        Node::start(Some(&redis.url()), &[]).await,
        Node::start(Some(&redis.url()), &[]).await,
    ];
    resumes_across(&nodes.iter().map(Node::url).collect::<Vec<_>>()).await;
}

#[tokio::test]
async fn sigkill_of_the_node_mid_stream_loses_nothing_either_way() {
    let redis = RedisServer::start().await;
    let mut nodes = [
        Node::start(Some(&redis.url()), &[]).await,
        Node::start(Some(&redis.url()), &[]).await,
        Node::start(Some(&redis.url()), &[]).await,
    ];
    let mut c = TestClient::new(nodes[0].url());
    assert!(!c.connect().await.resumed);
    let mut sent = 0;
    for k in 0..6 {
        let on = k % 3;
        stream(&mut c, sent, 40).await;
        sent += 40;
        // Killed while both streams run: messages queued, in flight, half-written.
        c.send(format!("c{sent}"));
        sent += 1;
        c.write_outbox().await;
        nodes[on].kill().await;
        stream(&mut c, sent, 10).await; // the client notices, and queues meanwhile
        sent += 10;
        c.cut();
        c.set_url(nodes[(on + 1) % 3].url());
        let r = c.connect().await;
        assert!(r.resumed, "kill {k}: resumed on another node ({r:?})");
        nodes[on].restart().await;
    }
    stream(&mut c, sent, 20).await;
    sent += 20;
    drain(&mut c, sent).await;
    check_streams(&c, sent);
    println!(
        "6 SIGKILLs mid-stream: {sent} messages each way, {} feed messages, {} replayed by the client",
        c.received.len() - sent,
        c.replayed
    );
}

#[tokio::test]
async fn a_node_stopped_with_sigterm_hands_its_sessions_on() {
    let redis = RedisServer::start().await;
    let mut a = Node::start(Some(&redis.url()), &[]).await;
    let b = Node::start(Some(&redis.url()), &[]).await;
    let mut c = TestClient::new(a.url());
    c.connect().await;
    stream(&mut c, 0, 30).await;
    c.write_outbox().await;
    a.terminate().await;
    assert!(
        c.pump_until(WAIT, |c| !c.is_connected()).await,
        "closed by the stop"
    );
    assert_eq!(c.closed, Some(1001));
    c.set_url(b.url());
    assert!(c.connect().await.resumed, "resumed on the node still up");
    stream(&mut c, 30, 10).await;
    drain(&mut c, 40).await;
    check_streams(&c, 40);
}

#[tokio::test]
async fn a_resume_on_another_node_takes_over_the_old_connection_with_4001() {
    let redis = RedisServer::start().await;
    let a = Node::start(Some(&redis.url()), &[]).await;
    let b = Node::start(Some(&redis.url()), &[]).await;
    let mut c = TestClient::new(a.url());
    c.connect().await;
    stream(&mut c, 0, 5).await;
    drain(&mut c, 5).await;
    let (sid, tok) = c.session().expect("a session");
    // A second connection, on node B, resumes the same session while A's still lives.
    let mut other = raw(b.addr).await;
    let w = hello(&mut other, Some(&sid), Some(&tok), c.engine.rx()).await;
    assert!(w.resumed, "B resumes the session A carries");
    assert!(
        c.pump_until(WAIT, |c| c.closed.is_some()).await,
        "A's connection closed"
    );
    assert_eq!(c.closed, Some(4001));
}

#[tokio::test]
async fn a_forged_token_on_another_node_takes_nothing() {
    let redis = RedisServer::start().await;
    let a = Node::start(Some(&redis.url()), &[]).await;
    let b = Node::start(Some(&redis.url()), &[]).await;
    let mut c = TestClient::new(a.url());
    c.connect().await;
    stream(&mut c, 0, 5).await;
    let (sid, _) = c.session().expect("a session");
    let mut forger = raw(b.addr).await;
    let w = hello(
        &mut forger,
        Some(&sid),
        Some("0123456789abcdef0123456789abcdef"),
        0,
    )
    .await;
    assert!(!w.resumed);
    assert_eq!(w.reason, Some(ResumeReason::Auth));
    // The owner goes on, and later moves to B as usual.
    stream(&mut c, 5, 5).await;
    drain(&mut c, 10).await;
    assert_eq!(c.closed, None, "the owner's connection was not touched");
    c.cut();
    c.set_url(b.url());
    assert!(c.connect().await.resumed);
    stream(&mut c, 10, 5).await;
    drain(&mut c, 15).await;
    check_streams(&c, 15);
}

#[tokio::test]
async fn a_resume_after_the_ttl_fails_explicitly() {
    let redis = RedisServer::start().await;
    let a = Node::start(Some(&redis.url()), &["--ttl-ms", "600"]).await;
    let b = Node::start(Some(&redis.url()), &["--ttl-ms", "600"]).await;
    let mut c = TestClient::new(a.url());
    c.connect().await;
    stream(&mut c, 0, 5).await;
    drain(&mut c, 5).await;
    c.cut();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    c.set_url(b.url());
    let r = c.connect().await;
    assert!(!r.resumed);
    assert_eq!(
        r.reason,
        Some(ResumeReason::Expired),
        "node A ended it, node B says why"
    );
}

#[tokio::test]
async fn a_redis_restart_refuses_resumes_explicitly_and_service_recovers() {
    let mut redis = RedisServer::start().await;
    let a = Node::start(Some(&redis.url()), &[]).await;
    let b = Node::start(Some(&redis.url()), &[]).await;
    let mut c = TestClient::new(a.url());
    c.connect().await;
    stream(&mut c, 0, 10).await;
    drain(&mut c, 10).await;
    redis.restart().await; // empty: every session is gone
                           // The next write finds the session gone: its connection is closed (4003), not left
                           // to run on without a store behind it.
    c.send("c10".into());
    assert!(
        c.pump_until(Duration::from_secs(10), |c| !c.is_connected()).await,
        "closed"
    );
    assert_eq!(c.closed, Some(4003));
    c.set_url(b.url());
    let r = c.connect().await;
    assert!(!r.resumed, "refused, not resumed on nothing");
    assert_eq!(r.reason, Some(ResumeReason::Unknown));
    // A new session works at once, on either node.
    let mut fresh = TestClient::new(b.url());
    assert!(!fresh.connect().await.resumed);
    stream(&mut fresh, 0, 10).await;
    drain(&mut fresh, 10).await;
    fresh.cut();
    fresh.set_url(a.url());
    assert!(fresh.connect().await.resumed, "and moves between nodes again");
    stream(&mut fresh, 10, 10).await;
    drain(&mut fresh, 20).await;
    check_streams(&fresh, 20);
}

#[tokio::test]
async fn a_node_cut_off_from_redis_holds_back_and_the_session_moves_on_without_loss() {
    let redis = RedisServer::start().await;
    let proxy = Proxy::start(redis.port).await;
    let island = Node::start(Some(&proxy.url()), &[]).await;
    let mainland = Node::start(Some(&redis.url()), &[]).await;
    let mut c = TestClient::new(island.url());
    c.connect().await;
    stream(&mut c, 0, 20).await;
    drain(&mut c, 20).await;
    proxy.set_open(false);
    // Cut off: the island writes nothing to the client that Redis does not have.
    let before = c.received.len();
    stream(&mut c, 20, 10).await;
    c.pump(Duration::from_millis(300)).await;
    let echoed = c.received[before..].iter().filter(|m| m.starts_with('c')).count();
    assert_eq!(echoed, 0, "no echo while the island cannot write");
    // The client gives up on the island and resumes on the mainland.
    c.cut();
    c.set_url(mainland.url());
    assert!(c.connect().await.resumed);
    stream(&mut c, 30, 10).await;
    drain(&mut c, 40).await;
    // The island comes back: its late writes are fenced, nothing reaches the client twice.
    proxy.set_open(true);
    tokio::time::sleep(Duration::from_millis(500)).await;
    stream(&mut c, 40, 10).await;
    drain(&mut c, 50).await;
    assert!(c.is_connected(), "the mainland keeps the session");
    // And back to the island, which takes the session up from the store, not from its
    // stale copy.
    c.cut();
    c.set_url(island.url());
    assert!(c.connect().await.resumed);
    stream(&mut c, 50, 10).await;
    drain(&mut c, 60).await;
    check_streams(&c, 60);
}

#[tokio::test]
async fn sessions_opened_on_different_nodes_never_share_an_id() {
    let redis = RedisServer::start().await;
    let a = Node::start(Some(&redis.url()), &[]).await;
    let b = Node::start(Some(&redis.url()), &[]).await;
    let mut sids = std::collections::HashSet::new();
    for i in 0..20 {
        let node = if i % 2 == 0 { &a } else { &b };
        let mut ws = raw(node.addr).await;
        let w = hello(&mut ws, None, None, 0).await;
        assert!(sids.insert(w.sid), "a fresh id");
    }
}

/// `clients` clients spread over `nodes`, each streaming `per_client` messages and taking
/// their echoes: the echoes per second over all of them.
async fn load(nodes: &[String], clients: usize, per_client: usize) -> f64 {
    let start = std::time::Instant::now();
    let mut tasks = Vec::new();
    for i in 0..clients {
        let url = nodes[i % nodes.len()].clone();
        tasks.push(tokio::spawn(async move {
            let mut c = TestClient::new(url);
            c.connect().await;
            for k in 0..per_client {
                c.send(format!("c{k}"));
            }
            let done = c
                .pump_until(Duration::from_secs(60), |c| {
                    c.received.iter().filter(|m| m.starts_with('c')).count() >= per_client
                })
                .await;
            assert!(done, "client {i}: every echo within 60 s");
            c.bye().await;
        }));
    }
    for t in tasks {
        t.await.expect("a client task");
    }
    (clients * per_client) as f64 / start.elapsed().as_secs_f64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_figures_on_one_node_and_on_three() {
    // Bounded: 3 runs of 60 clients × 200 messages (36,000 echoes), about 10 s in all.
    let (clients, per) = (60, 200);
    let redis = RedisServer::start().await;
    let alone = Node::start(None, &["--feed-ms", "3600000"]).await;
    let url = redis.url();
    let mut shared = Vec::new();
    for _ in 0..3 {
        shared.push(Node::start(Some(&url), &["--feed-ms", "3600000"]).await);
    }
    let urls: Vec<String> = shared.iter().map(Node::url).collect();
    let one_alone = load(&[alone.url()], clients, per).await;
    let before = commands(&redis).await;
    let one_redis = load(&urls[..1], clients, per).await;
    let scripts = (commands(&redis).await - before) as f64 / (clients * per) as f64;
    let three_redis = load(&urls, clients, per).await;
    println!(
        "load ({clients} clients × {per} echoed messages, debug build, clients and nodes on one 2-core machine): \
         1 node without a store {one_alone:.0} msg/s; 1 node on Redis {one_redis:.0} msg/s \
         ({scripts:.2} Redis commands per message); 3 nodes on Redis {three_redis:.0} msg/s"
    );
    assert!(scripts > 0.0, "the store was written");
}

/// Commands Redis has processed since it started.
async fn commands(redis: &RedisServer) -> u64 {
    let info: String = redis.query(&["INFO", "stats"]).await;
    info.lines()
        .find_map(|l| l.strip_prefix("total_commands_processed:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("total_commands_processed in INFO stats")
}
