//! A node on a shared store ([`crate::store`]): what it has written of each session, what
//! waits for a write to land, and the task that talks to the store.
//!
//! One task per server does every store call, in order: batches of writes (everything that
//! changed since the last one), claims (a resume, after the writes before it) and refreshes.
//! Frames for clients and events the store must know of first wait in [`Shared::held`], in
//! the engine's order, until the write that covers them has landed.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Weak};
use std::time::Duration;

use tether_ws::core::continuity::Transmit;
use tokio::sync::{mpsc, oneshot, Notify};

use crate::message::{Message, ServerEvent, Sid};
use crate::server::Inner;
use crate::store::{Claim, StoreError};

/// Frames and events waiting for writes, at most: past it the node reads no more frames from
/// its clients until writes land (their windows fill, and they wait).
pub(crate) const HELD_CAPACITY: usize = 65_536;

/// How long a resume waits for its claim before the connection is closed with 1013.
pub(crate) const CLAIM_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the task waits after a failed write before it tries the same batch again.
const RETRY_AFTER: Duration = Duration::from_millis(200);

/// What the node knows of a session in the store.
#[derive(Debug)]
pub(crate) struct Shadow {
    /// The generation the node holds it under.
    pub(crate) gen: u64,
    /// Whether a write created it (or it was claimed): later writes are updates.
    pub(crate) created: bool,
    /// The client's messages the application has handled (asked for the next event after).
    pub(crate) rx_done: u64,
    /// The `rx` the store has (landed).
    pub(crate) rx_written: u64,
    /// The application's messages the store has or is being sent.
    pub(crate) sent_written: u64,
    /// Of those, the ones it has (landed).
    pub(crate) sent_landed: u64,
}

impl Shadow {
    pub(crate) fn new(gen: u64, created: bool, rx: u64, sent: u64) -> Shadow {
        Shadow {
            gen,
            created,
            rx_done: rx,
            rx_written: rx,
            sent_written: sent,
            sent_landed: sent,
        }
    }
}

/// Something that waits for a write.
pub(crate) enum HeldItem {
    Transmit(Transmit<Message>),
    Event(ServerEvent),
}

pub(crate) struct Held {
    pub(crate) item: HeldItem,
    /// The batch that must have landed.
    pub(crate) batch: u64,
    /// The session it states something of, and the `rx` the store must have first.
    pub(crate) sid: Option<Sid>,
    pub(crate) rx: u64,
}

/// The node's side of the shared store, inside the server's state (under its lock).
pub(crate) struct Shared {
    pub(crate) shadows: HashMap<Sid, Shadow>,
    pub(crate) held: VecDeque<Held>,
    /// The number the next batch will have.
    pub(crate) next_batch: u64,
    /// Every batch below this has landed.
    pub(crate) landed: u64,
    /// Client messages handed to the application: (event number, session, its rx).
    pub(crate) delivered: VecDeque<(u64, Sid, u64)>,
    /// Events handed to the application so far.
    pub(crate) pushed: u64,
    /// Sessions whose `rx_done` moved since the last batch.
    pub(crate) rx_moved: BTreeSet<Sid>,
    /// Wakes the store task.
    pub(crate) wake: Arc<Notify>,
}

impl Shared {
    pub(crate) fn new(wake: Arc<Notify>) -> Shared {
        Shared {
            shadows: HashMap::new(),
            held: VecDeque::new(),
            next_batch: 0,
            landed: 0,
            delivered: VecDeque::new(),
            pushed: 0,
            rx_moved: BTreeSet::new(),
            wake,
        }
    }

    /// Holds `item` until the next batch has landed and the store has `rx` for `sid`.
    pub(crate) fn hold(&mut self, item: HeldItem, sid: Option<Sid>, rx: u64) {
        let batch = self.next_batch;
        self.held.push_back(Held { item, batch, sid, rx });
        self.wake.notify_one();
    }

    /// The first held item, if it may go now.
    pub(crate) fn pop_ready(&mut self) -> Option<HeldItem> {
        let h = self.held.front()?;
        if h.batch >= self.landed {
            return None;
        }
        let rx_ok = h
            .sid
            .as_ref()
            .is_none_or(|sid| self.shadows.get(sid).is_none_or(|s| s.rx_written >= h.rx));
        if !rx_ok {
            return None;
        }
        self.held.pop_front().map(|h| h.item)
    }

    /// Forgets what waits for session `sid` (it moved or was lost: none of it may reach its
    /// client now).
    pub(crate) fn purge(&mut self, sid: &str) {
        self.held.retain(|h| h.sid.as_deref() != Some(sid));
        self.delivered.retain(|(_, s, _)| &**s != sid);
        self.rx_moved.remove(sid);
        self.shadows.remove(sid);
    }

    /// Whether the task has anything to write or release.
    pub(crate) fn pending(&self) -> bool {
        !self.held.is_empty() || !self.rx_moved.is_empty() || !self.delivered.is_empty()
    }
}

/// A resume's claim, for the store task: the session, the token, and the answer (`Err`: the
/// store could not be asked).
pub(crate) struct ClaimJob {
    pub(crate) sid: Sid,
    pub(crate) tok: String,
    pub(crate) done: oneshot::Sender<Result<(), StoreError>>,
}

/// The store task: writes what changed, answers claims after the writes before them,
/// applies what other nodes took, refreshes the sessions attached here. Ends when the
/// server is dropped.
pub(crate) async fn run(
    inner: Weak<Inner>,
    wake: Arc<Notify>,
    mut claims: mpsc::Receiver<ClaimJob>,
    mut taken: Option<mpsc::Receiver<(Sid, u64)>>,
    refresh_every: Duration,
) {
    let mut refresh = tokio::time::interval(refresh_every);
    refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let taken_next = async {
            match taken.as_mut() {
                Some(rx) => rx.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = wake.notified() => {
                let Some(inner) = inner.upgrade() else { return };
                write_all(&inner).await;
            }
            job = claims.recv() => {
                let Some(job) = job else { return };
                let Some(inner) = inner.upgrade() else { return };
                write_all(&inner).await;
                let Some(store) = inner.shared_store() else { return };
                let claimed = store.claim(&job.sid, &job.tok).await;
                let answer = claimed.map(|c: Claim| inner.apply_claim(&job.sid, &job.tok, c));
                let _ = job.done.send(answer);
                write_all(&inner).await;
            }
            t = taken_next => {
                let Some(inner) = inner.upgrade() else { return };
                match t {
                    Some((sid, gen)) => inner.apply_taken(&sid, gen),
                    None => taken = None,
                }
                write_all(&inner).await;
            }
            _ = refresh.tick() => {
                let Some(inner) = inner.upgrade() else { return };
                let (sids, expire_ms) = inner.attached_sessions();
                let Some(store) = inner.shared_store() else { return };
                // A failure is not retried: the next tick refreshes again, well within the TTL.
                let _ = store.refresh(&sids, expire_ms).await;
            }
        }
    }
}

/// Writes batches until nothing waits: each batch is retried until it lands (or the server
/// shuts down), then what it covered is released.
async fn write_all(inner: &Arc<Inner>) {
    let Some(store) = inner.shared_store() else { return };
    for _ in 0..64 {
        let Some((batch, writes)) = inner.build_batch() else {
            return;
        };
        let outcomes = loop {
            if writes.is_empty() {
                break Vec::new();
            }
            match store.write(&writes).await {
                Ok(o) if o.len() == writes.len() => break o,
                // A server shutting down tries once: its sessions outlive it in the store
                // (attached ones until their refresh runs out), and resume elsewhere.
                _ if inner.is_down() => return,
                Ok(_) | Err(_) => tokio::time::sleep(RETRY_AFTER).await,
            }
        };
        inner.apply_batch(batch, &writes, &outcomes);
    }
    // Still more (a busy node): the next wake-up goes on.
    if let Some(w) = inner.shared_wake() {
        w.notify_one();
    }
}
