//! Helpers for the multi-relay tests: a `redis-server` of the test's own, relays as child
//! processes (the `tether-relay` binary) sharing it, and a TCP proxy that can cut a relay
//! off from Redis. Every process is killed by pid when its handle drops; every wait is
//! bounded.

use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::repo_root;

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

/// A `tether-relay` process on a free port, with the Redis broker; killed on drop.
pub struct RelayProcess {
    pub addr: SocketAddr,
    child: Option<tokio::process::Child>,
}

impl RelayProcess {
    /// Starts the binary with `--broker redis_url --broker-ttl-ms ttl_ms` and waits (at
    /// most 10 s) for its ready line. Its stderr is forwarded to the test's output.
    pub async fn start(redis_url: &str, ttl_ms: u64) -> RelayProcess {
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_tether-relay"))
            .arg("--addr=127.0.0.1:0")
            .arg("--root")
            .arg(repo_root())
            .args(["--broker", redis_url, "--broker-ttl-ms", &ttl_ms.to_string()])
            .env_remove("TETHER_BROKER")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("run tether-relay");
        let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
            panic!("piped stdout and stderr")
        };
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                eprintln!("[relay] {line}");
            }
        });
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(Duration::from_secs(10), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(addr) = line.strip_prefix("open http://") {
                    return addr.trim_end_matches('/').parse::<SocketAddr>().ok();
                }
            }
            None
        })
        .await;
        let Ok(Some(addr)) = ready else {
            panic!("tether-relay printed no ready line within 10 s (see its stderr above)")
        };
        // Keep reading, so that the relay never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        RelayProcess {
            addr,
            child: Some(child),
        }
    }

    /// SIGKILL: the relay says nothing to anyone.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// SIGTERM, as Ctrl-C would, and waits (at most 5 s) for it to exit.
    pub async fn terminate(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Some(pid) = child.id() {
            let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status();
        }
        if tokio::time::timeout(Duration::from_secs(5), child.wait())
            .await
            .is_err()
        {
            let _ = child.kill().await;
            panic!("tether-relay did not exit within 5 s of SIGTERM");
        }
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
    }
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
