//! Test support shared by the server crates' multi-node tests (www/relay/tests and
//! www/server/tests include it with `#[path]`): a `redis-server` of the test's own, and a TCP
//! proxy that can cut a node off from Redis. Every process is killed by pid when its handle
//! drops; every wait is bounded.
#![allow(dead_code)]

use std::net::TcpListener as StdListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Debian's (`apt-get install -y redis-server`; scripts/setup.sh does it).
pub const REDIS_SERVER: &str = "/usr/bin/redis-server";

/// A port nobody listens on right now (the OS picks it).
pub fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A `redis-server` on 127.0.0.1 with nothing persisted; killed (that pid only) on drop.
pub struct RedisServer {
    pub port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// Fails the test, saying why, if redis-server is missing or does not come up.
    pub async fn start() -> RedisServer {
        assert!(
            Path::new(REDIS_SERVER).is_file(),
            "{REDIS_SERVER} is missing: these tests need it (apt-get install -y redis-server, \
             or run scripts/setup.sh)"
        );
        let mut last = String::new();
        for _ in 0..3 {
            let mut server = RedisServer {
                port: free_port(),
                child: None,
            };
            match server.spawn().await {
                Ok(()) => return server,
                Err(e) => last = e, // most likely the port was taken meanwhile: try another
            }
        }
        panic!("redis-server did not start: {last}");
    }

    async fn spawn(&mut self) -> Result<(), String> {
        let port = self.port.to_string();
        let child = Command::new(REDIS_SERVER)
            .args([
                "--bind",
                "127.0.0.1",
                "--port",
                &port,
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args(["--loglevel", "warning"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run {REDIS_SERVER}: {e}"))?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                self.child = None;
                return Err(format!("redis-server on port {port} exited: {status}"));
            }
            if ping(self.port).await {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.kill();
        Err(format!(
            "redis-server on port {port} did not answer PING within 5 s"
        ))
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// SIGKILL: everything in it is lost, as in a crash.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// A fresh, empty server on the same port.
    pub async fn restart(&mut self) {
        self.kill();
        if let Err(e) = self.spawn().await {
            panic!("redis-server did not restart: {e}");
        }
    }

    /// Runs one command with the redis crate (for checks the relays do not expose).
    pub async fn query<T: redis::FromRedisValue>(&self, args: &[&str]) -> T {
        let client = redis::Client::open(self.url()).expect("url");
        let mut conn =
            tokio::time::timeout(Duration::from_secs(3), client.get_multiplexed_async_connection())
                .await
                .expect("connect to Redis in time")
                .expect("connect to Redis");
        let mut cmd = redis::cmd(args[0]);
        for a in &args[1..] {
            cmd.arg(*a);
        }
        tokio::time::timeout(Duration::from_secs(3), cmd.query_async(&mut conn))
            .await
            .expect("answer in time")
            .expect("command")
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `PING` → `+PONG` within 500 ms.
async fn ping(port: u16) -> bool {
    let attempt = async {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
        s.write_all(b"PING\r\n").await.ok()?;
        let mut buf = [0u8; 7];
        s.read_exact(&mut buf).await.ok()?;
        Some(&buf == b"+PONG\r\n")
    };
    matches!(
        tokio::time::timeout(Duration::from_millis(500), attempt).await,
        Ok(Some(true))
    )
}

/// A TCP proxy to `upstream` that can be cut (every connection reset, new ones refused)
/// and restored: a network partition between one relay and Redis.
pub struct Proxy {
    pub port: u16,
    open: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    pub async fn start(upstream: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        let (open, is_open) = watch::channel(true);
        let task = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !*is_open.borrow() {
                    continue; // dropped: refused
                }
                let mut is_open = is_open.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = is_open.wait_for(|&open| !open) => {}
                    }
                });
            }
        });
        Proxy { port, open, task }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    pub fn set_open(&self, open: bool) {
        let _ = self.open.send(open);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}
