//! What the tests share: a server on a free loopback port, raw WebSocket clients, and a
//! tiny tether client built on the protocol's client engine (`tether_ws::core::continuity::
//! Client`). Every wait is bounded.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tether_server::{Config, Events, Server, ServerEvent};
use tether_ws::core::continuity::{
    parse_control, Client, ClientConfig, ClientInbound, Control, DataHeaderBuf, ResumeReason, Welcome, Window,
};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Error as WsError, Message as Ws};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The bound of every single wait.
pub const WAIT: Duration = Duration::from_secs(5);

/// A server with `cfg` serving on a free loopback port.
pub async fn start(cfg: Config) -> (Server, SocketAddr, Events) {
    let server = Server::new(cfg);
    let events = server.events().expect("events");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let s = server.clone();
    tokio::spawn(async move { s.serve(listener).await });
    (server, addr, events)
}

/// The echo application: every message goes back to its session; every event is also
/// forwarded to the test.
pub fn echo(server: &Server, mut events: Events) -> mpsc::UnboundedReceiver<ServerEvent> {
    let (tx, rx) = mpsc::unbounded_channel();
    let server = server.clone();
    tokio::spawn(async move {
        while let Some(ev) = events.recv().await {
            if let ServerEvent::Message { sid, payload } = &ev {
                let _ = server.send(sid, payload.clone());
            }
            let _ = tx.send(ev);
        }
    });
    rx
}

/// The next event, within [`WAIT`].
pub async fn next_event(rx: &mut mpsc::UnboundedReceiver<ServerEvent>) -> ServerEvent {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("an event in time")
        .expect("events open")
}

/// The next event from [`Events`] directly, within [`WAIT`].
pub async fn next_server_event(events: &mut Events) -> ServerEvent {
    tokio::time::timeout(WAIT, events.recv())
        .await
        .expect("an event in time")
        .expect("events open")
}

/// Opens a WebSocket to `url`, offering `protocols` (comma-separated; none if empty).
pub async fn connect_with(url: &str, protocols: &str, origin: Option<&str>) -> Result<Socket, WsError> {
    let mut req = url.into_client_request()?;
    if !protocols.is_empty() {
        req.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_str(protocols).expect("header"),
        );
    }
    if let Some(o) = origin {
        req.headers_mut()
            .insert("Origin", HeaderValue::from_str(o).expect("header"));
    }
    let (ws, _) = tokio::time::timeout(
        WAIT,
        tokio_tungstenite::connect_async_with_config(req, None, true),
    )
    .await
    .map_err(|_| WsError::Io(std::io::ErrorKind::TimedOut.into()))??;
    Ok(ws)
}

/// A WebSocket to `addr` offering `tether.v1`.
pub async fn raw(addr: SocketAddr) -> Socket {
    connect_with(&format!("ws://{addr}/"), "tether.v1", None)
        .await
        .expect("connect")
}

/// The HTTP status an upgrade was refused with.
pub fn refused_status(r: Result<Socket, WsError>) -> u16 {
    match r {
        Err(WsError::Http(resp)) => resp.status().as_u16(),
        Err(e) => panic!("refused without a status: {e}"),
        Ok(_) => panic!("not refused"),
    }
}

/// The next data or control frame (pings and pongs skipped), within [`WAIT`].
pub async fn next_frame(ws: &mut Socket) -> Ws {
    loop {
        let m = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a frame in time")
            .expect("socket open")
            .expect("no error");
        if !matches!(m, Ws::Ping(_) | Ws::Pong(_)) {
            return m;
        }
    }
}

/// Reads until the server closes: the close code (`None`: closed without a close frame).
/// Data frames before it are skipped.
pub async fn close_code(ws: &mut Socket) -> Option<u16> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => panic!("no close in time"),
            Ok(None) | Ok(Some(Err(_))) => return None,
            Ok(Some(Ok(Ws::Close(frame)))) => return frame.map(|f| u16::from(f.code)),
            Ok(Some(Ok(_))) => {}
        }
    }
}

/// Writes a `hello` and reads the `welcome`.
pub async fn hello(ws: &mut Socket, sid: Option<&str>, tok: Option<&str>, rx: u64) -> Welcome {
    let field = |v: Option<&str>| v.map_or("null".to_owned(), |s| format!("\"{s}\""));
    let text = format!(
        r#"{{"t":"hello","v":1,"sid":{},"tok":{},"rx":{rx}}}"#,
        field(sid),
        field(tok)
    );
    ws.send(Ws::text(text)).await.expect("send hello");
    let frame = next_frame(ws).await;
    let Ws::Text(t) = frame else {
        panic!("welcome expected, got {frame:?}")
    };
    match parse_control(t.as_bytes()) {
        Ok(Control::Welcome(w)) => w,
        other => panic!("welcome expected, got {other:?} from {t}"),
    }
}

/// What a [`TestClient::connect`] came to.
#[derive(Debug)]
pub struct Resume {
    pub resumed: bool,
    pub reason: Option<ResumeReason>,
    pub resent: usize,
}

/// A tether client on the protocol's client engine: an outbox, the window, acks on time,
/// replay after a resume. Payloads are text.
pub struct TestClient {
    pub engine: Client<String>,
    url: String,
    ws: Option<Socket>,
    outbox: VecDeque<String>,
    /// What the server's application sent, as delivered to this client, in order.
    pub received: Vec<String>,
    /// The code of the last close the server sent.
    pub closed: Option<u16>,
    /// Messages this client wrote again after a resume (the server had not taken them).
    pub replayed: usize,
    /// Data frames discarded as duplicates (the server replayed what had arrived).
    pub duplicates: usize,
    start: Instant,
}

impl TestClient {
    pub fn new(url: String) -> Self {
        Self::with_window(url, Window::default())
    }

    pub fn with_window(url: String, window: Window) -> Self {
        TestClient {
            engine: Client::new(ClientConfig {
                window,
                ..ClientConfig::default()
            }),
            url,
            ws: None,
            outbox: VecDeque::new(),
            received: Vec::new(),
            closed: None,
            replayed: 0,
            duplicates: 0,
            start: Instant::now(),
        }
    }

    fn now(&self) -> f64 {
        self.start.elapsed().as_secs_f64() * 1000.0
    }

    /// Where the next [`TestClient::connect`] goes (another node of a cluster).
    pub fn set_url(&mut self, url: String) {
        self.url = url;
    }

    /// The session's id and token, once welcomed.
    pub fn session(&self) -> Option<(String, String)> {
        self.engine.saved().map(|s| (s.sid, s.tok))
    }

    pub fn is_connected(&self) -> bool {
        self.ws.is_some()
    }

    /// Opens a connection, says hello, waits for the welcome; then writes the replay and
    /// what is in the outbox.
    pub async fn connect(&mut self) -> Resume {
        let mut ws = connect_with(&self.url, "tether.v1", None).await.expect("connect");
        let mut hello = String::new();
        self.engine.handle_opened(&mut hello);
        ws.send(Ws::text(hello)).await.expect("hello");
        self.ws = Some(ws);
        loop {
            let Some(frame) = self.read(WAIT).await else {
                panic!("no welcome (closed: {:?})", self.closed)
            };
            let (bytes, text) = match &frame {
                Ws::Text(t) => (t.as_bytes(), true),
                Ws::Binary(b) => (&b[..], false),
                _ => continue,
            };
            match self.engine.handle_frame(bytes, bytes.len(), text, self.now()) {
                Ok(ClientInbound::Welcomed(r)) => {
                    let replay: Vec<(u64, String)> =
                        self.engine.replay().map(|(s, p)| (s, p.clone())).collect();
                    self.replayed += replay.len();
                    for (seq, p) in replay {
                        let ack = self.engine.ack_to_send();
                        self.write_data(seq, ack, &p).await;
                    }
                    let resent = r.resend.len();
                    for (p, _) in r.resend.into_iter().rev() {
                        self.outbox.push_front(p);
                    }
                    self.flush().await;
                    return Resume {
                        resumed: r.resumed,
                        reason: r.reason,
                        resent,
                    };
                }
                other => panic!("welcome expected, got {other:?}"),
            }
        }
    }

    /// Queues a message; written when live and the window has room.
    pub fn send(&mut self, text: String) {
        self.outbox.push_back(text);
    }

    /// Writes what the window allows.
    pub async fn flush(&mut self) {
        self.write_outbox().await;
        if let Some(ws) = self.ws.as_mut() {
            if ws.flush().await.is_err() {
                self.cut();
            }
        }
    }

    /// Numbers and buffers what the window allows, without flushing the socket: a
    /// [`TestClient::cut`] then loses it in flight.
    pub async fn write_outbox(&mut self) {
        while let Some(front) = self.outbox.front() {
            let bytes = front.len() as u64;
            if self.ws.is_none() || !self.engine.has_room(bytes) {
                break;
            }
            let Some(p) = self.outbox.pop_front() else { break };
            let Ok((seq, ack)) = self.engine.push(p.clone(), bytes) else {
                self.outbox.push_front(p);
                break;
            };
            self.write_data(seq, ack, &p).await;
        }
    }

    async fn write_data(&mut self, seq: u64, ack: u64, payload: &str) {
        let mut frame = DataHeaderBuf::new(seq, ack).expect("header").as_str().to_owned();
        frame.push_str(payload);
        if let Some(ws) = self.ws.as_mut() {
            if ws.feed(Ws::text(frame)).await.is_err() {
                self.cut();
            }
        }
    }

    /// One frame within `within`, or `None` (time up, or the connection ended: see
    /// [`TestClient::closed`]).
    async fn read(&mut self, within: Duration) -> Option<Ws> {
        let ws = self.ws.as_mut()?;
        match tokio::time::timeout(within, ws.next()).await {
            Err(_) => None,
            Ok(Some(Ok(Ws::Close(frame)))) => {
                self.closed = frame.map(|f| u16::from(f.code));
                self.cut();
                None
            }
            Ok(Some(Ok(m))) => Some(m),
            Ok(None) | Ok(Some(Err(_))) => {
                self.cut();
                None
            }
        }
    }

    /// Reads, acks and writes for `dur`.
    pub async fn pump(&mut self, dur: Duration) {
        let end = Instant::now() + dur;
        while self.ws.is_some() {
            let now = Instant::now();
            if now >= end {
                break;
            }
            // Wake for the ack timer too.
            let mut wait = end - now;
            if let Some(at) = self.engine.poll_timeout() {
                let due = Duration::from_secs_f64(((at - self.now()) / 1000.0).max(0.0));
                wait = wait.min(due);
            }
            if let Some(frame) = self.read(wait).await {
                self.handle(frame);
            }
            if let Some(ack) = self.engine.poll_ack(self.now()) {
                if let Some(ws) = self.ws.as_mut() {
                    let _ = ws.feed(Ws::text(ack.as_str().to_owned())).await;
                }
            }
            self.flush().await;
        }
    }

    /// Pumps until `done` holds, at most `max`; whether it did.
    pub async fn pump_until(&mut self, max: Duration, mut done: impl FnMut(&Self) -> bool) -> bool {
        let end = Instant::now() + max;
        while !done(self) {
            if Instant::now() >= end || self.ws.is_none() {
                return done(self);
            }
            self.pump(Duration::from_millis(20)).await;
        }
        true
    }

    fn handle(&mut self, frame: Ws) {
        let (bytes, text) = match &frame {
            Ws::Text(t) => (t.as_bytes(), true),
            Ws::Binary(b) => (&b[..], false),
            _ => return,
        };
        match self.engine.handle_frame(bytes, bytes.len(), text, self.now()) {
            Ok(ClientInbound::Deliver { payload_at }) => {
                self.received
                    .push(String::from_utf8(bytes[payload_at..].to_vec()).expect("utf-8"));
            }
            Ok(ClientInbound::Nothing) => {
                if bytes.first() == Some(&b'D') {
                    self.duplicates += 1;
                }
            }
            other => panic!("the server sent a frame the client rejects: {other:?} ({frame:?})"),
        }
    }

    /// Drops the connection abruptly (no close frame): whatever was in flight is lost.
    pub fn cut(&mut self) {
        if self.ws.take().is_some() {
            self.engine.handle_closed();
        }
    }

    /// `close()`: `bye`, then close 1000.
    pub async fn bye(&mut self) {
        let mut bye = String::new();
        drop(self.engine.bye(&mut bye));
        if let Some(mut ws) = self.ws.take() {
            let _ = ws.send(Ws::text(bye)).await;
            let _ = ws.close(None).await;
        }
    }
}

/// Waits until `cond` holds, polling, at most [`WAIT`]; whether it did.
pub async fn eventually(mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + WAIT;
    while !cond() {
        if Instant::now() >= end {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    true
}
