//! The server: the session engine behind a mutex, the connections' outgoing queues, the
//! application's event queue, and the timer.
//!
//! Every engine call happens under the one lock, and what it produced (frames to write,
//! connections to close, events for the application) is handed on before the lock is
//! released, with calls that never wait: so frames reach each connection's queue, and events
//! the application's, in the engine's order.

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::Stream;
use tether_ws::core::continuity::SendError as EngineSendError;
use tether_ws::core::continuity::{parse_control, Change, Control, Import, ResumeReason};
use tether_ws::core::continuity::{ConnKey, Inbound, Sessions, Transmit, MAX_SEQ, MAX_WINDOW_MESSAGES};
use tether_ws::core::continuity::{CLOSE_SESSION_REFUSED, CLOSE_SUPERSEDED};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch, Notify};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::header::SEC_WEBSOCKET_PROTOCOL;
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::close;
use crate::config::{Config, Refusal};
use crate::message::{EndReason, Message, SendError, ServerEvent, Sid};
use crate::shared::{self, ClaimJob, HeldItem, Shadow, Shared};
use crate::store::{Claim, Outcome, SessionStore, State as Stored, StoreError, Write, WriteOp};
use crate::{conn, handshake};

/// A reference server: the session table, its limits, and the application's side of it.
/// Cheap to clone (an `Arc` inside); every clone is the same server.
#[derive(Clone)]
pub struct Server {
    pub(crate) inner: Arc<Inner>,
}

/// The application's events ([`Server::events`]), in order: an async [`Events::recv`] and
/// a [`Stream`]. Ends after [`Server::shutdown`]. Dropping it discards every event from
/// then on (and the server no longer waits for the application to read).
pub struct Events {
    rx: mpsc::UnboundedReceiver<ServerEvent>,
    backlog: Arc<Backlog>,
}

/// What a connection's writer is asked to do.
pub(crate) enum Out {
    Frame(WsMessage),
    Close(u16, &'static str),
}

/// What a frame from a client came to, for its connection's reader.
pub(crate) enum Step {
    /// Read on.
    Continue,
    /// The connection's first `hello` was answered (the hello timeout no longer applies).
    Welcomed,
    /// Stop reading: the connection is being closed (its writer has the close).
    Stop,
}

pub(crate) struct Inner {
    pub(crate) cfg: Config,
    pub(crate) ws_config: WebSocketConfig,
    state: Mutex<State>,
    start: Instant,
    timer: Arc<Notify>,
    timer_started: AtomicBool,
    open: AtomicUsize,
    next_conn: AtomicU64,
    pub(crate) backlog: Arc<Backlog>,
    pub(crate) shutdown: watch::Sender<bool>,
    /// With a shared store: resumes' claims, for the store task.
    claims: Option<mpsc::Sender<ClaimJob>>,
    /// The store task's inputs until it starts (with the first connection).
    store_task: Mutex<Option<StoreTask>>,
}

struct StoreTask {
    wake: Arc<Notify>,
    claims: mpsc::Receiver<ClaimJob>,
    taken: Option<mpsc::Receiver<(Sid, u64)>>,
}

/// The application's unread events, counted, so that readers wait when it falls behind.
pub(crate) struct Backlog {
    queued: AtomicUsize,
    pub(crate) room: Notify,
    capacity: usize,
    /// Events the application has taken, and of those the ones it is done with (it asked
    /// for the next): what a shared store may acknowledge.
    taken: AtomicU64,
    done: AtomicU64,
    /// The store task's wake-up, with a shared store.
    store_wake: Option<Arc<Notify>>,
}

impl Backlog {
    /// The application asks for the next event: it is done with the ones before.
    fn done_with_taken(&self, all: bool) {
        let taken = if all {
            u64::MAX
        } else {
            self.taken.load(Ordering::SeqCst)
        };
        if self.done.swap(taken, Ordering::SeqCst) != taken {
            if let Some(wake) = &self.store_wake {
                wake.notify_one();
            }
        }
    }
}

struct State {
    sessions: Sessions<Message>,
    conns: HashMap<ConnKey, Conn>,
    events: Option<mpsc::UnboundedSender<ServerEvent>>,
    events_rx: Option<mpsc::UnboundedReceiver<ServerEvent>>,
    /// The deadline the timer task sleeps for.
    timer_at: Option<f64>,
    /// With a shared store: what this node wrote, and what waits for writes.
    shared: Option<Shared>,
}

/// A connection, as the server sees it.
struct Conn {
    tx: mpsc::Sender<Out>,
    /// Closes the connection at once (its queue is full).
    kill: Option<oneshot::Sender<(u16, &'static str)>>,
    /// The session it carries, once welcomed.
    sid: Option<Sid>,
    protocol: Arc<str>,
    /// A close was queued: nothing more is read or written.
    closing: bool,
}

/// One counted connection; the count goes down when it drops.
pub(crate) struct Slot(Arc<Inner>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Milliseconds since the server was made: the engine's clock.
    pub(crate) fn now(&self) -> f64 {
        self.start.elapsed().as_micros() as f64 / 1000.0
    }

    /// Counts one more connection, if the limit allows.
    pub(crate) fn slot(self: &Arc<Self>) -> Option<Slot> {
        let max = self.cfg.max_connections;
        self.open
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| (n < max).then_some(n + 1))
            .ok()
            .map(|_| Slot(Arc::clone(self)))
    }

    /// Frames a connection may have waiting to be written: a window's worth of data, plus
    /// room for the `welcome`, acks and the close.
    fn outgoing_capacity(&self) -> usize {
        let window = self.cfg.sessions.window.messages.min(MAX_WINDOW_MESSAGES);
        usize::try_from(window).unwrap_or(65_536).saturating_add(64)
    }

    /// A new connection (upgraded, speaking `protocol`): its key, its outgoing queue and
    /// its kill switch. Starts the timer with the first one.
    pub(crate) fn register(
        self: &Arc<Self>,
        protocol: &str,
    ) -> (
        ConnKey,
        mpsc::Receiver<Out>,
        oneshot::Receiver<(u16, &'static str)>,
    ) {
        if !self.timer_started.swap(true, Ordering::SeqCst) {
            tokio::spawn(run_timer(Arc::downgrade(self), Arc::clone(&self.timer)));
            let task = self
                .store_task
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            if let Some(t) = task {
                let every = refresh_every(self.cfg.sessions.ttl_ms);
                tokio::spawn(shared::run(
                    Arc::downgrade(self),
                    t.wake,
                    t.claims,
                    t.taken,
                    every,
                ));
            }
        }
        let key = self.next_conn.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(self.outgoing_capacity());
        let (kill, killed) = oneshot::channel();
        let conn = Conn {
            tx,
            kill: Some(kill),
            sid: None,
            protocol: app_part(protocol).into(),
            closing: false,
        };
        self.lock().conns.insert(key, conn);
        (key, rx, killed)
    }

    /// Connection `key` is gone: its session (if any) waits for a resume until its TTL.
    pub(crate) fn unregister(&self, key: ConnKey) {
        let now = self.now();
        let mut st = self.lock();
        st.conns.remove(&key);
        st.sessions.handle_disconnect(key, now);
        self.settle(&mut st);
    }

    /// A frame from connection `key`; `None` when the application's event queue is full
    /// (wait for [`Backlog::room`] and try again).
    pub(crate) fn handle_frame(&self, key: ConnKey, frame: &Message) -> Option<Step> {
        let mut guard = self.lock();
        let st = &mut *guard;
        if st.events.is_some() && self.backlog.queued.load(Ordering::SeqCst) >= self.backlog.capacity {
            return None;
        }
        if st
            .shared
            .as_ref()
            .is_some_and(|sh| sh.held.len() >= shared::HELD_CAPACITY)
        {
            return None;
        }
        let Some(conn) = st.conns.get_mut(&key) else {
            return Some(Step::Stop);
        };
        if conn.closing {
            return Some(Step::Stop);
        }
        let bytes = frame.as_bytes();
        let mut random = [0u8; 32];
        // Only a `hello` (a control frame before the session) uses the random bytes.
        if conn.sid.is_none() && bytes.first() == Some(&b'{') && getrandom::fill(&mut random).is_err() {
            route_close(
                conn,
                close::INTERNAL_ERROR,
                "no randomness for the session's tokens",
            );
            return Some(Step::Stop);
        }
        let held = conn.sid.as_deref().map_or(0, |sid| st.sessions.held(sid));
        let now = self.now();
        let step = match st
            .sessions
            .handle_frame(key, bytes, frame.is_text(), now, &random)
        {
            Ok(Inbound::Welcomed { sid, resumed }) => {
                let sid: Sid = sid.into();
                conn.sid = Some(Arc::clone(&sid));
                let protocol = Arc::clone(&conn.protocol);
                let ev = ServerEvent::Opened {
                    sid,
                    resumed,
                    protocol,
                };
                push_counted(st, &self.backlog, ev);
                Step::Welcomed
            }
            Ok(Inbound::Deliver { sid, payload_at }) => {
                let sid = match &conn.sid {
                    Some(mine) if **mine == *sid => Arc::clone(mine),
                    _ => Sid::from(sid),
                };
                if let Some(payload) = frame.tail(payload_at) {
                    let number = st.shared.as_ref().map(|sh| sh.pushed);
                    let handed = push(
                        &st.events,
                        &self.backlog,
                        ServerEvent::Message {
                            sid: Arc::clone(&sid),
                            payload,
                        },
                    );
                    if let (Some(sh), Some(number)) = (st.shared.as_mut(), number) {
                        let rx = st.sessions.export(&sid).map_or(0, |e| e.rx);
                        if handed {
                            sh.pushed += 1;
                            sh.delivered.push_back((number, sid, rx));
                        } else if let Some(shadow) = sh.shadows.get_mut(&sid) {
                            // Nobody reads: nothing to wait for.
                            shadow.rx_done = rx;
                            sh.rx_moved.insert(sid);
                        }
                    }
                }
                Step::Continue
            }
            Ok(Inbound::Ended) => {
                if let Some(sid) = conn.sid.take() {
                    let ev = ServerEvent::Ended {
                        sid,
                        reason: EndReason::Bye,
                        undelivered: held,
                    };
                    push_counted(st, &self.backlog, ev);
                }
                Step::Continue
            }
            Ok(_) => Step::Continue,
            Err(_) => Step::Stop, // the engine queued the close (4002)
        };
        self.settle(st);
        Some(step)
    }

    /// Hands on what the engine produced: frames and closes to the connections, ended
    /// sessions to the application; wakes the timer if its deadline moved earlier.
    fn settle(&self, st: &mut State) {
        drain(st, &self.backlog);
        let next = st.sessions.poll_timeout();
        let earlier = match (next, st.timer_at) {
            (Some(n), Some(at)) => n < at,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if earlier {
            st.timer_at = next;
            self.timer.notify_one();
        }
    }
}

/// With a shared store: the node's side (src/shared.rs runs the task, these do the work
/// under the lock).
impl Inner {
    pub(crate) fn shared_store(&self) -> Option<Arc<dyn SessionStore>> {
        self.cfg.store.clone()
    }

    pub(crate) fn shared_wake(&self) -> Option<Arc<Notify>> {
        self.backlog.store_wake.clone()
    }

    pub(crate) fn is_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// How long a session lives in the store without a write or refresh: attached, the TTL
    /// plus two refreshes (so a dead node's sessions go); detached, the TTL plus one (so
    /// that this node, which ends it at the TTL, can write why first).
    fn expire_ms(&self, attached: bool) -> u64 {
        let ttl = self.cfg.sessions.ttl_ms;
        let every = refresh_every(ttl).as_millis() as u64;
        ttl.saturating_add(if attached { 2 * every } else { every })
            .max(1)
    }

    /// Whether connection `key`'s frame is a `hello` resuming a session: then the store
    /// must be asked first ([`Inner::claim`]).
    pub(crate) fn resume_of(&self, key: ConnKey, frame: &Message) -> Option<(Sid, String)> {
        if self.claims.is_none() || frame.as_bytes().first() != Some(&b'{') {
            return None;
        }
        if self.lock().conns.get(&key).is_none_or(|c| c.sid.is_some()) {
            return None;
        }
        match parse_control(frame.as_bytes()) {
            Ok(Control::Hello(h)) => Some((h.sid?.as_str().into(), h.tok?)),
            _ => None,
        }
    }

    /// Claims session `sid` for this node before its `hello` is handled: the session comes
    /// from the store (or the store says why not, which the `welcome` then tells). `Err`:
    /// the store could not be asked in time.
    pub(crate) async fn claim(&self, sid: Sid, tok: String) -> Result<(), StoreError> {
        let Some(claims) = &self.claims else { return Ok(()) };
        let (done, answer) = oneshot::channel();
        let unavailable = || StoreError::Unavailable("no answer in time".into());
        claims
            .send(ClaimJob { sid, tok, done })
            .await
            .map_err(|_| unavailable())?;
        match tokio::time::timeout(shared::CLAIM_TIMEOUT, answer).await {
            Ok(Ok(r)) => r,
            _ => Err(unavailable()),
        }
    }

    /// The next batch of writes (everything that changed since the last one), numbered;
    /// `None` when nothing waits.
    pub(crate) fn build_batch(&self) -> Option<(u64, Vec<Write>)> {
        let mut guard = self.lock();
        let st = &mut *guard;
        let sh = st.shared.as_mut()?;
        // What the application is done with.
        let done = self.backlog.done.load(Ordering::SeqCst);
        while sh.delivered.front().is_some_and(|(n, ..)| *n < done) {
            if let Some((_, sid, rx)) = sh.delivered.pop_front() {
                if let Some(shadow) = sh.shadows.get_mut(&sid) {
                    shadow.rx_done = shadow.rx_done.max(rx);
                }
                sh.rx_moved.insert(sid);
            }
        }
        let mut writes = Vec::new();
        let mut updated = std::mem::take(&mut sh.rx_moved);
        while let Some(change) = st.sessions.poll_change() {
            match change {
                Change::Updated(sid) => {
                    updated.insert(sid.as_str().into());
                }
                Change::Ended {
                    sid,
                    reason,
                    last_tok,
                } => {
                    let sid: Sid = sid.as_str().into();
                    updated.remove(&sid);
                    if let Some(shadow) = sh.shadows.remove(&sid) {
                        let op = WriteOp::End { reason, last_tok };
                        writes.push(Write {
                            sid,
                            gen: shadow.gen,
                            op,
                        });
                    }
                }
                Change::Removed(sid) => {
                    let sid: Sid = sid.as_str().into();
                    updated.remove(&sid);
                    if let Some(shadow) = sh.shadows.remove(&sid) {
                        writes.push(Write {
                            sid,
                            gen: shadow.gen,
                            op: WriteOp::Remove,
                        });
                    }
                }
                _ => {}
            }
        }
        for sid in updated {
            let Some(e) = st.sessions.export(&sid) else {
                continue;
            };
            let shadow = sh
                .shadows
                .entry(Arc::clone(&sid))
                .or_insert_with(|| Shadow::new(1, false, 0, 0));
            let state = Stored {
                tok: e.tok.to_owned(),
                prev_tok: e.prev_tok.map(str::to_owned),
                rx: e.rx.min(shadow.rx_done),
                acked: e.acked,
                first: shadow.sent_written + 1,
                messages: e
                    .messages_after(shadow.sent_written)
                    .map(|(m, _)| m.clone())
                    .collect(),
                expire_ms: self.expire_ms(e.attached),
                ttl_ms: (!e.attached).then_some(self.cfg.sessions.ttl_ms),
            };
            shadow.sent_written = e.sent;
            let op = if shadow.created {
                WriteOp::Update(state)
            } else {
                WriteOp::Create(state)
            };
            shadow.created = true;
            writes.push(Write {
                sid,
                gen: shadow.gen,
                op,
            });
        }
        // (Held items are in batch order: the last one says whether any waits for a batch.)
        if writes.is_empty() && sh.held.back().is_none_or(|h| h.batch < sh.landed) {
            return None;
        }
        let batch = sh.next_batch;
        sh.next_batch += 1;
        Some((batch, writes))
    }

    /// Batch `batch` landed with `outcomes`: sessions another node took or the store lost are
    /// let go here; what waited for the batch goes to the connections and the application.
    pub(crate) fn apply_batch(&self, batch: u64, writes: &[Write], outcomes: &[Outcome]) {
        let mut guard = self.lock();
        let st = &mut *guard;
        let Some(sh) = st.shared.as_mut() else { return };
        let mut released = Vec::new();
        for (w, outcome) in writes.iter().zip(outcomes) {
            match (outcome, &w.op) {
                (Outcome::Written, WriteOp::Create(state) | WriteOp::Update(state)) => {
                    if let Some(shadow) = sh.shadows.get_mut(&w.sid) {
                        if shadow.gen == w.gen {
                            shadow.rx_written = shadow.rx_written.max(state.rx);
                            let sent = state.first - 1 + state.messages.len() as u64;
                            shadow.sent_landed = shadow.sent_landed.max(sent);
                        }
                    }
                }
                (Outcome::Moved, _) => released.push((Arc::clone(&w.sid), false)),
                (Outcome::Lost, _) => released.push((Arc::clone(&w.sid), true)),
                _ => {}
            }
        }
        sh.landed = sh.landed.max(batch + 1);
        for (sid, lost) in released {
            self.let_go(st, &sid, lost, true);
        }
        self.release_held(st);
        self.settle(st);
    }

    /// Session `sid` is no longer this node's: another took it (4001), or the store lost it
    /// (4003; the client's resume then hears `unknown`). With `tell`, the application hears
    /// `Moved` or `Ended { reason: Lost }`.
    fn let_go(&self, st: &mut State, sid: &Sid, lost: bool, tell: bool) {
        let Some(sh) = st.shared.as_mut() else { return };
        let landed = sh.shadows.get(sid).map_or(0, |s| s.sent_landed);
        sh.purge(sid);
        let undelivered = st.sessions.held(sid);
        let unsent = st.sessions.sent(sid).map_or(0, |sent| {
            usize::try_from(sent.saturating_sub(landed)).unwrap_or(usize::MAX)
        });
        let had = if lost {
            st.sessions
                .release(sid, CLOSE_SESSION_REFUSED, "session lost by the store")
        } else {
            st.sessions
                .release(sid, CLOSE_SUPERSEDED, "superseded by a resume on another node")
        };
        if had && tell {
            let ev = if lost {
                ServerEvent::Ended {
                    sid: Arc::clone(sid),
                    reason: EndReason::Lost,
                    undelivered,
                }
            } else {
                ServerEvent::Moved {
                    sid: Arc::clone(sid),
                    unsent,
                }
            };
            push_counted(st, &self.backlog, ev);
        }
    }

    /// Hands on every held item whose writes have landed, in order.
    fn release_held(&self, st: &mut State) {
        let mut released = false;
        while let Some(item) = st.shared.as_mut().and_then(Shared::pop_ready) {
            released = true;
            match item {
                HeldItem::Transmit(t) => route(&mut st.conns, t),
                HeldItem::Event(ev) => push_counted(st, &self.backlog, ev),
            }
        }
        if released {
            self.backlog.room.notify_waiters();
        }
    }

    /// The answer to a resume's claim, applied before its `hello` is handled.
    pub(crate) fn apply_claim(&self, sid: &Sid, tok: &str, claim: Claim) {
        let now = self.now();
        let me = self.shared_node();
        let mut guard = self.lock();
        let st = &mut *guard;
        let local = st.sessions.export(sid).is_some();
        match claim {
            Claim::Taken(c) => {
                let current = st
                    .shared
                    .as_ref()
                    .and_then(|sh| sh.shadows.get(sid))
                    .is_some_and(|s| s.gen + 1 == c.gen && c.previous_owner == me);
                if local && current {
                    if let Some(s) = st.shared.as_mut().and_then(|sh| sh.shadows.get_mut(sid)) {
                        s.gen = c.gen;
                    }
                } else {
                    if local {
                        // (It comes back here at once: the application hears `Opened`.)
                        self.let_go(st, sid, false, false);
                    }
                    let sent = c.acked + c.messages.len() as u64;
                    let import = Import {
                        tok: tok.to_owned(),
                        rx: c.rx,
                        acked: c.acked,
                        messages: c
                            .messages
                            .into_iter()
                            .map(|m| {
                                let bytes = m.len() as u64;
                                (m, bytes)
                            })
                            .collect(),
                    };
                    if st.sessions.import(sid, import, now).is_ok() {
                        if let Some(sh) = st.shared.as_mut() {
                            sh.shadows
                                .insert(Arc::clone(sid), Shadow::new(c.gen, true, c.rx, sent));
                        }
                    }
                }
            }
            Claim::Unknown => {
                if local {
                    self.let_go(st, sid, true, true);
                }
            }
            Claim::Auth => {
                if local && st.sessions.knows_token(sid, tok) {
                    // Our copy still takes a token the store no longer does: it is stale.
                    self.let_go(st, sid, false, true);
                }
                if !st.sessions.knows_token(sid, tok) {
                    st.sessions.note_ended(sid, ResumeReason::Auth, "");
                }
            }
            Claim::Ended(reason) => {
                if local {
                    self.let_go(st, sid, true, true);
                }
                st.sessions.note_ended(sid, reason, tok);
            }
        }
        self.settle(st);
    }

    /// Another node claimed session `sid` under generation `gen`.
    pub(crate) fn apply_taken(&self, sid: &Sid, gen: u64) {
        let mut guard = self.lock();
        let st = &mut *guard;
        let older = st
            .shared
            .as_ref()
            .and_then(|sh| sh.shadows.get(sid))
            .is_some_and(|s| s.gen < gen);
        if older {
            self.let_go(st, sid, false, true);
            self.settle(st);
        }
    }

    /// The sessions attached here, for a refresh, and how long they should live.
    pub(crate) fn attached_sessions(&self) -> (Vec<Sid>, u64) {
        let st = self.lock();
        let sids = match &st.shared {
            Some(sh) => sh
                .shadows
                .keys()
                .filter(|sid| st.sessions.export(sid).is_some_and(|e| e.attached))
                .cloned()
                .collect(),
            None => Vec::new(),
        };
        (sids, self.expire_ms(true))
    }

    fn shared_node(&self) -> String {
        self.cfg
            .store
            .as_ref()
            .map(|s| s.node().to_owned())
            .unwrap_or_default()
    }
}

/// How often a node refreshes the sessions it carries: a third of the TTL, from 200 ms to
/// 10 s.
fn refresh_every(ttl_ms: u64) -> Duration {
    Duration::from_millis((ttl_ms / 3).clamp(200, 10_000))
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The timer task holds a weak reference: wake it so that it sees the server gone.
        self.timer.notify_one();
    }
}

/// Resolves once [`Server::shutdown`] was called.
pub(crate) async fn shut_down(down: &mut watch::Receiver<bool>) {
    let _ = down.wait_for(|&d| d).await;
}

/// `"chat"` for `tether.v1+chat`, `""` for `tether.v1`.
fn app_part(selected: &str) -> &str {
    tether_ws::core::continuity::app_protocol(selected).unwrap_or("")
}

/// Hands `ev` to the application; false if nobody reads.
fn push(events: &Option<mpsc::UnboundedSender<ServerEvent>>, backlog: &Backlog, ev: ServerEvent) -> bool {
    let Some(tx) = events else { return false };
    // Counted before it can be received, so the count never goes below zero.
    backlog.queued.fetch_add(1, Ordering::SeqCst);
    if tx.send(ev).is_err() {
        // Nobody reads (Events dropped, which may have zeroed the count meanwhile).
        let _ = backlog
            .queued
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| Some(n.saturating_sub(1)));
        return false;
    }
    true
}

/// Hands on an event; with a shared store, counts it (the application's "done" is counted
/// in events).
fn push_counted(st: &mut State, backlog: &Backlog, ev: ServerEvent) {
    if push(&st.events, backlog, ev) {
        if let Some(sh) = st.shared.as_mut() {
            sh.pushed += 1;
        }
    }
}

fn drain(st: &mut State, backlog: &Backlog) {
    while let Some(t) = st.sessions.poll_transmit() {
        match st.shared.as_mut() {
            // What a frame states must be in the store first.
            Some(sh) => {
                let conn = match &t {
                    Transmit::Text { conn, .. }
                    | Transmit::Data { conn, .. }
                    | Transmit::Close { conn, .. } => *conn,
                };
                let sid = st.conns.get(&conn).and_then(|c| c.sid.clone());
                let rx = sid
                    .as_deref()
                    .and_then(|sid| st.sessions.export(sid))
                    .map_or(0, |e| e.rx);
                sh.hold(HeldItem::Transmit(t), sid, rx);
            }
            None => route(&mut st.conns, t),
        }
    }
    while let Some(ended) = st.sessions.poll_ended() {
        let sid: Sid = ended.sid.as_str().into();
        let ev = ServerEvent::Ended {
            sid: Arc::clone(&sid),
            reason: EndReason::from_engine(ended.reason),
            undelivered: ended.undelivered,
        };
        match st.shared.as_mut() {
            // Told once the store has it ended (not if another node took it meanwhile).
            Some(sh) => sh.hold(HeldItem::Event(ev), Some(sid), 0),
            None => push_counted(st, backlog, ev),
        }
    }
    if let Some(sh) = &st.shared {
        if sh.pending() {
            sh.wake.notify_one();
        }
    }
}

/// Queues a transmit on its connection. A connection whose queue is full does not read
/// what it is sent: it is closed at once (1013), and nothing more is written to it, so the
/// client never sees a gap (its resume replays what was lost).
fn route(conns: &mut HashMap<ConnKey, Conn>, t: Transmit<Message>) {
    let (key, out) = match t {
        Transmit::Text { conn, text } => (conn, Out::Frame(WsMessage::Text(text.into()))),
        Transmit::Data {
            conn,
            header,
            payload,
        } => (conn, Out::Frame(data_frame(header.as_str(), &payload))),
        Transmit::Close { conn, code, reason } => (conn, Out::Close(code, reason)),
    };
    let Some(conn) = conns.get_mut(&key) else {
        return;
    };
    if conn.closing {
        return;
    }
    let closing = matches!(out, Out::Close(..));
    match conn.tx.try_send(out) {
        Ok(()) => conn.closing = closing,
        Err(mpsc::error::TrySendError::Full(Out::Close(code, reason))) => route_close(conn, code, reason),
        Err(mpsc::error::TrySendError::Full(_)) => {
            route_close(conn, close::TOO_SLOW, "too slow: not reading");
        }
        Err(mpsc::error::TrySendError::Closed(_)) => conn.closing = true,
    }
    if conn.closing {
        conn.sid = None;
    }
}

/// Closes `conn` at once with `code`, ahead of whatever is queued.
fn route_close(conn: &mut Conn, code: u16, reason: &'static str) {
    conn.closing = true;
    conn.sid = None;
    if let Some(kill) = conn.kill.take() {
        let _ = kill.send((code, reason));
    }
}

/// One data frame: the header, then the payload, of the payload's kind.
fn data_frame(header: &str, payload: &Message) -> WsMessage {
    match payload {
        Message::Text(t) => {
            let mut s = String::with_capacity(header.len() + t.len());
            s.push_str(header);
            s.push_str(t);
            WsMessage::Text(s.into())
        }
        Message::Binary(b) => {
            let mut v = Vec::with_capacity(header.len() + b.len());
            v.extend_from_slice(header.as_bytes());
            v.extend_from_slice(b);
            WsMessage::Binary(v.into())
        }
    }
}

/// The server's one timer: sleeps until the engine's next deadline (an ack due, a TTL),
/// or until an engine call moved it earlier.
async fn run_timer(inner: Weak<Inner>, wake: Arc<Notify>) {
    loop {
        let deadline = {
            let Some(inner) = inner.upgrade() else { return };
            let mut st = inner.lock();
            let next = st.sessions.poll_timeout();
            st.timer_at = next;
            // Whole ms since the start; an instant past what the clock can hold: never.
            next.map(|at| inner.start.checked_add(Duration::from_millis(at as u64)))
        };
        match deadline {
            Some(Some(at)) => {
                tokio::select! {
                    () = tokio::time::sleep_until(at.into()) => {}
                    () = wake.notified() => continue,
                }
            }
            _ => {
                wake.notified().await;
                continue;
            }
        }
        let Some(inner) = inner.upgrade() else { return };
        let now = inner.now();
        let mut st = inner.lock();
        st.sessions.handle_timeout(now);
        drain(&mut st, &inner.backlog);
    }
}

impl Server {
    /// A server with `cfg`'s limits. Nothing runs until a connection comes
    /// ([`Server::serve`], [`Server::accept`], the axum route). Values a `welcome` cannot
    /// state are clamped: the window to 1..=65,536 messages and 1..=2^53−1 bytes, the TTL
    /// to 2^53−1 ms; and at least one session.
    pub fn new(mut cfg: Config) -> Server {
        let s = &mut cfg.sessions;
        s.max_sessions = s.max_sessions.max(1);
        s.ttl_ms = s.ttl_ms.min(MAX_SEQ);
        s.window.messages = s.window.messages.clamp(1, MAX_WINDOW_MESSAGES);
        s.window.bytes = s.window.bytes.clamp(1, MAX_SEQ);
        let sessions_cfg = cfg.sessions;
        let frame_limit = cfg
            .max_message_bytes
            .saturating_add(tether_ws::core::continuity::MAX_DATA_HEADER_BYTES)
            .max(tether_ws::core::continuity::MAX_CONTROL_BYTES);
        // Small buffers (16 KiB each way): many mostly idle connections, not a few busy ones.
        let ws_config = WebSocketConfig::default()
            .read_buffer_size(16 * 1024)
            .write_buffer_size(16 * 1024)
            .max_message_size(Some(frame_limit))
            .max_frame_size(Some(frame_limit));
        let (events, events_rx) = mpsc::unbounded_channel();
        let wake = cfg.store.as_ref().map(|_| Arc::new(Notify::new()));
        let backlog = Arc::new(Backlog {
            queued: AtomicUsize::new(0),
            room: Notify::new(),
            capacity: cfg.event_capacity.max(1),
            taken: AtomicU64::new(0),
            done: AtomicU64::new(0),
            store_wake: wake.clone(),
        });
        let (shutdown, _) = watch::channel(false);
        let mut sessions = Sessions::new(sessions_cfg);
        let (mut shared, mut claims, mut store_task) = (None, None, None);
        if let (Some(store), Some(wake)) = (cfg.store.clone(), wake) {
            sessions.track_changes();
            let (tx, rx) = mpsc::channel(1024);
            claims = Some(tx);
            store_task = Some(StoreTask {
                wake: Arc::clone(&wake),
                claims: rx,
                taken: store.taken(),
            });
            shared = Some(Shared::new(wake));
        }
        Server {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    sessions,
                    conns: HashMap::new(),
                    events: Some(events),
                    events_rx: Some(events_rx),
                    timer_at: None,
                    shared,
                }),
                cfg,
                ws_config,
                start: Instant::now(),
                timer: Arc::new(Notify::new()),
                timer_started: AtomicBool::new(false),
                open: AtomicUsize::new(0),
                next_conn: AtomicU64::new(1),
                backlog,
                shutdown,
                claims,
                store_task: Mutex::new(store_task),
            }),
        }
    }

    /// The settings in force.
    pub fn config(&self) -> &Config {
        &self.inner.cfg
    }

    /// The application's events; `Some` the first time only. Until it is taken, events
    /// wait for it (and past [`Config::event_capacity`] the server stops reading).
    pub fn events(&self) -> Option<Events> {
        let rx = self.inner.lock().events_rx.take()?;
        Some(Events {
            rx,
            backlog: Arc::clone(&self.inner.backlog),
        })
    }

    /// Sends `msg` to session `sid`: written now if its client is connected and the window
    /// has room, else queued; delivered once and in order, even across the client's
    /// reconnects, for as long as the session lives. `Err` for an unknown or ended
    /// session, or when the session's queue is full (it is then ended: `"overflow"`).
    /// With a shared store ([`Config::store`]) only the sessions this node carries are
    /// known here: one that moved to another node is `Err` (after [`ServerEvent::Moved`]).
    pub fn send(&self, sid: &str, msg: impl Into<Message>) -> Result<(), SendError> {
        let msg = msg.into();
        let bytes = msg.len() as u64;
        let mut st = self.inner.lock();
        let sent = st.sessions.send(sid, msg, bytes);
        self.inner.settle(&mut st);
        sent.map_err(|e| match e {
            EngineSendError::Overflow => SendError::Overflow,
            _ => SendError::UnknownSession,
        })
    }

    /// Messages the application has sent session `sid` in all (delivered and held), `None`
    /// for a session this server does not have. The next message sent will be number
    /// `sent + 1` of the session's stream, on this node or any other it moves to.
    pub fn sent(&self, sid: &str) -> Option<u64> {
        self.inner.lock().sessions.sent(sid)
    }

    /// Sessions in the table, connected or waiting for a resume (with a shared store, those
    /// this node carries).
    pub fn sessions(&self) -> usize {
        self.inner.lock().sessions.len()
    }

    /// Messages session `sid` holds for its client (sent, not yet acknowledged, and
    /// queued); 0 for an unknown session.
    pub fn held(&self, sid: &str) -> usize {
        self.inner.lock().sessions.held(sid)
    }

    /// Connections open (counted against [`Config::max_connections`]).
    pub fn connections(&self) -> usize {
        self.inner.open.load(Ordering::SeqCst)
    }

    /// Accepts connections on `listener` until [`Server::shutdown`], each in its own task.
    /// A connection past [`Config::max_connections`] is dropped at once; an accept error
    /// (say, out of file descriptors) pauses the loop for 50 ms.
    pub async fn serve(&self, listener: TcpListener) -> io::Result<()> {
        let mut down = self.inner.shutdown.subscribe();
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((tcp, _)) => {
                        let _ = tcp.set_nodelay(true);
                        let server = self.clone();
                        tokio::spawn(async move { server.accept(tcp).await });
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                },
                () = shut_down(&mut down) => return Ok(()),
            }
        }
    }

    /// Serves one connection on `stream` (a TCP stream you accepted, or TLS over one):
    /// the HTTP upgrade (refused with 400, 401/403 or the auth hook's status), then the
    /// session, until the connection ends. Counted against [`Config::max_connections`]
    /// (past it, `stream` is dropped at once).
    pub async fn accept<S>(&self, stream: S)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        if self.is_shut_down() {
            return;
        }
        let Some(slot) = self.inner.slot() else { return };
        let deadline = self.hello_deadline();
        let mut selected = None;
        // The shape tungstenite's `Callback` wants (its error is the whole HTTP response).
        #[allow(clippy::result_large_err)]
        let callback = |req: &Request, mut resp: Response| -> Result<Response, ErrorResponse> {
            let token = handshake::check(&self.inner.cfg, req).and_then(|token| {
                HeaderValue::from_str(&token)
                    .map(|v| (token, v))
                    .map_err(|_| Refusal::new(StatusCode::BAD_REQUEST, "bad subprotocol"))
            });
            match token {
                Ok((token, value)) => {
                    resp.headers_mut().insert(SEC_WEBSOCKET_PROTOCOL, value);
                    selected = Some(token);
                    Ok(resp)
                }
                Err(refusal) => {
                    let mut err = ErrorResponse::new(Some(refusal.reason));
                    *err.status_mut() = refusal.status;
                    Err(err)
                }
            }
        };
        let upgrade =
            tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(self.inner.ws_config));
        let Ok(Ok(ws)) = tokio::time::timeout_at(deadline, upgrade).await else {
            return;
        };
        let Some(protocol) = selected else { return };
        conn::run(Arc::clone(&self.inner), ws, protocol, deadline, slot).await;
    }

    /// When a connection accepted now must have said hello.
    pub(crate) fn hello_deadline(&self) -> tokio::time::Instant {
        let now = tokio::time::Instant::now();
        let timeout = Duration::from_millis(self.inner.cfg.hello_timeout_ms);
        // A timeout past what the clock holds: a year (in effect, never).
        now.checked_add(timeout)
            .or_else(|| now.checked_add(Duration::from_secs(365 * 86_400)))
            .unwrap_or(now)
    }

    /// Stops the server: [`Server::serve`] returns, every connection is closed with 1001,
    /// new ones are refused, and [`Events`] ends once drained. The sessions are kept in
    /// memory until the server is dropped (a shut-down server stays shut).
    pub fn shutdown(&self) {
        self.inner.shutdown.send_replace(true);
        self.inner.lock().events = None;
    }

    /// Whether [`Server::shutdown`] was called.
    pub fn is_shut_down(&self) -> bool {
        *self.inner.shutdown.borrow()
    }
}

impl Events {
    /// The next event; `None` once the server is shut down and every event was read.
    pub async fn recv(&mut self) -> Option<ServerEvent> {
        self.backlog.done_with_taken(false);
        let ev = self.rx.recv().await;
        if ev.is_some() {
            self.taken();
        }
        ev
    }

    /// The next event if one is waiting.
    pub fn try_recv(&mut self) -> Option<ServerEvent> {
        self.backlog.done_with_taken(false);
        let ev = self.rx.try_recv().ok();
        if ev.is_some() {
            self.taken();
        }
        ev
    }

    fn taken(&self) {
        self.backlog.taken.fetch_add(1, Ordering::SeqCst);
        let before = self
            .backlog
            .queued
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| Some(n.saturating_sub(1)))
            .unwrap_or(0);
        if before >= self.backlog.capacity {
            self.backlog.room.notify_waiters();
        }
    }
}

impl Stream for Events {
    type Item = ServerEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<ServerEvent>> {
        self.backlog.done_with_taken(false);
        let polled = self.rx.poll_recv(cx);
        if let Poll::Ready(Some(_)) = &polled {
            self.taken();
        }
        polled
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        // No one reads any more: refuse further events, forget the unread ones, and let the
        // readers that wait for room go on.
        self.rx.close();
        while self.rx.try_recv().is_ok() {}
        self.backlog.queued.store(0, Ordering::SeqCst);
        self.backlog.done_with_taken(true);
        self.backlog.room.notify_waiters();
    }
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("connections", &self.connections())
            .field("sessions", &self.sessions())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events").finish_non_exhaustive()
    }
}
