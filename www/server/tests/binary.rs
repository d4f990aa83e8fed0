//! The `tether-server` program: prints `listening on ADDR`, echoes, feeds numbered
//! messages to every live session (contiguous across a cut), exits on SIGTERM.
#![cfg(unix)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// The program, killed if the test ends early.
struct Program(Child);

impl Drop for Program {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn echo_feed_and_sigterm() {
    let mut program = Program(
        Command::new(env!("CARGO_BIN_EXE_tether-server"))
            .args(["--listen", "127.0.0.1:0", "--feed-ms", "20", "--ttl-ms", "5000"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn"),
    );
    let child = &mut program.0;
    let stdout = child.stdout.take().expect("stdout");
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    });
    let line = tokio::time::timeout(WAIT, line)
        .await
        .expect("ready in time")
        .expect("join")
        .expect("read");
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    let mut c = TestClient::new(format!("ws://{addr}/"));
    assert!(!c.connect().await.resumed);
    c.send("echo me".into());
    c.flush().await;
    assert!(
        c.pump_until(WAIT, |c| c.received.iter().any(|m| m == "echo me"))
            .await
    );
    assert!(c.pump_until(WAIT, |c| c.received.len() >= 6).await);
    c.cut();
    tokio::time::sleep(Duration::from_millis(100)).await; // the feed goes on meanwhile
    assert!(c.connect().await.resumed);
    let before = c.received.len();
    assert!(c.pump_until(WAIT, |c| c.received.len() >= before + 8).await);
    // A feed message's number is its place in the session's stream (the echo counts).
    let feed: Vec<(u64, u64)> = c
        .received
        .iter()
        .enumerate()
        .filter_map(|(i, m)| {
            Some((
                m.strip_prefix(r#"{"n":"#)?.strip_suffix('}')?.parse().ok()?,
                i as u64 + 1,
            ))
        })
        .collect();
    assert!(feed.len() >= 10, "the feed ran: {feed:?}");
    let wrong: Vec<_> = feed.iter().filter(|(n, place)| n != place).collect();
    assert!(wrong.is_empty(), "the feed, contiguous across the cut: {wrong:?}");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let started = Instant::now();
    let code = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(started.elapsed() < WAIT, "still running after SIGTERM");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(code.success(), "{code:?}");
    c.pump(Duration::from_millis(200)).await;
    assert_eq!(c.closed, Some(1001));
}
