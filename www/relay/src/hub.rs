//! The shared state: who is connected, where their cursor is, and one conflating outbox
//! per client.
//!
//! Broadcasting never waits for a client. Each client has an [`Outbox`] keyed by the id of
//! the client a message is about: a newer cursor position of client 7 replaces the one of
//! client 7 still waiting in a slow reader's outbox, so a slow reader gets fewer, newer
//! updates and its memory stays bounded by the number of clients, not by the message rate.
//! An outbox that still overflows [`OUTBOX_LIMIT`] (only possible with a huge churn of
//! clients) marks its client as too slow; that client is disconnected (close code 1013)
//! and, like every tether-ws page, reconnects and receives a fresh snapshot.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::identity::Identity;

/// Most distinct entries (clients) one outbox holds before its client counts as too slow.
pub const OUTBOX_LIMIT: usize = 4096;

/// Messages the relay sends.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Outgoing<'a> {
    Welcome {
        id: u64,
        name: &'a str,
        color: &'a str,
    },
    Cursor {
        id: u64,
        name: &'a str,
        color: &'a str,
        x: f64,
        y: f64,
    },
    Leave {
        id: u64,
    },
}

impl Outgoing<'_> {
    fn encode(&self) -> Utf8Bytes {
        // Serializing these plain structs cannot fail; fall back to an empty object anyway
        // rather than panic.
        Utf8Bytes::from(serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned()))
    }
}

/// What the writer task of a client finds in its outbox.
pub enum Batch {
    Messages(Vec<Utf8Bytes>),
    TooSlow,
}

#[derive(Default)]
struct OutboxState {
    /// Keys in first-queued order.
    order: VecDeque<u64>,
    entries: HashMap<u64, Utf8Bytes>,
    overflowed: bool,
}

/// A client's pending messages, at most one per key (the id the message is about).
#[derive(Default)]
pub struct Outbox {
    state: Mutex<OutboxState>,
    notify: Notify,
    replaced: AtomicU64,
}

impl Outbox {
    fn lock(&self) -> MutexGuard<'_, OutboxState> {
        // A panic while holding this lock cannot leave the queue inconsistent in a way
        // that matters (worst case a stale entry), so recover from poisoning.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `msg` under `key`, replacing a message with the same key still waiting.
    fn push(&self, key: u64, msg: Utf8Bytes) {
        let mut st = self.lock();
        if let Some(slot) = st.entries.get_mut(&key) {
            *slot = msg;
            self.replaced.fetch_add(1, Ordering::Relaxed);
        } else if st.entries.len() >= OUTBOX_LIMIT {
            st.overflowed = true;
        } else {
            st.entries.insert(key, msg);
            st.order.push_back(key);
        }
        drop(st);
        self.notify.notify_one();
    }

    /// Waits until something is queued, then takes all of it.
    pub async fn next_batch(&self) -> Batch {
        loop {
            {
                let mut st = self.lock();
                if st.overflowed {
                    return Batch::TooSlow;
                }
                if !st.order.is_empty() {
                    let OutboxState { order, entries, .. } = &mut *st;
                    let batch = order.drain(..).filter_map(|k| entries.remove(&k)).collect();
                    return Batch::Messages(batch);
                }
            }
            // notify_one stores a permit when nobody waits, so a push between the check
            // above and this await is not lost.
            self.notify.notified().await;
        }
    }

    /// Messages replaced by newer ones before this client could read them.
    pub fn replaced(&self) -> u64 {
        self.replaced.load(Ordering::Relaxed)
    }
}

struct Peer {
    identity: Identity,
    pos: Option<(f64, f64)>,
    outbox: Arc<Outbox>,
}

/// Every connected client.
#[derive(Default)]
pub struct Hub {
    peers: Mutex<HashMap<u64, Peer>>,
    next_id: AtomicU64,
    closing: AtomicBool,
}

/// A connected client's handle: leaves the hub when dropped.
pub struct Membership {
    hub: Arc<Hub>,
    pub id: u64,
    pub outbox: Arc<Outbox>,
}

impl Drop for Membership {
    fn drop(&mut self) {
        self.hub.leave(self.id);
    }
}

impl Hub {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Peer>> {
        self.peers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Number of connected clients.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds a client. Its outbox starts with the welcome and every known cursor.
    /// `hint` is the identity the client had before a reconnect, if it sent a valid one.
    pub fn join(self: &Arc<Self>, hint: Option<Identity>) -> Membership {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let identity = hint.unwrap_or_else(|| Identity::for_id(id));
        let outbox = Arc::new(Outbox::default());
        let mut peers = self.lock();
        outbox.push(
            id,
            Outgoing::Welcome {
                id,
                name: &identity.name,
                color: &identity.color,
            }
            .encode(),
        );
        for (&other, p) in peers.iter() {
            if let Some((x, y)) = p.pos {
                let msg = Outgoing::Cursor {
                    id: other,
                    name: &p.identity.name,
                    color: &p.identity.color,
                    x,
                    y,
                };
                outbox.push(other, msg.encode());
            }
        }
        peers.insert(
            id,
            Peer {
                identity,
                pos: None,
                outbox: Arc::clone(&outbox),
            },
        );
        drop(peers);
        Membership {
            hub: Arc::clone(self),
            id,
            outbox,
        }
    }

    /// Records a cursor position (fractions of the viewport, clamped to 0..1) and sends
    /// it to everyone else.
    pub fn moved(&self, id: u64, x: f64, y: f64) {
        let (x, y) = (x.clamp(0.0, 1.0), y.clamp(0.0, 1.0));
        let mut peers = self.lock();
        let Some(me) = peers.get_mut(&id) else { return };
        me.pos = Some((x, y));
        let msg = Outgoing::Cursor {
            id,
            name: &me.identity.name,
            color: &me.identity.color,
            x,
            y,
        }
        .encode();
        for (&other, p) in peers.iter() {
            if other != id {
                p.outbox.push(id, msg.clone());
            }
        }
    }

    /// The relay is shutting down: clients that go away now are not announced as leaving
    /// (everyone is being disconnected; a page keeps showing the cursors, greyed out, until
    /// it reconnects and gets a fresh snapshot).
    pub fn close(&self) {
        self.closing.store(true, Ordering::SeqCst);
    }

    fn leave(&self, id: u64) {
        let mut peers = self.lock();
        if peers.remove(&id).is_none() || self.closing.load(Ordering::SeqCst) {
            return;
        }
        let msg = Outgoing::Leave { id }.encode();
        for p in peers.values() {
            p.outbox.push(id, msg.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(b: Batch) -> Vec<String> {
        match b {
            Batch::Messages(m) => m.iter().map(|t| t.as_str().to_owned()).collect(),
            Batch::TooSlow => vec!["too slow".into()],
        }
    }

    #[tokio::test]
    async fn outbox_conflates_per_key_and_keeps_order() {
        let o = Outbox::default();
        o.push(1, "a1".into());
        o.push(2, "b1".into());
        o.push(1, "a2".into());
        assert_eq!(texts(o.next_batch().await), ["a2", "b1"]);
        assert_eq!(o.replaced(), 1);
    }

    #[tokio::test]
    async fn outbox_overflow_marks_too_slow() {
        let o = Outbox::default();
        for k in 0..=OUTBOX_LIMIT as u64 {
            o.push(k, "x".into());
        }
        assert!(matches!(o.next_batch().await, Batch::TooSlow));
    }

    #[tokio::test]
    async fn a_leave_replaces_the_pending_cursor_of_that_client() {
        // Why the load test keeps every client connected until all are done.
        let hub = Hub::new();
        let a = hub.join(None);
        let b = hub.join(None);
        texts(a.outbox.next_batch().await); // a's welcome
        hub.moved(b.id, 1.0, 0.5);
        drop(b);
        let got = texts(a.outbox.next_batch().await);
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].contains(r#""type":"leave""#), "{got:?}");
    }

    #[tokio::test]
    async fn join_move_leave() {
        let hub = Hub::new();
        let a = hub.join(None);
        hub.moved(a.id, 0.25, 2.0);
        let b = hub.join(None);
        let got = texts(b.outbox.next_batch().await);
        assert!(got[0].contains(r#""type":"welcome""#), "{got:?}");
        assert!(got[1].contains(r#""x":0.25,"y":1.0"#), "{got:?}");
        texts(a.outbox.next_batch().await); // a's welcome
        drop(b);
        assert!(texts(a.outbox.next_batch().await)[0].contains(r#""type":"leave""#));
        assert_eq!(hub.len(), 1);
    }
}
