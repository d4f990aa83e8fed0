//! Chaos mode and the `/soak` endpoint, for the chaos soak (`bash scripts/soak.sh`).
//!
//! `GET /chaos?seed=S&ms=T` starts a run: for `T` ms (default 2 minutes, at most 30 min) the
//! server itself, at random intervals drawn from a seeded generator, injects one fault at a
//! time into the WebSocket port:
//!
//! - `drop`: every connection is cut (TCP closed, no close frame; the browser sees 1006);
//! - `close`: every `/soak` connection is closed with a random close code (then the server
//!   keeps reading and recording until the client's close frame, as RFC 6455 asks);
//! - `delay`: `/soak` connections stop reading for a while (the data piles up in the TCP
//!   buffers: a server that is busy, or a slow network);
//! - `refuse`: new connections are refused for a while (503, or the TCP connection closed
//!   before the handshake answer), sometimes after cutting the open ones;
//! - `restart`: the listening socket is closed and every connection cut, and the port comes
//!   back after a short while (a server restart: ECONNREFUSED meanwhile).
//!
//! The run stops by itself at its deadline, or on `GET /chaos/stop`; either way the port is
//! left up, reading and accepting. Faults apply to the whole WebSocket port, so a soak uses a
//! server of its own. `GET /chaos/report?key=K` returns the faults injected so far and what
//! the `/soak?key=K` connections received: every numbered message (`soak:<seq>[:padding]`)
//! in arrival order with its arrival time and connection, so duplicates and losses can be
//! counted exactly. Other text messages on `/soak` are echoed (heartbeat pings).
//!
//! For the soak's own deterministic faults, the connection also obeys two things the page
//! can put in it:
//!
//! - a key of the form `K~TAG` records the connection under key `K` with the tag `TAG` (the
//!   soak page tags each socket it creates, so that the server's connections and the page's
//!   sockets can be paired exactly);
//! - a numbered message whose padding starts with `!` is a command, recorded like any other
//!   message and then carried out: `soak:<seq>:!stall:<ms>` stops reading this connection
//!   for `ms`; `soak:<seq>:!big:<bytes>` sends back one text message of `bytes` bytes;
//!   `soak:<seq>:!close:<code>:<hold ms>` closes with `code` and, once the client has
//!   answered, keeps the TCP connection open for `hold ms` (the browser stays in CLOSING
//!   until the server drops it).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::pending;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use tokio::net::TcpStream;
use tokio::sync::{oneshot, watch};
use tokio::time::{sleep, sleep_until, timeout, Instant};
use tokio_tungstenite::tungstenite::protocol::frame::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

use crate::conns::{Conns, Which};
use crate::listener::WsControl;

/// Longest run `/chaos` accepts.
pub const MAX_RUN: Duration = Duration::from_secs(30 * 60);
pub const DEFAULT_RUN: Duration = Duration::from_secs(120);
/// Default bounds of the pause between two faults.
pub const DEFAULT_GAPS_MS: (u64, u64) = (300, 2500);
/// Arrivals kept per key; beyond this a record is marked truncated (memory bound).
const MAX_ARRIVALS: usize = 5_000_000;
/// How long a chaos `close` waits for the client's close frame.
const CLOSE_GRACE: Duration = Duration::from_secs(5);
/// Close codes a chaos `close` picks from (all valid for a server to send).
const CLOSE_CODES: [u16; 8] = [1000, 1001, 1011, 1012, 1013, 4000, 4321, 4999];

/// One injected fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Fault {
    Drop,
    Close {
        code: u16,
    },
    Delay {
        ms: u64,
    },
    Refuse {
        ms: u64,
        /// Cut the open connections first.
        #[serde(rename = "dropOpen")]
        drop_open: bool,
        /// Close refused connections without an answer (else answer 503).
        reset: bool,
    },
    Restart {
        ms: u64,
    },
}

impl Fault {
    fn name(&self) -> &'static str {
        match self {
            Fault::Drop => "drop",
            Fault::Close { .. } => "close",
            Fault::Delay { .. } => "delay",
            Fault::Refuse { .. } => "refuse",
            Fault::Restart { .. } => "restart",
        }
    }
}

/// SplitMix64: small, seedable, good enough to pick faults.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi` (`lo` if `hi < lo`).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.next_u64() % (hi - lo + 1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.range(1, 100) <= percent
    }
}

/// The fault schedule of one run: a pure function of the seed.
#[derive(Debug, Clone)]
pub struct Plan {
    rng: Rng,
    gaps: (u64, u64),
    /// The fault kinds to pick from, with their weights.
    kinds: Vec<(&'static str, u64)>,
}

/// Every fault kind and how often it is picked (percent, when all are enabled).
pub const KINDS: [(&str, u64); 5] = [
    ("drop", 30),
    ("close", 20),
    ("delay", 20),
    ("refuse", 15),
    ("restart", 15),
];

/// Parses a comma-separated list of fault kinds (`drop,delay`); empty means all.
pub fn parse_kinds(list: &str) -> Result<Vec<&'static str>, String> {
    let mut kinds = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match KINDS.iter().find(|(k, _)| *k == name) {
            Some((k, _)) => kinds.push(*k),
            None => {
                return Err(format!(
                    "unknown fault kind {name:?} (known: drop, close, delay, refuse, restart)"
                ))
            }
        }
    }
    Ok(kinds)
}

impl Plan {
    /// `kinds`: the fault kinds to inject (names from [`KINDS`]); empty means all.
    pub fn new(seed: u64, gaps_ms: (u64, u64), kinds: &[&str]) -> Plan {
        Plan {
            rng: Rng::new(seed),
            gaps: gaps_ms,
            kinds: KINDS
                .into_iter()
                .filter(|(k, _)| kinds.is_empty() || kinds.contains(k))
                .collect(),
        }
    }

    /// The pause before the next fault, and the fault.
    pub fn next_fault(&mut self) -> (Duration, Fault) {
        let r = &mut self.rng;
        let gap = Duration::from_millis(r.range(self.gaps.0, self.gaps.1));
        let total: u64 = self.kinds.iter().map(|(_, w)| w).sum();
        let mut pick = r.range(1, total.max(1));
        let mut kind = "drop";
        for (k, w) in &self.kinds {
            kind = k;
            if pick <= *w {
                break;
            }
            pick -= w;
        }
        let fault = match kind {
            "close" => Fault::Close {
                code: CLOSE_CODES[r.range(0, CLOSE_CODES.len() as u64 - 1) as usize],
            },
            "delay" => Fault::Delay {
                ms: r.range(100, 2500),
            },
            "refuse" => Fault::Refuse {
                ms: r.range(200, 2500),
                drop_open: r.chance(50),
                reset: r.chance(50),
            },
            "restart" => Fault::Restart {
                ms: r.range(100, 1500),
            },
            _ => Fault::Drop,
        };
        (gap, fault)
    }
}

/// Milliseconds since the Unix epoch (comparable with the page's `Date.now()`).
fn epoch_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

/// One fault as reported.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultEvent {
    /// Milliseconds since the run started.
    pub t_ms: f64,
    #[serde(flatten)]
    pub fault: Fault,
    /// Connections cut or closed by it.
    pub affected: usize,
}

/// One `/soak` connection.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SoakConn {
    pub opened_at_ms: f64,
    pub ended_at_ms: Option<f64>,
    /// How it ended: "client close 1000", "chaos close 4000", "cut (no close frame)", ...
    pub end: Option<String>,
    /// Numbered messages received on it.
    pub messages: u64,
    /// The tag of the key (`K~TAG`), if it had one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
}

/// What the `/soak` connections of one key received.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SoakRecord {
    /// `[seq, arrival time (ms since the epoch), connection index]`, in arrival order.
    pub arrivals: Vec<(u64, f64, u32)>,
    pub connections: Vec<SoakConn>,
    /// More than [`MAX_ARRIVALS`] arrived; the rest were not kept.
    pub truncated: bool,
}

#[derive(Debug, Clone)]
struct RunInfo {
    id: u64,
    seed: u64,
    started: Instant,
    started_at_ms: f64,
    duration: Duration,
    ended_after_ms: Option<f64>,
    events: Vec<FaultEvent>,
}

#[derive(Debug, Default)]
struct State {
    next_run: u64,
    run: Option<RunInfo>,
    stop: Option<oneshot::Sender<()>>,
    stall_until: Option<Instant>,
    refuse_until: Option<Instant>,
    refuse_reset: bool,
    soaks: HashMap<String, SoakRecord>,
}

/// `/chaos/report`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub running: bool,
    pub seed: Option<u64>,
    pub started_at_ms: Option<f64>,
    pub duration_ms: Option<u64>,
    pub ended_after_ms: Option<f64>,
    /// Faults per kind.
    pub counts: BTreeMap<&'static str, u64>,
    pub faults: Vec<FaultEvent>,
    /// The key's soak record, if a key was given.
    pub soak: Option<SoakRecord>,
}

/// How a new connection is turned away while refusing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refuse {
    /// Close the TCP connection without answering.
    Reset,
    /// Answer `503 Service Unavailable`.
    Unavailable,
}

/// Chaos state shared by the control API, the accept path and the `/soak` connections.
pub struct Chaos {
    state: Mutex<State>,
    /// Each new value asks every `/soak` connection to close with that code.
    close_tx: watch::Sender<u16>,
}

impl fmt::Debug for Chaos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chaos").finish_non_exhaustive()
    }
}

impl Default for Chaos {
    fn default() -> Self {
        Chaos {
            state: Mutex::default(),
            close_tx: watch::channel(1000).0,
        }
    }
}

impl Chaos {
    /// As elsewhere in the server: a poisoned lock is still usable.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether new connections are being refused now, and how.
    pub fn refusal(&self) -> Option<Refuse> {
        let s = self.lock();
        match s.refuse_until {
            Some(t) if Instant::now() < t => Some(if s.refuse_reset {
                Refuse::Reset
            } else {
                Refuse::Unavailable
            }),
            _ => None,
        }
    }

    /// How much longer `/soak` connections must hold off reading.
    fn stall_remaining(&self) -> Option<Duration> {
        let until = self.lock().stall_until?;
        until
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
    }

    /// Ends any delay or refusal at once.
    fn calm(&self) {
        let mut s = self.lock();
        s.stall_until = None;
        s.refuse_until = None;
    }

    /// Forgets the soak records of one key (or all).
    pub fn reset_soak(&self, key: Option<&str>) {
        let mut s = self.lock();
        match key {
            Some(k) => {
                s.soaks.remove(k);
            }
            None => s.soaks.clear(),
        }
    }

    fn record(&self, key: &str, seq: u64, conn: u32) {
        let now = epoch_ms();
        let mut s = self.lock();
        let rec = s.soaks.entry(key.to_owned()).or_default();
        if let Some(c) = rec.connections.get_mut(conn as usize) {
            c.messages += 1;
        }
        if rec.arrivals.len() < MAX_ARRIVALS {
            rec.arrivals.push((seq, now, conn));
        } else {
            rec.truncated = true;
        }
    }

    fn soak_opened(&self, key: &str, tag: Option<&str>) -> u32 {
        let mut s = self.lock();
        let rec = s.soaks.entry(key.to_owned()).or_default();
        rec.connections.push(SoakConn {
            opened_at_ms: epoch_ms(),
            ended_at_ms: None,
            end: None,
            messages: 0,
            tag: tag.map(str::to_owned),
        });
        (rec.connections.len() - 1) as u32
    }

    fn soak_ended(&self, key: &str, conn: u32, end: String) {
        let mut s = self.lock();
        if let Some(c) = s
            .soaks
            .get_mut(key)
            .and_then(|r| r.connections.get_mut(conn as usize))
        {
            c.ended_at_ms = Some(epoch_ms());
            c.end = Some(end);
        }
    }

    /// The report; `key` selects the soak record included.
    pub fn report(&self, key: Option<&str>) -> Report {
        let s = self.lock();
        let run = s.run.as_ref();
        let faults = run.map(|r| r.events.clone()).unwrap_or_default();
        let mut counts = BTreeMap::new();
        for name in ["drop", "close", "delay", "refuse", "restart"] {
            counts.insert(name, 0);
        }
        for e in &faults {
            *counts.entry(e.fault.name()).or_default() += 1;
        }
        Report {
            running: s.stop.is_some(),
            seed: run.map(|r| r.seed),
            started_at_ms: run.map(|r| r.started_at_ms),
            duration_ms: run.map(|r| r.duration.as_millis() as u64),
            ended_after_ms: run.and_then(|r| r.ended_after_ms),
            counts,
            faults,
            soak: key.map(|k| s.soaks.get(k).cloned().unwrap_or_default()),
        }
    }

    /// Starts a run (stopping the one in progress, if any).
    pub async fn start(
        self: &Arc<Self>,
        ports: Ports,
        seed: u64,
        duration: Duration,
        gaps_ms: (u64, u64),
        kinds: &[&str],
    ) {
        self.stop(&ports).await;
        let duration = duration.min(MAX_RUN);
        let (stop_tx, stop_rx) = oneshot::channel();
        let id = {
            let mut s = self.lock();
            s.next_run += 1;
            let id = s.next_run;
            s.run = Some(RunInfo {
                id,
                seed,
                started: Instant::now(),
                started_at_ms: epoch_ms(),
                duration,
                ended_after_ms: None,
                events: Vec::new(),
            });
            s.stop = Some(stop_tx);
            id
        };
        let chaos = Arc::clone(self);
        let plan = Plan::new(seed, gaps_ms, kinds);
        tokio::spawn(async move { chaos.run(id, ports, plan, duration, stop_rx).await });
    }

    /// Stops the run in progress, if any, and returns once the port is calm and up again
    /// (bounded).
    pub async fn stop(&self, ports: &Ports) {
        let stop = self.lock().stop.take();
        let Some(stop) = stop else { return };
        let _ = stop.send(());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if self
                .lock()
                .run
                .as_ref()
                .is_none_or(|r| r.ended_after_ms.is_some())
            {
                return;
            }
            sleep(Duration::from_millis(5)).await;
        }
        // The task is wedged: calm things down here instead.
        self.calm();
        ports.ws.up().await;
    }

    async fn run(
        &self,
        id: u64,
        ports: Ports,
        mut plan: Plan,
        duration: Duration,
        mut stop: oneshot::Receiver<()>,
    ) {
        let deadline = Instant::now() + duration;
        loop {
            let (gap, fault) = plan.next_fault();
            let wake = (Instant::now() + gap).min(deadline);
            tokio::select! {
                () = sleep_until(wake) => {}
                _ = &mut stop => break,
            }
            if Instant::now() >= deadline {
                break;
            }
            let affected = self.inject(fault, &ports).await;
            let mut s = self.lock();
            match s.run.as_mut() {
                Some(r) if r.id == id => r.events.push(FaultEvent {
                    t_ms: r.started.elapsed().as_secs_f64() * 1000.0,
                    fault,
                    affected,
                }),
                // A newer run replaced this one.
                _ => return,
            }
        }
        self.calm();
        ports.ws.up().await;
        let mut s = self.lock();
        if let Some(r) = s.run.as_mut().filter(|r| r.id == id) {
            r.ended_after_ms = Some(r.started.elapsed().as_secs_f64() * 1000.0);
            // Ended by its deadline: nothing left to stop.
            s.stop = None;
        }
    }

    async fn inject(&self, fault: Fault, ports: &Ports) -> usize {
        match fault {
            Fault::Drop => ports.conns.kill(Which::All).await,
            Fault::Close { code } => {
                let listening = self.close_tx.receiver_count();
                self.close_tx.send_replace(code);
                listening
            }
            Fault::Delay { ms } => {
                let until = Instant::now() + Duration::from_millis(ms);
                let mut s = self.lock();
                s.stall_until = Some(s.stall_until.map_or(until, |t| t.max(until)));
                0
            }
            Fault::Refuse { ms, drop_open, reset } => {
                {
                    let mut s = self.lock();
                    s.refuse_until = Some(Instant::now() + Duration::from_millis(ms));
                    s.refuse_reset = reset;
                }
                if drop_open {
                    ports.conns.kill(Which::All).await
                } else {
                    0
                }
            }
            Fault::Restart { ms } => {
                let before = ports.conns.kill(Which::All).await;
                ports.ws.down(Some(Duration::from_millis(ms))).await;
                before
            }
        }
    }
}

/// What a run needs to act on the WebSocket port.
#[derive(Clone)]
pub struct Ports {
    pub conns: Arc<Conns>,
    pub ws: WsControl,
}

/// `soak:<seq>` or `soak:<seq>:<anything>`.
pub fn parse_seq(text: &str) -> Option<u64> {
    let rest = text.strip_prefix("soak:")?;
    let digits = rest.split_once(':').map_or(rest, |(d, _)| d);
    digits.parse().ok()
}

/// Largest reply a `!big` command asks for.
const MAX_BIG: usize = 16 * 1024 * 1024;
/// Longest stall or hold a command asks for.
const MAX_COMMAND_MS: u64 = 10_000;

/// A command carried by a numbered message (`soak:<seq>:!<command>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Stop reading this connection for a while.
    Stall(Duration),
    /// Send back one text message of this many bytes.
    Big(usize),
    /// Close with `code`, then hold the TCP connection open for `hold` after the handshake.
    Close { code: u16, hold: Duration },
}

/// The command in `soak:<seq>:!<command>`, if any (malformed ones are ignored).
pub fn parse_command(text: &str) -> Option<Command> {
    let rest = text.strip_prefix("soak:")?;
    let (_, pad) = rest.split_once(':')?;
    let mut parts = pad.strip_prefix('!')?.split(':');
    let ms = |v: Option<&str>| -> Option<Duration> {
        let n: u64 = v?.parse().ok()?;
        Some(Duration::from_millis(n.min(MAX_COMMAND_MS)))
    };
    match parts.next()? {
        "stall" => Some(Command::Stall(ms(parts.next())?)),
        "big" => Some(Command::Big(parts.next()?.parse::<usize>().ok()?.min(MAX_BIG))),
        "close" => {
            let code: u16 = parts.next()?.parse().ok()?;
            (code == 1000 || (3000..=4999).contains(&code)).then_some(())?;
            Some(Command::Close {
                code,
                hold: ms(parts.next())?,
            })
        }
        _ => None,
    }
}

/// Records the end of a `/soak` connection however it ends (a killed task included).
struct SoakGuard<'a> {
    chaos: &'a Chaos,
    key: &'a str,
    conn: u32,
    end: Option<String>,
}

impl Drop for SoakGuard<'_> {
    fn drop(&mut self) {
        let end = self
            .end
            .take()
            .unwrap_or_else(|| "cut (no close frame)".to_owned());
        self.chaos.soak_ended(self.key, self.conn, end);
    }
}

/// The `/soak` endpoint: records numbered messages, echoes other text, obeys the chaos
/// `delay` and `close` faults and the page's commands (see the module's docs).
pub async fn soak(mut ws: WebSocketStream<TcpStream>, chaos: &Chaos, key: &str) -> Result<(), WsError> {
    let (key, tag) = match key.split_once('~') {
        Some((k, t)) => (k, Some(t)),
        None => (key, None),
    };
    let conn = chaos.soak_opened(key, tag);
    let mut guard = SoakGuard {
        chaos,
        key,
        conn,
        end: None,
    };
    let mut close_rx = chaos.close_tx.subscribe();
    // A stall this connection was asked for (`!stall`), on top of the chaos `delay`.
    let mut stalled_until: Option<Instant> = None;
    loop {
        let own = stalled_until
            .and_then(|t| t.checked_duration_since(Instant::now()))
            .filter(|d| !d.is_zero());
        if let Some(stall) = chaos.stall_remaining().max(own) {
            tokio::select! {
                () = sleep(stall) => continue,
                code = close_asked(&mut close_rx) => {
                    return chaos_close(&mut ws, chaos, key, conn, code, Duration::ZERO, &mut guard).await;
                }
            }
        }
        tokio::select! {
            msg = ws.next() => {
                let Some(msg) = msg else {
                    guard.end.get_or_insert_with(|| "client gone".to_owned());
                    return Ok(());
                };
                match msg? {
                    Message::Text(text) => match parse_seq(text.as_str()) {
                        Some(seq) => {
                            chaos.record(key, seq, conn);
                            match parse_command(text.as_str()) {
                                Some(Command::Stall(d)) => stalled_until = Some(Instant::now() + d),
                                Some(Command::Big(n)) => ws.send(Message::text("b".repeat(n))).await?,
                                Some(Command::Close { code, hold }) => {
                                    return chaos_close(&mut ws, chaos, key, conn, code, hold, &mut guard).await;
                                }
                                None => {}
                            }
                        }
                        None => ws.send(Message::Text(text)).await?,
                    },
                    Message::Close(frame) => {
                        let code = frame.map_or("(none)".to_owned(), |f| u16::from(f.code).to_string());
                        guard.end = Some(format!("client close {code}"));
                    }
                    _ => {}
                }
            }
            code = close_asked(&mut close_rx) => {
                return chaos_close(&mut ws, chaos, key, conn, code, Duration::ZERO, &mut guard).await;
            }
        }
    }
}

/// Resolves with the code of the next chaos `close` (cancel-safe).
async fn close_asked(rx: &mut watch::Receiver<u16>) -> u16 {
    if rx.changed().await.is_err() {
        pending::<()>().await;
    }
    *rx.borrow_and_update()
}

/// Closes with `code`, then records until the client's close frame (bounded), then keeps the
/// TCP connection open for `hold`.
async fn chaos_close(
    ws: &mut WebSocketStream<TcpStream>,
    chaos: &Chaos,
    key: &str,
    conn: u32,
    code: u16,
    hold: Duration,
    guard: &mut SoakGuard<'_>,
) -> Result<(), WsError> {
    guard.end = Some(format!("chaos close {code}"));
    let frame = CloseFrame {
        code: code.into(),
        reason: "chaos".into(),
    };
    ws.close(Some(frame)).await?;
    let drain = async {
        while let Some(msg) = ws.next().await {
            if let Message::Text(text) = msg? {
                if let Some(seq) = parse_seq(text.as_str()) {
                    chaos.record(key, seq, conn);
                }
            }
        }
        Ok::<(), WsError>(())
    };
    match timeout(CLOSE_GRACE, drain).await {
        Ok(res) => {
            if !hold.is_zero() {
                sleep(hold).await;
            }
            res
        }
        Err(_) => {
            guard.end = Some(format!("chaos close {code}, no close frame back"));
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_is_a_function_of_the_seed_and_covers_every_fault() {
        let take = |seed| {
            let mut p = Plan::new(seed, DEFAULT_GAPS_MS, &[]);
            (0..400).map(|_| p.next_fault()).collect::<Vec<_>>()
        };
        assert_eq!(take(7), take(7));
        assert_ne!(take(7), take(8));
        let faults = take(42);
        for name in ["drop", "close", "delay", "refuse", "restart"] {
            assert!(faults.iter().any(|(_, f)| f.name() == name), "no {name}");
        }
        for (gap, fault) in &faults {
            assert!((300..=2500).contains(&(gap.as_millis() as u64)));
            match *fault {
                Fault::Close { code } => assert!(CLOSE_CODES.contains(&code)),
                Fault::Delay { ms } | Fault::Refuse { ms, .. } => assert!((100..=2500).contains(&ms)),
                Fault::Restart { ms } => assert!((100..=1500).contains(&ms)),
                Fault::Drop => {}
            }
        }
    }

    #[test]
    fn fault_kinds_can_be_chosen() {
        assert_eq!(parse_kinds(" delay, drop ,"), Ok(vec!["delay", "drop"]));
        assert_eq!(parse_kinds(""), Ok(vec![]));
        assert!(parse_kinds("drop,explode").is_err());
        let mut p = Plan::new(3, (10, 20), &["delay", "refuse"]);
        let names: Vec<&str> = (0..200).map(|_| p.next_fault().1.name()).collect();
        assert!(names.iter().all(|n| *n == "delay" || *n == "refuse"));
        assert!(names.contains(&"delay") && names.contains(&"refuse"));
    }

    #[test]
    fn rng_range_bounds() {
        let mut r = Rng::new(1);
        assert_eq!(r.range(5, 5), 5);
        assert_eq!(r.range(9, 3), 9);
        assert!((0..1000).all(|_| (10..=12).contains(&r.range(10, 12))));
    }

    #[test]
    fn parses_numbered_messages() {
        assert_eq!(parse_seq("soak:12"), Some(12));
        assert_eq!(parse_seq("soak:7:xxxx"), Some(7));
        assert_eq!(parse_seq("soak:"), None);
        assert_eq!(parse_seq("ping"), None);
        assert_eq!(parse_seq("soak:-1"), None);
    }

    #[test]
    fn parses_commands() {
        assert_eq!(
            parse_command("soak:3:!stall:1500"),
            Some(Command::Stall(Duration::from_millis(1500)))
        );
        assert_eq!(
            parse_command("soak:3:!stall:999999"),
            Some(Command::Stall(Duration::from_millis(MAX_COMMAND_MS)))
        );
        assert_eq!(parse_command("soak:4:!big:70000"), Some(Command::Big(70000)));
        assert_eq!(
            parse_command("soak:4:!big:999999999"),
            Some(Command::Big(MAX_BIG))
        );
        assert_eq!(
            parse_command("soak:5:!close:4000:800"),
            Some(Command::Close {
                code: 4000,
                hold: Duration::from_millis(800)
            })
        );
        assert_eq!(parse_command("soak:5:!close:1006:800"), None);
        assert_eq!(parse_command("soak:5:!close:4000"), None);
        assert_eq!(parse_command("soak:6:xxxx"), None);
        assert_eq!(parse_command("soak:6"), None);
        assert_eq!(parse_command("soak:6:!explode"), None);
        assert_eq!(parse_command("ping"), None);
    }

    #[test]
    fn records_arrivals_per_key_and_connection() {
        let chaos = Chaos::default();
        let a = chaos.soak_opened("k", None);
        let b = chaos.soak_opened("k", Some("7"));
        chaos.record("k", 1, a);
        chaos.record("k", 2, b);
        chaos.record("k", 2, b);
        chaos.soak_ended("k", a, "cut".into());
        let rec = chaos.report(Some("k")).soak.unwrap_or_default();
        let seqs: Vec<u64> = rec.arrivals.iter().map(|a| a.0).collect();
        assert_eq!(seqs, [1, 2, 2]);
        assert_eq!(rec.connections[1].messages, 2);
        assert_eq!(rec.connections[0].end.as_deref(), Some("cut"));
        assert!(rec.connections[1].end.is_none());
        assert_eq!(rec.connections[1].tag.as_deref(), Some("7"));
        assert_eq!(rec.connections[0].tag, None);
        chaos.reset_soak(Some("k"));
        assert!(chaos
            .report(Some("k"))
            .soak
            .unwrap_or_default()
            .arrivals
            .is_empty());
        let r = chaos.report(None);
        assert!(!r.running && r.soak.is_none() && r.counts["drop"] == 0);
    }

    #[test]
    fn refusal_and_stall_expire() {
        let chaos = Chaos::default();
        assert_eq!(chaos.refusal(), None);
        {
            let mut s = chaos.lock();
            s.refuse_until = Some(Instant::now() + Duration::from_secs(60));
            s.refuse_reset = true;
            s.stall_until = Some(Instant::now() + Duration::from_secs(60));
        }
        assert_eq!(chaos.refusal(), Some(Refuse::Reset));
        assert!(chaos.stall_remaining().is_some());
        chaos.calm();
        assert_eq!(chaos.refusal(), None);
        assert_eq!(chaos.stall_remaining(), None);
    }
}
