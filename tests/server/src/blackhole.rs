//! A port that accepts TCP connections and then says nothing, so a WebSocket handshake
//! never completes (for connection-timeout tests).

use std::time::Duration;

use tokio::net::TcpListener;
use tokio::time::sleep;

use crate::hold;

pub async fn run(listener: TcpListener) {
    loop {
        match listener.accept().await {
            // Held, never read or written, until the peer gives up.
            Ok((stream, _)) => {
                tokio::spawn(async move { hold::until_peer_closes(&stream).await });
            }
            Err(e) => {
                eprintln!("blackhole: accept failed: {e}");
                sleep(Duration::from_millis(50)).await;
            }
        }
    }
}
