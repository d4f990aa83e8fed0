//! Holding a TCP connection open without ever reading from it (`/stall`, the blackhole).

use std::time::Duration;

use tokio::io::Interest;
use tokio::net::TcpStream;
use tokio::time::sleep;

/// Returns once the peer has closed or reset the connection, never reading a byte.
///
/// Not reading is the point: the peer's data piles up in our receive buffer and then in its
/// send buffer. The readiness flags still tell us about the peer's FIN/RST (EPOLLRDHUP),
/// but once data is pending they stay "readable", so we re-check on a slow timer instead of
/// spinning.
pub async fn until_peer_closes(stream: &TcpStream) {
    loop {
        match stream.ready(Interest::READABLE).await {
            Ok(ready) if ready.is_read_closed() || ready.is_error() => return,
            Ok(_) => sleep(Duration::from_millis(200)).await,
            Err(_) => return,
        }
    }
}
