//! `/ws`: the WebSocket upgrade (hyper + tokio-tungstenite) and one task per client.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, Request, State};
use axum::http::header::{CONNECTION, SEC_WEBSOCKET_ACCEPT, UPGRADE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::hub::{Batch, Hub};
use crate::identity::Identity;
use crate::AppState;

/// Client messages are tiny (`{"type":"move","x":0.123,"y":0.456}`); anything this big is
/// not one, and the connection is closed.
pub(crate) const MAX_MESSAGE: usize = 4096;

/// Messages the relay accepts. Anything else is ignored.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Incoming {
    Move { x: f64, y: f64 },
}

pub async fn upgrade(State(app): State<AppState>, mut req: Request) -> Response {
    let headers = req.headers();
    let key = match tether_server::handshake_key(req.method(), headers) {
        Ok(key) => key,
        Err(why) => return (StatusCode::BAD_REQUEST, why).into_response(),
    };
    let accept = derive_accept_key(key.as_bytes());
    let hint = Query::<HashMap<String, String>>::try_from_uri(req.uri())
        .ok()
        .and_then(|Query(q)| {
            Identity::from_hint(
                q.get("name").map(String::as_str),
                q.get("color").map(String::as_str),
            )
        });
    let on_upgrade = hyper::upgrade::on(&mut req);
    let hub = Arc::clone(&app.hub);
    let shutdown = app.shutdown.clone();
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let config = WebSocketConfig::default()
                    .max_message_size(Some(MAX_MESSAGE))
                    .max_frame_size(Some(MAX_MESSAGE));
                let ws = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config))
                    .await;
                client(ws, hub, hint, shutdown).await;
            }
            Err(e) => eprintln!("tether-relay: upgrade failed: {e}"),
        }
    });
    let mut resp = StatusCode::SWITCHING_PROTOCOLS.into_response();
    let h = resp.headers_mut();
    h.insert(UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    match HeaderValue::from_str(&accept) {
        Ok(v) => {
            h.insert(SEC_WEBSOCKET_ACCEPT, v);
        }
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
    resp
}

/// One client: reads its moves, writes its outbox, leaves the hub when it ends.
async fn client<S>(
    ws: WebSocketStream<S>,
    hub: Arc<Hub>,
    hint: Option<Identity>,
    mut shutdown: watch::Receiver<bool>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let member = hub.join(hint);
    let id = member.id;
    let (mut sink, mut stream) = ws.split();

    let reader = async {
        while let Some(msg) = stream.next().await {
            match msg {
                Ok(Message::Text(text)) => {
                    if let Ok(Incoming::Move { x, y }) = serde_json::from_str::<Incoming>(&text) {
                        if x.is_finite() && y.is_finite() {
                            hub.moved(id, x, y);
                        }
                    }
                }
                Ok(Message::Close(_)) | Err(_) => break,
                Ok(_) => {} // binary, ping, pong: nothing to do (pongs are automatic)
            }
        }
    };
    let outbox = Arc::clone(&member.outbox);
    let writer = async {
        loop {
            match outbox.next_batch().await {
                Batch::Messages(batch) => {
                    for text in batch {
                        sink.feed(Message::Text(text)).await?;
                    }
                    sink.flush().await?;
                }
                Batch::TooSlow => {
                    return Ok::<_, tokio_tungstenite::tungstenite::Error>(Some(CloseCode::Again))
                }
            }
        }
    };
    let close = tokio::select! {
        () = reader => None,
        res = writer => res.ok().flatten(),
        _ = shutdown.wait_for(|&down| down) => Some(CloseCode::Away),
    };
    // Leave first, so the others hear about it even if the close below is slow.
    drop(member);
    let frame = close.map(|code| CloseFrame {
        code,
        reason: match code {
            CloseCode::Away => "relay shutting down".into(),
            _ => "too slow: reconnect for a fresh snapshot".into(),
        },
    });
    let goodbye = async {
        let _ = sink.send(Message::Close(frame)).await;
        let _ = sink.close().await;
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), goodbye).await;
}
