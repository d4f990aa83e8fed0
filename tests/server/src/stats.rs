//! Per-key connection statistics, read back by the browser tests through `GET /stats?key=K`.
//!
//! Every WebSocket connection carries a key (its `key` query parameter, default ""), so
//! tests running in parallel each see only their own connections.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use serde::Serialize;

use crate::chaos::Chaos;

/// What one key has seen. Field names are the JSON contract of `/stats`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyStats {
    /// WebSocket handshakes accepted.
    pub connections: u64,
    /// Connections currently open.
    pub open: u64,
    /// Highest value `open` ever had.
    pub max_concurrent: u64,
    /// Every text message received, in arrival order.
    pub messages: Vec<String>,
    pub binary_messages: u64,
    pub binary_bytes: u64,
    /// Milliseconds since server start of each accepted handshake.
    pub connect_times: Vec<f64>,
    /// Negotiated subprotocol per connection ("" if none).
    pub protocols: Vec<String>,
    /// Close frames received from clients.
    pub closes: Vec<CloseRecord>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CloseRecord {
    /// `None` when the close frame had no payload (serialised as `null`).
    pub code: Option<u16>,
    pub reason: String,
}

#[derive(Debug)]
pub struct Stats {
    start: Instant,
    keys: Mutex<HashMap<String, KeyStats>>,
    /// Chaos mode and the `/soak` records (see `chaos.rs`); here because every connection
    /// already has the stats at hand.
    chaos: Arc<Chaos>,
}

impl Stats {
    pub fn new() -> Arc<Self> {
        Arc::new(Stats {
            start: Instant::now(),
            keys: Mutex::new(HashMap::new()),
            chaos: Arc::default(),
        })
    }

    pub fn chaos(&self) -> &Arc<Chaos> {
        &self.chaos
    }

    /// A poisoned lock only means some other task panicked mid-update; the counters are
    /// still usable, and the server must keep serving, so recover instead of panicking.
    fn lock(&self) -> MutexGuard<'_, HashMap<String, KeyStats>> {
        self.keys.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn with_key(&self, key: &str, f: impl FnOnce(&mut KeyStats)) {
        let mut keys = self.lock();
        f(keys.entry(key.to_owned()).or_default());
    }

    /// Records an accepted handshake. The returned guard keeps the connection counted as
    /// open until it is dropped, however the connection ends (including task abort).
    pub fn opened(self: &Arc<Self>, key: &str, protocol: &str) -> OpenGuard {
        let ms = self.start.elapsed().as_secs_f64() * 1000.0;
        self.with_key(key, |s| {
            s.connections += 1;
            s.open += 1;
            s.max_concurrent = s.max_concurrent.max(s.open);
            s.connect_times.push(ms);
            s.protocols.push(protocol.to_owned());
        });
        OpenGuard {
            stats: Arc::clone(self),
            key: key.to_owned(),
        }
    }

    pub fn text(&self, key: &str, text: &str) {
        self.with_key(key, |s| s.messages.push(text.to_owned()));
    }

    pub fn binary(&self, key: &str, len: usize) {
        self.with_key(key, |s| {
            s.binary_messages += 1;
            s.binary_bytes += len as u64;
        });
    }

    pub fn close(&self, key: &str, code: Option<u16>, reason: &str) {
        let record = CloseRecord {
            code,
            reason: reason.to_owned(),
        };
        self.with_key(key, |s| s.closes.push(record));
    }

    /// Unknown keys read as all zeros / empty.
    pub fn get(&self, key: &str) -> KeyStats {
        self.lock().get(key).cloned().unwrap_or_default()
    }

    /// Clears the history of one key (or all). Connections that are still open stay counted
    /// in `open` (and so `maxConcurrent`), because their guards will decrement it later.
    pub fn reset(&self, key: Option<&str>) {
        self.chaos.reset_soak(key);
        let mut keys = self.lock();
        for (k, s) in keys.iter_mut() {
            if key.is_none_or(|wanted| wanted == k) {
                *s = KeyStats {
                    open: s.open,
                    max_concurrent: s.open,
                    ..KeyStats::default()
                };
            }
        }
        keys.retain(|_, s| s.open > 0);
    }
}

/// Counts a connection as open while it lives.
#[derive(Debug)]
pub struct OpenGuard {
    stats: Arc<Stats>,
    key: String,
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.stats
            .with_key(&self.key, |s| s.open = s.open.saturating_sub(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_count_follows_guards_and_survives_reset() {
        let stats = Stats::new();
        let a = stats.opened("k", "");
        let b = stats.opened("k", "chat");
        assert_eq!(stats.get("k").max_concurrent, 2);
        drop(a);
        stats.reset(Some("k"));
        let s = stats.get("k");
        assert_eq!((s.connections, s.open, s.max_concurrent), (0, 1, 1));
        drop(b);
        assert_eq!(stats.get("k").open, 0);
        assert_eq!(stats.get("unknown").connections, 0);
    }
}
