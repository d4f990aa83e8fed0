//! One connection, once upgraded: a reader that feeds the engine, a writer that empties the
//! connection's bounded queue, and the close at the end.

use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};
use tokio_tungstenite::WebSocketStream;

use crate::close;
use crate::message::Message;
use crate::server::{shut_down, Inner, Out, Slot, Step};

/// Frames written before a flush.
const BATCH: usize = 64;

/// A close to write: code and reason.
type Closing = Option<(u16, &'static str)>;

/// Runs connection `ws` (which selected `protocol`) until it ends. `deadline`: when its
/// `hello` must have come.
pub(crate) async fn run<S>(
    inner: Arc<Inner>,
    ws: WebSocketStream<S>,
    protocol: String,
    deadline: Instant,
    slot: Slot,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let _slot = slot;
    let mut down = inner.shutdown.subscribe();
    let (key, rx, killed) = inner.register(&protocol);
    let (mut sink, mut stream) = ws.split();
    let write_timeout = Duration::from_millis(inner.cfg.write_timeout_ms);
    let idle = (inner.cfg.idle_timeout_ms > 0).then(|| Duration::from_millis(inner.cfg.idle_timeout_ms));
    let close = {
        let reader = read(&inner, key, &mut stream, deadline, idle);
        let writer = write(&mut sink, rx, killed, write_timeout, idle.map(|d| d / 2));
        tokio::select! {
            c = reader => c,
            c = writer => c,
            () = shut_down(&mut down) => Some((close::GOING_AWAY, "server shutting down")),
        }
    };
    inner.unregister(key);
    let goodbye = async {
        if let Some((code, reason)) = close {
            let frame = CloseFrame {
                code: CloseCode::from(code),
                reason: reason.into(),
            };
            let _ = sink.send(WsMessage::Close(Some(frame))).await;
        }
        let _ = sink.close().await;
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), goodbye).await;
}

/// Reads frames and hands them to the engine, in order, waiting while the application's
/// event queue is full. Returns the close to write, if the reader decides it.
async fn read<S>(
    inner: &Inner,
    key: u64,
    stream: &mut SplitStream<WebSocketStream<S>>,
    deadline: Instant,
    idle: Option<Duration>,
) -> Closing
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut welcomed = false;
    loop {
        let next = if welcomed {
            match idle {
                // Any frame counts, the pong to our ping included.
                Some(idle) => match tokio::time::timeout(idle, stream.next()).await {
                    Ok(next) => next,
                    Err(_) => return Some((close::GOING_AWAY, "idle: no frame, no pong")),
                },
                None => stream.next().await,
            }
        } else {
            match tokio::time::timeout_at(deadline, stream.next()).await {
                Ok(next) => next,
                Err(_) => return Some((close::NO_HELLO, "no hello in time")),
            }
        };
        let frame = match next {
            None | Some(Ok(WsMessage::Close(_))) => return None,
            Some(Ok(WsMessage::Text(t))) => Message::Text(t),
            Some(Ok(WsMessage::Binary(b))) => Message::Binary(b),
            // Pings are answered by tungstenite; pongs and raw frames mean nothing here.
            Some(Ok(_)) => continue,
            Some(Err(WsError::Capacity(_))) => return Some((close::MESSAGE_TOO_BIG, "message too big")),
            Some(Err(WsError::Utf8(_))) => return Some((close::INVALID_UTF8, "text frame not UTF-8")),
            Some(Err(WsError::Protocol(_))) => {
                return Some((close::WS_PROTOCOL_ERROR, "WebSocket protocol error"))
            }
            Some(Err(_)) => return None,
        };
        // With a shared store, a resume first claims its session from the store.
        if let Some((sid, tok)) = inner.resume_of(key, &frame) {
            if inner.claim(sid, tok).await.is_err() {
                return Some((close::TRY_AGAIN_LATER, "session store unavailable"));
            }
        }
        let step = loop {
            let room = inner.backlog.room.notified();
            tokio::pin!(room);
            room.as_mut().enable();
            if let Some(step) = inner.handle_frame(key, &frame) {
                break step;
            }
            room.await;
        };
        match step {
            Step::Continue => {}
            Step::Welcomed => welcomed = true,
            // The close is the writer's (queued in order, or the kill switch): read no more.
            Step::Stop => return std::future::pending().await,
        }
    }
}

/// Writes the connection's queue, a batch at a time, until a close is queued or the kill
/// switch fires; a batch that takes longer than `write_timeout` closes with 1013.
async fn write<S>(
    sink: &mut SplitSink<WebSocketStream<S>, WsMessage>,
    mut rx: mpsc::Receiver<Out>,
    mut killed: oneshot::Receiver<(u16, &'static str)>,
    write_timeout: Duration,
    ping_after: Option<Duration>,
) -> Closing
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    loop {
        let silence = async {
            match ping_after {
                Some(after) => tokio::time::sleep(after).await,
                None => std::future::pending().await,
            }
        };
        let first = tokio::select! {
            biased;
            k = &mut killed => return k.ok(),
            out = rx.recv() => out?,
            // Nothing written for a while: a ping, which the client's browser answers.
            () = silence => Out::Frame(WsMessage::Ping(Default::default())),
        };
        let batch = async {
            let mut next = Some(first);
            let mut written = 0;
            while let Some(out) = next.take() {
                match out {
                    Out::Frame(m) => sink.feed(m).await?,
                    Out::Close(code, reason) => return Ok(Some((code, reason))),
                }
                written += 1;
                if written < BATCH {
                    next = rx.try_recv().ok();
                }
            }
            sink.flush().await?;
            Ok::<_, WsError>(None)
        };
        tokio::select! {
            biased;
            k = &mut killed => return k.ok(),
            r = tokio::time::timeout(write_timeout, batch) => match r {
                Ok(Ok(None)) => {}
                Ok(Ok(Some(close))) => return Some(close),
                Ok(Err(_)) => return None,
                Err(_) => return Some((close::TOO_SLOW, "too slow: a write stalled")),
            },
        }
    }
}
