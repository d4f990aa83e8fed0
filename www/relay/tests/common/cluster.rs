//! Helpers for the multi-relay tests: relays as child processes (the `tether-relay` binary)
//! sharing one `redis-server`; the Redis server and the partition proxy are the shared
//! test support (tests/support/redis_server.rs). Every process is killed by pid when its
//! handle drops; every wait is bounded.

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

use super::repo_root;

#[path = "../../../../tests/support/redis_server.rs"]
mod redis_server;
#[allow(unused_imports)] // (not every test of the crate uses them)
pub use redis_server::{Proxy, RedisServer};

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
