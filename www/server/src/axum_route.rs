//! The upgrade as an axum handler: hyper's upgrade + tokio-tungstenite (not axum's `ws`
//! feature, which pulls another tokio-tungstenite than the workspace builds).

use std::sync::Arc;

use axum::extract::Request as AxumRequest;
use axum::http::header::{
    CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_PROTOCOL, SEC_WEBSOCKET_VERSION,
    UPGRADE,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, MethodRouter};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::WebSocketStream;

use crate::config::Request;
use crate::{conn, handshake, Server};

impl Server {
    /// The WebSocket endpoint as an axum route, for any path and state:
    /// `Router::new().route("/ws", server.axum_route())`. Same checks and limits as
    /// [`Server::accept`]; past [`Config::max_connections`](crate::Config::max_connections)
    /// the upgrade is refused with HTTP 503, and a request that is not a WebSocket upgrade
    /// with 400.
    ///
    /// ```
    /// use axum::Router;
    /// use tether_server::{Config, Server};
    ///
    /// let server = Server::new(Config::default());
    /// let app: Router = Router::new().route("/ws", server.axum_route());
    /// # drop(app);
    /// ```
    pub fn axum_route<S>(&self) -> MethodRouter<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let server = self.clone();
        any(move |req: AxumRequest| {
            let server = server.clone();
            async move { server.upgrade(req).await }
        })
    }

    /// Answers one upgrade request (what [`Server::axum_route`] runs), for a handler of
    /// your own.
    pub async fn upgrade(&self, mut req: AxumRequest) -> Response {
        if self.is_shut_down() {
            return (StatusCode::SERVICE_UNAVAILABLE, "shutting down").into_response();
        }
        let key = match handshake_key(req.method(), req.headers()) {
            Ok(key) => key,
            Err(why) => return (StatusCode::BAD_REQUEST, why).into_response(),
        };
        let Some(slot) = self.inner.slot() else {
            return (StatusCode::SERVICE_UNAVAILABLE, "too many connections").into_response();
        };
        let mut head = Request::new(());
        *head.method_mut() = req.method().clone();
        *head.uri_mut() = req.uri().clone();
        *head.version_mut() = req.version();
        *head.headers_mut() = req.headers().clone();
        let protocol = match handshake::check(&self.inner.cfg, &head) {
            Ok(p) => p,
            Err(refusal) => return (refusal.status, refusal.reason).into_response(),
        };
        let Ok(protocol_value) = HeaderValue::from_str(&protocol) else {
            return (StatusCode::BAD_REQUEST, "bad subprotocol").into_response();
        };
        let Ok(accept) = HeaderValue::from_str(&derive_accept_key(key.as_bytes())) else {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        };
        let on_upgrade = hyper::upgrade::on(&mut req);
        let inner = Arc::clone(&self.inner);
        let deadline = self.hello_deadline();
        tokio::spawn(async move {
            let Ok(Ok(upgraded)) = tokio::time::timeout_at(deadline, on_upgrade).await else {
                return;
            };
            let config = inner.ws_config;
            let ws =
                WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config)).await;
            conn::run(inner, ws, protocol, deadline, slot).await;
        });
        let mut resp = StatusCode::SWITCHING_PROTOCOLS.into_response();
        let h = resp.headers_mut();
        h.insert(UPGRADE, HeaderValue::from_static("websocket"));
        h.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
        h.insert(SEC_WEBSOCKET_ACCEPT, accept);
        h.insert(SEC_WEBSOCKET_PROTOCOL, protocol_value);
        resp
    }
}

/// Checks an RFC 6455 upgrade request; returns its `Sec-WebSocket-Key`, or why it is not one
/// (for a 400 answer). Public for an application's own WebSocket routes beside this one (the
/// demo relay's cursor endpoint uses it).
pub fn handshake_key(method: &Method, headers: &HeaderMap) -> Result<String, &'static str> {
    let has_token = |name, token: &str| {
        headers.get_all(name).iter().any(|v| {
            v.to_str()
                .map(|s| s.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
                .unwrap_or(false)
        })
    };
    if method != Method::GET {
        return Err("WebSocket upgrade needs GET");
    }
    if !has_token(UPGRADE, "websocket") || !has_token(CONNECTION, "upgrade") {
        return Err("this is a WebSocket endpoint (a GET with Upgrade: websocket)");
    }
    if headers.get(SEC_WEBSOCKET_VERSION).and_then(|v| v.to_str().ok()) != Some("13") {
        return Err("unsupported Sec-WebSocket-Version (13 expected)");
    }
    headers
        .get(SEC_WEBSOCKET_KEY)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .ok_or("missing Sec-WebSocket-Key")
}
