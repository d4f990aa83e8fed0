//! The Redis broker (`--broker redis://..`): every relay on one Redis (7 or later) shares
//! one room. Keys and values: [`crate::redis_wire`].
//!
//! - **Live updates** go over Pub/Sub: each relay publishes its clients' moves and leaves
//!   on the room's channel and applies the other relays' to its hub. At most once is right
//!   for positions: a lost one is replaced by the next move or the next sync.
//! - **Snapshots**: the room hash holds every cursor. Each relay keeps a copy of the other
//!   relays' part in its hub, so a joining client gets its snapshot without a round trip.
//! - **Liveness and repair**, every `ttl / 3` (one *sync*): the relay refreshes its key
//!   `node:<n>` (`PX ttl`) and reads the hash back. Cursors of relays whose key has expired
//!   are dropped (and their fields deleted), its own entries are put back or removed to
//!   match its clients (after a Redis restart, a partition, a lost write), and the hub's copy
//!   is replaced by what was read. Whatever was lost, every relay is exact again within a
//!   sync.
//! - **Lost connection**: redis-rs's connection manager reconnects and resubscribes; the
//!   `subscribe` confirmation triggers a sync at once (the backfill). A relay that has not
//!   reached Redis for a ttl drops the others' cursors (it can no longer vouch for them),
//!   just as the others drop its own when its key expires: no ghosts on either side.
//! - **Shutdown**: the relay publishes `node-gone` and deletes its key, so that its cursors
//!   leave the others' pages at once rather than after a ttl.
//!
//! Pushes go through the connection manager's push callback into a bounded channel; one
//! worker task does everything else, in order, so that the relay's writes never race each
//! other. Every Redis call is bounded by a timeout.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, IntoConnectionInfo, Pipeline, ProtocolVersion, PushInfo, PushKind, Value};
use tokio::sync::{mpsc, watch, Notify};
use tokio::task::JoinHandle;

use crate::broker::Broker;
use crate::hub::{Cursor, Hub, OUTBOX_LIMIT};
use crate::redis_wire::{self as wire, Event, Keys, MAX_NODE};

/// The Redis broker's settings (`--broker`, `--broker-prefix`, `--broker-ttl-ms`).
#[derive(Clone, Debug)]
pub struct Config {
    /// `redis://[user:password@]host[:port][/db]`.
    pub url: String,
    /// Prepended to every key and channel name.
    pub prefix: String,
    /// How long a relay's cursors outlive it (or its link to Redis).
    pub ttl: Duration,
}

impl Config {
    pub const DEFAULT_PREFIX: &'static str = "tether:";
    pub const DEFAULT_TTL: Duration = Duration::from_secs(5);
}

/// Pushes (mostly other relays' moves) waiting for the worker. When it is full, pushes are
/// dropped: the next sync repairs whatever they would have said.
const PUSH_BUFFER: usize = 4096;

/// Bounds each call to Redis while the relay starts.
const SETUP_TIMEOUT: Duration = Duration::from_secs(2);

/// The hub's handle: the node number and the set of local clients that changed.
pub struct RedisBroker {
    node: u64,
    changed: Arc<Changed>,
    worker: Mutex<Option<Worker>>,
}

/// Local clients whose latest state has not been written to Redis yet.
#[derive(Default)]
struct Changed {
    ids: Mutex<HashSet<u64>>,
    notify: Notify,
}

impl Changed {
    fn take(&self) -> HashSet<u64> {
        std::mem::take(&mut *self.ids.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Broker for RedisBroker {
    fn node(&self) -> u64 {
        self.node
    }

    fn changed(&self, id: u64) {
        let mut ids = self.changed.ids.lock().unwrap_or_else(|e| e.into_inner());
        // Past the bound the next sync writes the rest.
        if ids.len() < OUTBOX_LIMIT {
            ids.insert(id);
        }
        drop(ids);
        self.changed.notify.notify_one();
    }

    fn start(&self, hub: Arc<Hub>, shutdown: watch::Receiver<bool>) -> Option<JoinHandle<()>> {
        let worker = self.worker.lock().unwrap_or_else(|e| e.into_inner()).take()?;
        Some(tokio::spawn(worker.run(hub, shutdown)))
    }
}

impl RedisBroker {
    /// Connects, checks the server, claims a node number and subscribes to the room. Any
    /// failure is an error naming the problem (the relay does not start).
    pub async fn connect(config: Config) -> Result<Arc<RedisBroker>, String> {
        let shown = redacted(&config.url);
        let info = config
            .url
            .as_str()
            .into_connection_info()
            .map_err(|e| format!("bad --broker URL {shown}: {e}"))?;
        let settings = info.redis_settings().clone().set_protocol(ProtocolVersion::RESP3);
        let client = Client::open(info.set_redis_settings(settings))
            .map_err(|e| format!("bad --broker URL {shown}: {e}"))?;
        let (push_tx, pushes) = mpsc::channel(PUSH_BUFFER);
        let op_timeout = op_timeout(config.ttl);
        let manager = ConnectionManagerConfig::new()
            .set_push_sender(move |info: PushInfo| push_tx.try_send(info).map_err(drop))
            .set_automatic_resubscription()
            .set_connection_timeout(Some(op_timeout))
            .set_response_timeout(Some(op_timeout))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_secs(1));
        let unreachable = |e: &dyn std::fmt::Display| format!("cannot use Redis at {shown}: {e}");
        let mut conn = tokio::time::timeout(
            Duration::from_secs(5),
            ConnectionManager::new_with_config(client, manager),
        )
        .await
        .map_err(|_| unreachable(&"no answer within 5 s"))?
        .map_err(|e| unreachable(&e))?;

        let info: String = timed(
            SETUP_TIMEOUT,
            redis::cmd("INFO").arg("server").query_async(&mut conn),
        )
        .await
        .map_err(|e| unreachable(&e))?;
        match server_major_version(&info) {
            Some(v) if v >= 7 => {}
            Some(v) => return Err(unreachable(&format!("need Redis 7 or later, found {v}"))),
            None => return Err(unreachable(&"no redis_version in INFO server")),
        }

        let keys = Keys::new(&config.prefix);
        let token = random();
        let mut node = None;
        for _ in 0..16 {
            let n = 1 + random() % (MAX_NODE - 1);
            let mut set = redis::cmd("SET");
            set.arg(keys.node(n))
                .arg(token)
                .arg("NX")
                .arg("PX")
                .arg(ttl_ms(config.ttl));
            let claimed = set.query_async::<Option<String>>(&mut conn);
            if timed(SETUP_TIMEOUT, claimed)
                .await
                .map_err(|e| unreachable(&e))?
                .is_some()
            {
                node = Some(n);
                break;
            }
        }
        let node = node.ok_or_else(|| unreachable(&"no free node number after 16 tries"))?;
        timed(SETUP_TIMEOUT, conn.subscribe(&keys.channel))
            .await
            .map_err(|e| unreachable(&e))?;

        let changed = Arc::new(Changed::default());
        let worker = Worker {
            conn,
            keys,
            node,
            token,
            ttl: config.ttl,
            op_timeout,
            pushes,
            changed: Arc::clone(&changed),
            last_ok: Instant::now(),
            healthy: true,
            url: shown,
        };
        Ok(Arc::new(RedisBroker {
            node,
            changed,
            worker: Mutex::new(Some(worker)),
        }))
    }
}

/// The task that talks to Redis for one relay.
struct Worker {
    conn: ConnectionManager,
    keys: Keys,
    node: u64,
    token: u64,
    ttl: Duration,
    op_timeout: Duration,
    pushes: mpsc::Receiver<PushInfo>,
    changed: Arc<Changed>,
    /// The end of the last sync that reached Redis.
    last_ok: Instant,
    /// Whether the last call to Redis succeeded (to log once per outage, not per call).
    healthy: bool,
    url: String,
}

impl Worker {
    async fn run(mut self, hub: Arc<Hub>, mut shutdown: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(self.ttl / 3);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            // Unbiased: a stream of pushes must not starve the liveness refresh.
            tokio::select! {
                // (The guard `wait_for` returns must not live in the select's output: not Send.)
                () = async { drop(shutdown.wait_for(|&down| down).await) } => break,
                Some(push) = self.pushes.recv() => self.on_push(&hub, push).await,
                () = self.changed.notify.notified() => self.publish(&hub).await,
                _ = tick.tick() => self.sync(&hub).await,
            }
        }
        self.goodbye().await;
    }

    async fn on_push(&mut self, hub: &Hub, push: PushInfo) {
        match push.kind {
            PushKind::Message => {
                let Some(Value::BulkString(payload)) = push.data.get(1) else {
                    return;
                };
                match wire::decode_event(payload) {
                    Some(e) if e.node() != self.node => match e {
                        Event::Moved(id, c) => hub.remote_moved(id, c),
                        Event::Left { id, .. } => hub.remote_left(id),
                        Event::NodeGone(node) => hub.node_gone(node),
                    },
                    _ => {} // our own, or not one of ours
                }
            }
            // (Re)subscribed, after a reconnect too: catch up on what the gap lost.
            PushKind::Subscribe => self.sync(hub).await,
            PushKind::Disconnection => self.failed(hub, &"connection lost; reconnecting"),
            _ => {}
        }
    }

    /// Writes the latest state of the local clients that changed.
    async fn publish(&mut self, hub: &Hub) {
        let mut pipe = redis::pipe();
        for id in self.changed.take() {
            self.put(&mut pipe, id, hub.local_cursor(id));
        }
        if pipe.is_empty() {
            return;
        }
        let result = timed(self.op_timeout, pipe.exec_async(&mut self.conn)).await;
        if let Err(e) = result {
            self.failed(hub, &e);
        }
    }

    /// Queues the writes that make Redis say `cursor` about local client `id` (or that it
    /// is gone), and tell the other relays.
    fn put(&self, pipe: &mut Pipeline, id: u64, cursor: Option<Cursor>) {
        let event = match cursor {
            Some(c) => {
                pipe.hset(&self.keys.cursors, id, wire::encode_entry(&c)).ignore();
                Event::Moved(id, c)
            }
            None => {
                pipe.hdel(&self.keys.cursors, id).ignore();
                Event::Left { node: self.node, id }
            }
        };
        pipe.publish(&self.keys.channel, wire::encode_event(&event))
            .ignore();
    }

    /// Refreshes liveness, repairs the hash and replaces the hub's copy of the others.
    async fn sync(&mut self, hub: &Hub) {
        match timed(self.op_timeout, self.read_and_repair(hub)).await {
            Ok(others) => {
                hub.sync_remote(others);
                self.last_ok = Instant::now();
                if !self.healthy {
                    eprintln!("tether-relay: Redis at {} is back", self.url);
                    self.healthy = true;
                }
            }
            Err(e) => self.failed(hub, &e),
        }
    }

    async fn read_and_repair(&mut self, hub: &Hub) -> redis::RedisResult<HashMap<u64, Cursor>> {
        let (raw,): (HashMap<Vec<u8>, Vec<u8>>,) = redis::pipe()
            .cmd("SET")
            .arg(self.keys.node(self.node))
            .arg(self.token)
            .arg("PX")
            .arg(ttl_ms(self.ttl))
            .ignore()
            .hgetall(&self.keys.cursors)
            .query_async(&mut self.conn)
            .await?;
        let entries: Vec<(u64, Cursor)> = raw
            .iter()
            .filter_map(|(field, value)| wire::decode_entry(field, value))
            .collect();

        let others: Vec<u64> = {
            let set: HashSet<u64> = entries.iter().map(|(_, c)| c.node).collect();
            set.into_iter().filter(|&n| n != self.node).collect()
        };
        let mut dead = HashSet::new();
        if !others.is_empty() {
            let keys: Vec<String> = others.iter().map(|&n| self.keys.node(n)).collect();
            let alive: Vec<Option<String>> = redis::cmd("MGET").arg(keys).query_async(&mut self.conn).await?;
            dead.extend(
                others
                    .iter()
                    .zip(alive)
                    .filter(|(_, a)| a.is_none())
                    .map(|(&n, _)| n),
            );
        }

        let mut repair = redis::pipe();
        let mut mine = hub.local_cursors();
        let mut live = HashMap::new();
        for (id, c) in entries {
            if c.node == self.node {
                // In Redis but stale or gone here: write what is true now.
                match mine.remove(&id) {
                    Some(now) if now == c => {}
                    now => self.put(&mut repair, id, now),
                }
            } else if dead.contains(&c.node) {
                repair.hdel(&self.keys.cursors, id).ignore();
            } else {
                live.insert(id, c);
            }
        }
        // Here but missing from Redis (it restarted, or we were taken for dead).
        for (id, c) in mine {
            self.put(&mut repair, id, Some(c));
        }
        if !repair.is_empty() {
            repair.exec_async(&mut self.conn).await?;
        }
        Ok(live)
    }

    fn failed(&mut self, hub: &Hub, why: &dyn std::fmt::Display) {
        if self.healthy {
            eprintln!("tether-relay: Redis at {}: {why}", self.url);
            self.healthy = false;
        }
        if self.last_ok.elapsed() >= self.ttl && hub.remote_len() > 0 {
            eprintln!(
                "tether-relay: no Redis for {} ms: the other relays' cursors are dropped until it is back",
                self.ttl.as_millis()
            );
            hub.sync_remote(HashMap::new());
        }
    }

    /// Tells the others at once that this relay's cursors are gone (best effort).
    async fn goodbye(&mut self) {
        let gone = wire::encode_event(&Event::NodeGone(self.node));
        let mut pipe = redis::pipe();
        pipe.publish(&self.keys.channel, gone).ignore();
        pipe.del(self.keys.node(self.node)).ignore();
        let _ = timed(Duration::from_secs(1), pipe.exec_async(&mut self.conn)).await;
    }
}

/// A Redis call bounded by `limit`; running out of time is an error like any other.
async fn timed<T>(
    limit: Duration,
    call: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> Result<T, String> {
    match tokio::time::timeout(limit, call).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {} ms", limit.as_millis())),
    }
}

/// How long one call to Redis may take: half a ttl, so that a slow call cannot by itself
/// let the relay's key expire.
fn op_timeout(ttl: Duration) -> Duration {
    (ttl / 2).max(Duration::from_millis(50))
}

fn ttl_ms(ttl: Duration) -> u64 {
    ttl.as_millis().clamp(1, u64::MAX as u128) as u64
}

/// `redis_version:7.0.15` in `INFO server`.
fn server_major_version(info: &str) -> Option<u32> {
    let line = info.lines().find_map(|l| l.strip_prefix("redis_version:"))?;
    line.trim().split('.').next()?.parse().ok()
}

/// The URL with any password left out, for messages.
fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}://***{}", &url[..scheme], &url[at..]),
        _ => url.to_owned(),
    }
}

/// 64 random bits (std's per-process random hash keys; nothing here needs more).
fn random() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(
            server_major_version("# Server\r\nredis_version:7.0.15\r\n"),
            Some(7)
        );
        assert_eq!(server_major_version("redis_version:6.2.1"), Some(6));
        assert_eq!(server_major_version("nothing"), None);
        assert_eq!(redacted("redis://u:secret@h:1/0"), "redis://***@h:1/0");
        assert_eq!(redacted("redis://127.0.0.1:6379/0"), "redis://127.0.0.1:6379/0");
        assert_ne!(random(), random());
        assert_eq!(op_timeout(Duration::from_secs(1)), Duration::from_millis(500));
    }
}
