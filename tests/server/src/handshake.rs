//! The server side of the WebSocket opening handshake, done by hand.
//!
//! Doing it ourselves (instead of tungstenite's `accept`) lets endpoints delay the response
//! (`/slow`), answer 404 for unknown paths, pick the subprotocol, and write raw frames
//! (`/bad-utf8`) before handing the socket to tungstenite.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

/// Request heads larger than this are refused; browsers send well under 2 KiB.
const MAX_HEAD: usize = 16 * 1024;
const MAX_HEADERS: usize = 64;
/// A client that connects and then sends nothing must not hold a task forever.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// A parsed, valid WebSocket upgrade request.
#[derive(Debug)]
pub struct Upgrade {
    /// Request-target, e.g. `/echo?key=t1`.
    pub target: String,
    pub accept_key: String,
    /// Subprotocols offered by the client, in order.
    pub protocols: Vec<String>,
    /// Bytes read past the end of the request head (frames sent early by the client).
    pub leftover: Vec<u8>,
}

/// Why a request could not be upgraded.
#[derive(Debug)]
pub enum Refusal {
    /// Not a WebSocket upgrade request; answered with 400.
    BadRequest(String),
    /// The client went away, sent nothing in time, or the socket failed; nothing to answer.
    Gone,
}

impl From<io::Error> for Refusal {
    fn from(_: io::Error) -> Self {
        Refusal::Gone
    }
}

/// Reads and parses the upgrade request head.
pub async fn read_request(stream: &mut TcpStream) -> Result<Upgrade, Refusal> {
    let mut buf = Vec::with_capacity(1024);
    let head_len = loop {
        if let Some(pos) = find_head_end(&buf) {
            break pos;
        }
        if buf.len() > MAX_HEAD {
            return Err(Refusal::BadRequest("request head too large".into()));
        }
        let mut chunk = [0u8; 2048];
        let n = match timeout(HEAD_TIMEOUT, stream.read(&mut chunk)).await {
            Ok(read) => read?,
            Err(_) => return Err(Refusal::Gone), // timed out
        };
        if n == 0 {
            return Err(Refusal::Gone);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let mut upgrade = parse_head(&buf[..head_len])?;
    upgrade.leftover = buf[head_len..].to_vec();
    Ok(upgrade)
}

/// Index just past the blank line ending the head, if it has arrived.
fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

fn parse_head(head: &[u8]) -> Result<Upgrade, Refusal> {
    let bad = |msg: &str| Refusal::BadRequest(msg.to_owned());
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(bad("incomplete request head")),
        Err(e) => return Err(Refusal::BadRequest(format!("malformed request: {e}"))),
    }
    if req.method != Some("GET") {
        return Err(bad("method must be GET"));
    }
    let target = req.path.ok_or_else(|| bad("missing request target"))?;

    // Header names are case-insensitive; some may repeat (Sec-WebSocket-Protocol).
    let values = |name: &'static str| {
        req.headers
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .filter_map(|h| std::str::from_utf8(h.value).ok())
    };
    let has_token = |name: &'static str, token: &str| {
        values(name).any(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    };
    if !has_token("Upgrade", "websocket") || !has_token("Connection", "upgrade") {
        return Err(bad("not a WebSocket upgrade request"));
    }
    if !has_token("Sec-WebSocket-Version", "13") {
        return Err(bad("unsupported Sec-WebSocket-Version"));
    }
    let key = values("Sec-WebSocket-Key")
        .next()
        .map(str::trim)
        .ok_or_else(|| bad("missing Sec-WebSocket-Key"))?;
    let protocols = values("Sec-WebSocket-Protocol")
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();

    Ok(Upgrade {
        target: target.to_owned(),
        accept_key: derive_accept_key(key.as_bytes()),
        protocols,
        leftover: Vec::new(),
    })
}

/// Completes the handshake with `101 Switching Protocols`.
pub async fn accept(stream: &mut TcpStream, accept_key: &str, protocol: Option<&str>) -> io::Result<()> {
    let mut resp = format!(
        "HTTP/1.1 101 Switching Protocols\r\n\
         Upgrade: websocket\r\n\
         Connection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept_key}\r\n"
    );
    if let Some(p) = protocol {
        resp.push_str(&format!("Sec-WebSocket-Protocol: {p}\r\n"));
    }
    resp.push_str("\r\n");
    stream.write_all(resp.as_bytes()).await?;
    stream.flush().await
}

/// Refuses the upgrade with a plain HTTP error; the connection is closed afterwards.
pub async fn refuse(stream: &mut TcpStream, status: &str, body: &str) -> io::Result<()> {
    let resp = format!(
        "HTTP/1.1 {status}\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\n\
         Connection: close\r\n\
         \r\n{body}",
        body.len()
    );
    stream.write_all(resp.as_bytes()).await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_browser_style_request() {
        let head = b"GET /proto?key=k HTTP/1.1\r\nHost: 127.0.0.1\r\nupgrade: WebSocket\r\n\
            Connection: keep-alive, Upgrade\r\nSec-WebSocket-Version: 13\r\n\
            Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
            Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Protocol: third\r\n\r\n";
        let Ok(up) = parse_head(head) else {
            panic!("valid request refused")
        };
        assert_eq!(up.target, "/proto?key=k");
        // The example from RFC 6455 section 1.3.
        assert_eq!(up.accept_key, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        assert_eq!(up.protocols, ["chat", "superchat", "third"]);
    }

    #[test]
    fn refuses_plain_http() {
        let head = b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n";
        assert!(matches!(parse_head(head), Err(Refusal::BadRequest(_))));
    }
}
