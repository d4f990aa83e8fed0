//! The WebSocket port's accept loop, which `/down` and `/up` can switch off and on.
//!
//! "Down" really closes the listening socket, so new connects are refused (ECONNREFUSED)
//! rather than left hanging, and it drops every live connection without a close frame.

use std::future::pending;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::time::{sleep, sleep_until, Instant};

use crate::conns::{Conns, Which};
use crate::stats::Stats;
use crate::ws;

/// Retry delay when re-binding fails (e.g. something else grabbed the port meanwhile).
const REBIND_RETRY: Duration = Duration::from_millis(100);

enum Command {
    /// Close the listener and drop all connections; re-open after the duration (or only
    /// on `Up` if `None`).
    Down {
        for_: Option<Duration>,
        done: oneshot::Sender<()>,
    },
    Up {
        done: oneshot::Sender<()>,
    },
}

/// Handle used by the HTTP control API.
#[derive(Clone)]
pub struct WsControl {
    tx: mpsc::Sender<Command>,
}

impl WsControl {
    /// Returns once the listener is closed and the connections are gone.
    pub async fn down(&self, for_: Option<Duration>) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Command::Down { for_, done }).await.is_ok() {
            let _ = wait.await;
        }
    }

    /// Returns once the listener is bound again (or a re-bind retry is scheduled).
    pub async fn up(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Command::Up { done }).await.is_ok() {
            let _ = wait.await;
        }
    }
}

/// Starts the accept loop on an already bound listener.
pub fn spawn(listener: TcpListener, stats: Arc<Stats>, conns: Arc<Conns>) -> io::Result<WsControl> {
    let addr = listener.local_addr()?;
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(run(listener, addr, rx, stats, conns));
    Ok(WsControl { tx })
}

async fn run(
    listener: TcpListener,
    addr: SocketAddr,
    mut rx: mpsc::Receiver<Command>,
    stats: Arc<Stats>,
    conns: Arc<Conns>,
) {
    let mut listener = Some(listener);
    // While down: when to bind again (`None` = wait for `/up`).
    let mut reopen_at: Option<Instant> = None;
    loop {
        tokio::select! {
            accepted = accept(&listener) => match accepted {
                Ok((stream, _)) => spawn_connection(stream, &stats, &conns),
                Err(e) => {
                    // E.g. EMFILE; back off instead of spinning.
                    eprintln!("ws listener: accept failed: {e}");
                    sleep(Duration::from_millis(50)).await;
                }
            },
            () = wake_at(reopen_at), if listener.is_none() => {
                (listener, reopen_at) = bind(addr).await;
            }
            cmd = rx.recv() => match cmd {
                // The control handle is gone: the server is shutting down.
                None => return,
                Some(Command::Down { for_, done }) => {
                    listener = None; // closes the listening socket
                    reopen_at = for_.map(|d| Instant::now() + d);
                    conns.kill(Which::All).await;
                    let _ = done.send(());
                }
                Some(Command::Up { done }) => {
                    if listener.is_none() {
                        (listener, reopen_at) = bind(addr).await;
                    }
                    let _ = done.send(());
                }
            },
        }
    }
}

async fn accept(listener: &Option<TcpListener>) -> io::Result<(TcpStream, SocketAddr)> {
    match listener {
        Some(l) => l.accept().await,
        None => pending().await,
    }
}

async fn wake_at(at: Option<Instant>) {
    match at {
        Some(at) => sleep_until(at).await,
        None => pending().await,
    }
}

/// Binds again on the same address (tokio sets SO_REUSEADDR, so the TIME_WAIT sockets of
/// the connections we just dropped do not block it). On failure, schedules a retry.
async fn bind(addr: SocketAddr) -> (Option<TcpListener>, Option<Instant>) {
    match TcpListener::bind(addr).await {
        Ok(l) => (Some(l), None),
        Err(e) => {
            eprintln!("ws listener: re-bind {addr} failed: {e}; retrying");
            (None, Some(Instant::now() + REBIND_RETRY))
        }
    }
}

/// Each connection races its work against its kill switch; killing drops the future and
/// with it the socket (abrupt close, no close frame).
fn spawn_connection(stream: TcpStream, stats: &Arc<Stats>, conns: &Arc<Conns>) {
    let (reg, killed) = conns.register();
    let stats = Arc::clone(stats);
    tokio::spawn(async move {
        tokio::select! {
            _ = killed => {}
            () = ws::serve(stream, &reg, &stats) => {}
        }
        // `reg` is dropped last, after the connection (and its open-count guard) is gone.
        drop(reg);
    });
}
