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
use tether_ws::core::continuity::{ConnKey, Inbound, Sessions, Transmit, MAX_SEQ, MAX_WINDOW_MESSAGES};
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
}

/// The application's unread events, counted, so that readers wait when it falls behind.
pub(crate) struct Backlog {
    queued: AtomicUsize,
    pub(crate) room: Notify,
    capacity: usize,
}

struct State {
    sessions: Sessions<Message>,
    conns: HashMap<ConnKey, Conn>,
    events: Option<mpsc::UnboundedSender<ServerEvent>>,
    events_rx: Option<mpsc::UnboundedReceiver<ServerEvent>>,
    /// The deadline the timer task sleeps for.
    timer_at: Option<f64>,
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
                push(
                    &st.events,
                    &self.backlog,
                    ServerEvent::Opened {
                        sid,
                        resumed,
                        protocol,
                    },
                );
                Step::Welcomed
            }
            Ok(Inbound::Deliver { sid, payload_at }) => {
                let sid = match &conn.sid {
                    Some(mine) if **mine == *sid => Arc::clone(mine),
                    _ => Sid::from(sid),
                };
                if let Some(payload) = frame.tail(payload_at) {
                    push(&st.events, &self.backlog, ServerEvent::Message { sid, payload });
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
                    push(&st.events, &self.backlog, ev);
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

fn push(events: &Option<mpsc::UnboundedSender<ServerEvent>>, backlog: &Backlog, ev: ServerEvent) {
    if let Some(tx) = events {
        // Counted before it can be received, so the count never goes below zero.
        backlog.queued.fetch_add(1, Ordering::SeqCst);
        if tx.send(ev).is_err() {
            // Nobody reads (Events dropped, which may have zeroed the count meanwhile).
            let _ = backlog
                .queued
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| Some(n.saturating_sub(1)));
        }
    }
}

fn drain(st: &mut State, backlog: &Backlog) {
    while let Some(t) = st.sessions.poll_transmit() {
        route(&mut st.conns, t);
    }
    while let Some(ended) = st.sessions.poll_ended() {
        let ev = ServerEvent::Ended {
            sid: ended.sid.as_str().into(),
            reason: EndReason::from_engine(ended.reason),
            undelivered: ended.undelivered,
        };
        push(&st.events, backlog, ev);
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
        let backlog = Arc::new(Backlog {
            queued: AtomicUsize::new(0),
            room: Notify::new(),
            capacity: cfg.event_capacity.max(1),
        });
        let (shutdown, _) = watch::channel(false);
        Server {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    sessions: Sessions::new(sessions_cfg),
                    conns: HashMap::new(),
                    events: Some(events),
                    events_rx: Some(events_rx),
                    timer_at: None,
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

    /// Sessions in the table, connected or waiting for a resume.
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
        let ev = self.rx.recv().await;
        if ev.is_some() {
            self.taken();
        }
        ev
    }

    /// The next event if one is waiting.
    pub fn try_recv(&mut self) -> Option<ServerEvent> {
        let ev = self.rx.try_recv().ok();
        if ev.is_some() {
            self.taken();
        }
        ev
    }

    fn taken(&self) {
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
