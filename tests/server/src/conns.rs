//! Registry of live connections on the WebSocket port, so `/drop-all` and `/down` can cut
//! them abruptly (TCP closed, no close frame).
//!
//! Each connection task races its work against a kill switch; killing it drops the task's
//! future, which drops the socket. Entries leave the registry only when the task has really
//! finished, so a killer can wait until the sockets are closed and the stats are updated.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::{sleep, Instant};

#[derive(Debug, Default)]
pub struct Conns {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    next_id: u64,
    live: HashMap<u64, Entry>,
}

#[derive(Debug)]
struct Entry {
    /// Set once the WebSocket handshake has been accepted; `None` while still handshaking.
    key: Option<String>,
    /// Taken when the connection is killed.
    kill: Option<oneshot::Sender<()>>,
}

/// Which connections to kill.
#[derive(Debug, Clone, Copy)]
pub enum Which<'a> {
    /// Everything on the port, including connections still in their handshake.
    All,
    /// Open WebSocket connections of one key.
    Key(&'a str),
}

impl Conns {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a new connection. The task must hold the returned [`Registration`] for its
    /// whole life and stop as soon as the receiver fires.
    pub fn register(self: &Arc<Self>) -> (Registration, oneshot::Receiver<()>) {
        let (tx, rx) = oneshot::channel();
        let mut inner = self.lock();
        inner.next_id += 1;
        let id = inner.next_id;
        inner.live.insert(
            id,
            Entry {
                key: None,
                kill: Some(tx),
            },
        );
        let reg = Registration {
            conns: Arc::clone(self),
            id,
        };
        (reg, rx)
    }

    /// Kills the selected connections and waits (bounded) until their tasks have ended.
    /// Returns how many open WebSocket connections were killed.
    pub async fn kill(&self, which: Which<'_>) -> usize {
        let mut killed = Vec::new();
        let mut open = 0;
        {
            let mut inner = self.lock();
            for (id, entry) in inner.live.iter_mut() {
                let selected = match which {
                    Which::All => true,
                    Which::Key(k) => entry.key.as_deref() == Some(k),
                };
                if !selected {
                    continue;
                }
                if let Some(kill) = entry.kill.take() {
                    // The receiver may already be gone if the task is finishing; fine.
                    let _ = kill.send(());
                    killed.push(*id);
                    open += usize::from(entry.key.is_some());
                }
            }
        }
        // Wait so that callers (and the HTTP response) only return once the sockets are
        // closed and `open` is updated. Bounded: a wedged task must not hang the control API.
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if !killed.iter().any(|id| self.lock().live.contains_key(id)) {
                break;
            }
            sleep(Duration::from_millis(2)).await;
        }
        open
    }
}

/// Held by a connection task; removes the entry when the task ends (or is dropped).
#[derive(Debug)]
pub struct Registration {
    conns: Arc<Conns>,
    id: u64,
}

impl Registration {
    /// Marks the connection as an open WebSocket of `key` (after the handshake).
    pub fn set_key(&self, key: &str) {
        if let Some(entry) = self.conns.lock().live.get_mut(&self.id) {
            entry.key = Some(key.to_owned());
        }
    }

    pub fn id(&self) -> u64 {
        self.id
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.conns.lock().live.remove(&self.id);
    }
}
