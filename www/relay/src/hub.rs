//! The room as this relay sees it: who is connected here, where their cursor is, one
//! conflating outbox per client, and the cursors of the other relays' clients (which the
//! broker, [`crate::broker`], keeps up to date; none with the in-process broker).
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

use crate::broker::{Broker, InProcess};
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

/// A cursor as the relays share it: whose it is (the relay `node` its client is on), the
/// client's name and colour, and the position.
#[derive(Clone, Debug, PartialEq)]
pub struct Cursor {
    pub node: u64,
    pub identity: Identity,
    pub x: f64,
    pub y: f64,
}

impl Cursor {
    fn encode(&self, id: u64) -> Utf8Bytes {
        Outgoing::Cursor {
            id,
            name: &self.identity.name,
            color: &self.identity.color,
            x: self.x,
            y: self.y,
        }
        .encode()
    }
}

struct Peer {
    identity: Identity,
    pos: Option<(f64, f64)>,
    outbox: Arc<Outbox>,
}

#[derive(Default)]
struct Room {
    /// This relay's clients.
    peers: HashMap<u64, Peer>,
    /// The other relays' clients that have a cursor, as the broker reported them (always
    /// empty with the in-process broker). At most [`OUTBOX_LIMIT`]: more could not reach a
    /// client anyway.
    remote: HashMap<u64, Cursor>,
}

impl Room {
    /// Queues `msg` (about client `key`) for every local client but `except`.
    fn tell(&self, key: u64, msg: &Utf8Bytes, except: Option<u64>) {
        for (&id, p) in &self.peers {
            if Some(id) != except {
                p.outbox.push(key, msg.clone());
            }
        }
    }

    fn remote_moved(&mut self, id: u64, cursor: Cursor) {
        if self.peers.contains_key(&id) || self.remote.get(&id) == Some(&cursor) {
            return;
        }
        if !self.remote.contains_key(&id) && self.remote.len() >= OUTBOX_LIMIT {
            return;
        }
        self.tell(id, &cursor.encode(id), None);
        self.remote.insert(id, cursor);
    }

    fn remote_left(&mut self, id: u64) {
        if self.remote.remove(&id).is_some() {
            self.tell(id, &Outgoing::Leave { id }.encode(), None);
        }
    }
}

/// Every connected client of this relay, and the other relays' cursors.
pub struct Hub {
    room: Mutex<Room>,
    next_id: AtomicU64,
    closing: AtomicBool,
    broker: Arc<dyn Broker>,
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
    /// A hub alone in its process (the in-process broker).
    pub fn new() -> Arc<Self> {
        Self::with_broker(Arc::new(InProcess))
    }

    /// A hub whose local moves and leaves are told to `broker`.
    pub fn with_broker(broker: Arc<dyn Broker>) -> Arc<Self> {
        Arc::new(Hub {
            room: Mutex::default(),
            next_id: AtomicU64::new(0),
            closing: AtomicBool::new(false),
            broker,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Room> {
        self.room.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Number of connected clients (of this relay).
    pub fn len(&self) -> usize {
        self.lock().peers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds a client. Its outbox starts with the welcome and every known cursor (this
    /// relay's and the others').
    /// `hint` is the identity the client had before a reconnect, if it sent a valid one.
    pub fn join(self: &Arc<Self>, hint: Option<Identity>) -> Membership {
        // The relay's node number in the high bits keeps ids unique across relays (node 0
        // for the in-process broker: ids 1, 2, 3...).
        let n = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let id = (self.broker.node() << 32) | (n & 0xffff_ffff);
        let identity = hint.unwrap_or_else(|| Identity::for_id(id));
        let outbox = Arc::new(Outbox::default());
        let mut room = self.lock();
        outbox.push(
            id,
            Outgoing::Welcome {
                id,
                name: &identity.name,
                color: &identity.color,
            }
            .encode(),
        );
        for (&other, p) in &room.peers {
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
        for (&other, c) in &room.remote {
            outbox.push(other, c.encode(other));
        }
        room.peers.insert(
            id,
            Peer {
                identity,
                pos: None,
                outbox: Arc::clone(&outbox),
            },
        );
        drop(room);
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
        let mut room = self.lock();
        let Some(me) = room.peers.get_mut(&id) else { return };
        me.pos = Some((x, y));
        let msg = Outgoing::Cursor {
            id,
            name: &me.identity.name,
            color: &me.identity.color,
            x,
            y,
        }
        .encode();
        room.tell(id, &msg, Some(id));
        drop(room);
        self.broker.changed(id);
    }

    /// The relay is shutting down: clients that go away now are not announced as leaving
    /// (everyone is being disconnected; a page keeps showing the cursors, greyed out, until
    /// it reconnects and gets a fresh snapshot).
    pub fn close(&self) {
        self.closing.store(true, Ordering::SeqCst);
    }

    fn leave(&self, id: u64) {
        let mut room = self.lock();
        if room.peers.remove(&id).is_none() || self.closing.load(Ordering::SeqCst) {
            return;
        }
        room.tell(id, &Outgoing::Leave { id }.encode(), None);
        drop(room);
        self.broker.changed(id);
    }

    /// For the broker: a local client's cursor, if it has one (`None` once it left).
    pub fn local_cursor(&self, id: u64) -> Option<Cursor> {
        let room = self.lock();
        let p = room.peers.get(&id)?;
        let (x, y) = p.pos?;
        Some(Cursor {
            node: self.broker.node(),
            identity: p.identity.clone(),
            x,
            y,
        })
    }

    /// For the broker: every local client's cursor.
    pub fn local_cursors(&self) -> HashMap<u64, Cursor> {
        let node = self.broker.node();
        let room = self.lock();
        let mut all = HashMap::with_capacity(room.peers.len());
        for (&id, p) in &room.peers {
            if let Some((x, y)) = p.pos {
                let identity = p.identity.clone();
                all.insert(id, Cursor { node, identity, x, y });
            }
        }
        all
    }

    /// From the broker: another relay's client moved.
    pub fn remote_moved(&self, id: u64, cursor: Cursor) {
        self.lock().remote_moved(id, cursor);
    }

    /// From the broker: another relay's client left.
    pub fn remote_left(&self, id: u64) {
        self.lock().remote_left(id);
    }

    /// From the broker: relay `node` is gone, and its clients with it.
    pub fn node_gone(&self, node: u64) {
        let mut room = self.lock();
        let gone: Vec<u64> = room
            .remote
            .iter()
            .filter(|(_, c)| c.node == node)
            .map(|(&id, _)| id)
            .collect();
        for id in gone {
            room.remote_left(id);
        }
    }

    /// From the broker: the other relays' cursors are exactly `cursors`. Local clients are
    /// told what differs (a `leave` for each cursor gone, a `cursor` for each new or moved).
    pub fn sync_remote(&self, mut cursors: HashMap<u64, Cursor>) {
        let mut room = self.lock();
        let gone: Vec<u64> = room
            .remote
            .keys()
            .filter(|id| !cursors.contains_key(id))
            .copied()
            .collect();
        for id in gone {
            room.remote_left(id);
        }
        for (id, cursor) in cursors.drain() {
            room.remote_moved(id, cursor);
        }
    }

    /// Number of other relays' cursors known.
    pub fn remote_len(&self) -> usize {
        self.lock().remote.len()
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

    fn remote(node: u64, x: f64) -> Cursor {
        Cursor {
            node,
            identity: Identity::for_id(9),
            x,
            y: 0.5,
        }
    }

    #[tokio::test]
    async fn remote_cursors_reach_local_clients_and_snapshots() {
        let hub = Hub::new();
        let a = hub.join(None);
        texts(a.outbox.next_batch().await); // welcome
        let far = (5 << 32) | 1;
        hub.remote_moved(far, remote(5, 0.25));
        hub.remote_moved(far, remote(5, 0.25)); // unchanged: not sent again
        let got = texts(a.outbox.next_batch().await);
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].contains(r#""x":0.25"#), "{got:?}");
        let b = hub.join(None);
        let got = texts(b.outbox.next_batch().await);
        assert!(
            got[1].contains(&format!(r#""id":{far}"#)),
            "the snapshot has it: {got:?}"
        );
        hub.remote_left(far);
        assert!(texts(a.outbox.next_batch().await)[0].contains(r#""type":"leave""#));
        assert_eq!(hub.remote_len(), 0);
        // A local id is never taken for a remote one.
        hub.remote_moved(a.id, remote(5, 0.5));
        assert_eq!(hub.remote_len(), 0);
    }

    #[tokio::test]
    async fn sync_remote_sends_only_the_differences_and_node_gone_clears_a_node() {
        let hub = Hub::new();
        let a = hub.join(None);
        texts(a.outbox.next_batch().await);
        let (p, q, r) = ((5 << 32) | 1, (5 << 32) | 2, (6 << 32) | 1);
        hub.remote_moved(p, remote(5, 0.1));
        hub.remote_moved(q, remote(5, 0.2));
        texts(a.outbox.next_batch().await);
        // p unchanged, q gone, r new.
        hub.sync_remote(HashMap::from([(p, remote(5, 0.1)), (r, remote(6, 0.3))]));
        let got = texts(a.outbox.next_batch().await);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got
            .iter()
            .any(|m| m.contains(r#""type":"leave""#) && m.contains(&q.to_string())));
        assert!(got.iter().any(|m| m.contains(r#""x":0.3"#)));
        hub.node_gone(5);
        let got = texts(a.outbox.next_batch().await);
        assert_eq!(got, [format!(r#"{{"type":"leave","id":{p}}}"#)]);
        assert_eq!(hub.remote_len(), 1);
    }
}
