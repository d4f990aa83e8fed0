//! One WebSocket connection: handshake, then the endpoint's behaviour.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::{sleep, timeout};
use tokio_tungstenite::tungstenite::protocol::frame::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

use crate::chaos::{self, Refuse};
use crate::conns::Registration;
use crate::endpoint::{Endpoint, Target};
use crate::handshake::{self, Refusal};
use crate::hold;
use crate::stats::Stats;

type Ws = WebSocketStream<TcpStream>;

/// Big enough for the large-message tests (the default 64 MiB / 16 MiB would cut them).
const MAX_MESSAGE: usize = 256 * 1024 * 1024;
/// How long `/close` waits for the client's close frame before dropping the socket.
const CLOSE_GRACE: Duration = Duration::from_secs(5);
/// A single text frame, FIN set, unmasked (server to client), 2-byte payload that is not
/// valid UTF-8 ("\xC3(": a lead byte followed by a non-continuation byte).
const BAD_UTF8_FRAME: [u8; 4] = [0x81, 0x02, 0xC3, 0x28];

/// Serves one accepted TCP connection until it ends. Never panics on client input: every
/// failure is logged (unless it is an ordinary disconnect) and the connection dropped.
pub async fn serve(mut stream: TcpStream, reg: &Registration, stats: &Arc<Stats>) {
    let id = reg.id();
    let upgrade = match handshake::read_request(&mut stream).await {
        Ok(up) => up,
        Err(Refusal::BadRequest(why)) => {
            eprintln!("ws#{id}: refused: {why}");
            let _ = handshake::refuse(&mut stream, "400 Bad Request", &why).await;
            return;
        }
        Err(Refusal::Gone) => return,
    };
    if let Some(how) = stats.chaos().refusal() {
        if how == Refuse::Unavailable {
            let _ = handshake::refuse(&mut stream, "503 Service Unavailable", "chaos: refusing").await;
        }
        return;
    }
    let Target { key, endpoint } = Target::parse(&upgrade.target);
    let Some(endpoint) = endpoint else {
        eprintln!("ws#{id}: 404 for {}", upgrade.target);
        let _ = handshake::refuse(&mut stream, "404 Not Found", "unknown endpoint").await;
        return;
    };

    if let Endpoint::Slow { delay } = endpoint {
        sleep(delay).await;
    }
    // Every endpoint selects the first offered subprotocol, so tests can check
    // `ws.protocol` anywhere; `/proto` additionally reports it in a message.
    let protocol = upgrade.protocols.first().cloned().unwrap_or_default();
    let selected = Some(protocol.as_str()).filter(|p| !p.is_empty());
    // Count the connection before the 101 goes out, so a test that reads /stats from its
    // `onopen` handler always sees it.
    let _open = stats.opened(&key, &protocol);
    reg.set_key(&key);
    let _ = stream.set_nodelay(true);
    if handshake::accept(&mut stream, &upgrade.accept_key, selected)
        .await
        .is_err()
    {
        return;
    }

    let conn = Conn {
        stats: stats.as_ref(),
        key: &key,
    };
    if let Err(e) = run(stream, upgrade.leftover, &endpoint, &conn, &protocol).await {
        if !is_disconnect(&e) {
            eprintln!("ws#{id} {}: {e}", upgrade.target);
        }
    }
}

/// Runs the endpoint on an open connection.
async fn run(
    mut stream: TcpStream,
    leftover: Vec<u8>,
    endpoint: &Endpoint,
    conn: &Conn<'_>,
    protocol: &str,
) -> Result<(), WsError> {
    match endpoint {
        Endpoint::Stall => {
            hold::until_peer_closes(&stream).await;
            return Ok(());
        }
        // tungstenite will not build an invalid text frame, so write it raw first.
        Endpoint::BadUtf8 => stream.write_all(&BAD_UTF8_FRAME).await?,
        _ => {}
    }

    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_MESSAGE));
    let mut ws = WebSocketStream::from_partially_read(stream, leftover, Role::Server, Some(config)).await;
    if *endpoint == Endpoint::Soak {
        return chaos::soak(ws, conn.stats.chaos(), conn.key).await;
    }

    // Messages sent right after open.
    match *endpoint {
        Endpoint::Proto => ws.send(Message::text(format!("protocol:{protocol}"))).await?,
        Endpoint::Push { n, size, binary } => {
            // Queue them all and flush once: much faster than a flush per message.
            for i in 0..n {
                ws.feed(push_message(i, size, binary)).await?;
            }
            ws.flush().await?;
        }
        Endpoint::Huge { bytes } => ws.send(Message::text("a".repeat(bytes))).await?,
        _ => {}
    }

    let limit = match *endpoint {
        Endpoint::Close { after, .. } | Endpoint::Drop { after } | Endpoint::Mute { after } => Some(after),
        _ => None,
    };
    if echo(&mut ws, conn, limit).await? == Ended::ByPeer {
        return Ok(());
    }

    // `after` messages have been echoed.
    match endpoint {
        Endpoint::Close { code, reason, .. } => {
            let frame = CloseFrame {
                code: (*code).into(),
                reason: reason.as_str().into(),
            };
            ws.close(Some(frame)).await?;
            // Wait (bounded) for the client's close frame so the handshake completes and
            // the server closes TCP first, as RFC 6455 asks.
            let _ = timeout(CLOSE_GRACE, record_until_end(&mut ws, conn)).await;
        }
        // Returning drops the socket: TCP closes with no close frame (browser sees 1006).
        Endpoint::Drop { .. } => {}
        Endpoint::Mute { .. } => record_until_end(&mut ws, conn).await?,
        _ => {}
    }
    Ok(())
}

#[derive(Debug, PartialEq, Eq)]
enum Ended {
    /// The client closed (or the stream ended).
    ByPeer,
    /// The requested number of messages has been echoed.
    LimitReached,
}

/// Echoes text and binary messages (recording everything) until the client closes or
/// `limit` messages have been echoed. `Some(0)` returns at once.
async fn echo(ws: &mut Ws, conn: &Conn<'_>, limit: Option<u64>) -> Result<Ended, WsError> {
    let mut echoed = 0;
    loop {
        if limit.is_some_and(|l| echoed >= l) {
            return Ok(Ended::LimitReached);
        }
        let Some(msg) = ws.next().await else {
            return Ok(Ended::ByPeer);
        };
        let msg = msg?;
        if conn.record(&msg) {
            ws.send(msg).await?;
            echoed += 1;
        }
        // Close frames are answered by tungstenite on the next read, which then ends.
    }
}

/// Reads and records until the stream ends, sending nothing of our own.
async fn record_until_end(ws: &mut Ws, conn: &Conn<'_>) -> Result<(), WsError> {
    while let Some(msg) = ws.next().await {
        conn.record(&msg?);
    }
    Ok(())
}

/// `/push` message `i`: text `"<i>:"` padded with 'x' to `size` bytes, or `size` binary
/// bytes starting with `i` as little-endian u32.
fn push_message(i: u64, size: usize, binary: bool) -> Message {
    if binary {
        let mut data = vec![0u8; size];
        let index = (i as u32).to_le_bytes();
        let n = size.min(index.len());
        data[..n].copy_from_slice(&index[..n]);
        Message::binary(data)
    } else {
        let mut text = format!("{i}:");
        let pad = size.saturating_sub(text.len());
        text.extend(std::iter::repeat_n('x', pad));
        Message::text(text)
    }
}

/// The stats sink of one connection.
struct Conn<'a> {
    stats: &'a Stats,
    key: &'a str,
}

impl Conn<'_> {
    /// Records a received message; returns whether it is a data message to echo.
    fn record(&self, msg: &Message) -> bool {
        match msg {
            Message::Text(text) => self.stats.text(self.key, text.as_str()),
            Message::Binary(data) => self.stats.binary(self.key, data.len()),
            Message::Close(frame) => {
                let (code, reason) = match frame {
                    Some(f) => (Some(u16::from(f.code)), f.reason.as_str()),
                    None => (None, ""),
                };
                self.stats.close(self.key, code, reason);
                return false;
            }
            // Pings are answered by tungstenite itself; pongs and raw frames are ignored.
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => return false,
        }
        true
    }
}

/// Errors that just mean the client went away; not worth a log line.
fn is_disconnect(e: &WsError) -> bool {
    use tokio_tungstenite::tungstenite::error::ProtocolError;
    match e {
        WsError::ConnectionClosed | WsError::AlreadyClosed => true,
        WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => true,
        WsError::Io(io) => matches!(
            io.kind(),
            io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe
                | io::ErrorKind::UnexpectedEof
        ),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_messages_have_index_and_size() {
        assert_eq!(push_message(7, 6, false), Message::text("7:xxxx"));
        assert_eq!(push_message(123, 2, false), Message::text("123:"));
        let Message::Binary(data) = push_message(258, 6, true) else {
            panic!("expected binary")
        };
        assert_eq!(data.as_ref(), [2, 1, 0, 0, 0, 0]);
        assert_eq!(push_message(1, 2, true), Message::binary(vec![1, 0]));
    }
}
