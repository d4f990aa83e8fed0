//! The test server as a child process on free loopback ports, for the integration tests.
//! Every wait is bounded.
// Each test file uses a different part of this module.
#![allow(dead_code)]

use std::future::Future;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::{connect_async, MaybeTlsStream, WebSocketStream};

pub type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub const STEP: Duration = Duration::from_secs(5);

/// Fails the test instead of hanging if `fut` takes longer than [`STEP`].
pub async fn within<T>(what: &str, fut: impl Future<Output = T>) -> T {
    match timeout(STEP, fut).await {
        Ok(v) => v,
        Err(_) => panic!("timed out: {what}"),
    }
}

/// A server process on free ports, killed when dropped.
pub struct Server {
    pub child: Child,
    pub http: SocketAddr,
    pub ws: SocketAddr,
    pub blackhole: SocketAddr,
    pub root: PathBuf,
}

impl Server {
    pub fn start() -> Server {
        Server::start_with(&["--max-lifetime-secs", "120"])
    }

    pub fn start_with(extra: &[&str]) -> Server {
        let root = std::env::temp_dir().join(format!(
            "tether-test-server-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(root.join("pages")).expect("temp root");
        std::fs::write(root.join("pages/index.html"), "<!doctype html><p>hi").expect("write");
        std::fs::write(root.join("mod.wasm"), b"\0asm\x01\0\0\0").expect("write");

        let mut child = Command::new(env!("CARGO_BIN_EXE_tether-test-server"))
            .args(["--http", "127.0.0.1:0", "--ws", "127.0.0.1:0"])
            .args(["--blackhole", "127.0.0.1:0"])
            .args(extra)
            .arg("--root")
            .arg(&root)
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn server");

        // Read the ready line on a thread so the wait can be bounded.
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(10)).unwrap_or_default();
        let addr = |name: &str| -> SocketAddr {
            let prefix = format!("{name}=");
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(&prefix))
                .and_then(|a| a.parse().ok())
                .unwrap_or_else(|| panic!("no {name} in ready line {line:?}"))
        };
        assert!(line.starts_with("ready "), "ready line: {line:?}");
        let (http, ws, blackhole) = (addr("http"), addr("ws"), addr("blackhole"));
        Server {
            child,
            http,
            ws,
            blackhole,
            root,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.ws)
    }

    pub async fn connect(&self, path: &str) -> Client {
        let (ws, _) = within("connect", connect_async(self.url(path)))
            .await
            .unwrap_or_else(|e| panic!("connect {path}: {e}"));
        ws
    }

    /// Minimal HTTP/1.1 GET: (status, lowercased head, body).
    pub async fn get(&self, path: &str) -> (u16, String, String) {
        within("http get", async {
            let mut s = TcpStream::connect(self.http).await.expect("http connect");
            let req = format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
            s.write_all(req.as_bytes()).await.expect("http write");
            let mut raw = Vec::new();
            s.read_to_end(&mut raw).await.expect("http read");
            let raw = String::from_utf8_lossy(&raw).into_owned();
            let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
            let status = head
                .split_whitespace()
                .nth(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            (status, head.to_ascii_lowercase(), body.to_owned())
        })
        .await
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}
