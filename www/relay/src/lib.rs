//! tether-relay: the server of the tether-ws cursor-sharing demo.
//!
//! Serves `<root>/www` at `/`, `<root>/pkg` (the npm package built by wasm-pack) at
//! `/pkg/`, the cursors' WebSocket at `/ws`, and the continuity protocol's (`PROTOCOL.md`:
//! the reference server, crate `tether-server`) at `/live`, on a loopback address only.
//!
//! Protocol (JSON text messages):
//! - relay → client, on connect: `{"type":"welcome","id","name","color"}`, then one
//!   `cursor` message per client whose position is known;
//! - client → relay: `{"type":"move","x","y"}`, fractions 0..1 of the viewport;
//! - relay → every other client: `{"type":"cursor","id","name","color","x","y"}`, and
//!   `{"type":"leave","id"}` when a client disconnects.
//!
//! A reconnecting client may ask to keep its name and colour with `/ws?name=..&color=..`;
//! it always gets a new id.
//!
//! `/live` ([`live`]): a numbered feed `{"n":k}` every 500 ms to every session, and an echo
//! of the client's `{"m":k}`, delivered once and in order across reconnects while the
//! relay runs (its sessions are in memory: a restart loses them, and says so).
//!
//! Cursors can be shared by several relays ([`broker`]): alone in the process (the default)
//! or through Redis ([`redis_broker`], `--broker redis://..`), where every relay on the same
//! Redis serves one room.

#![forbid(unsafe_code)]

pub mod broker;
pub mod hub;
pub mod identity;
pub mod live;
pub mod redis_broker;
pub mod redis_wire;
mod static_files;
mod ws;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::response::Response;
use axum::routing::any;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

pub use broker::Broker;
pub use static_files::CSP;

#[derive(Clone)]
struct AppState {
    root: Arc<PathBuf>,
    hub: Arc<hub::Hub>,
    shutdown: watch::Receiver<bool>,
}

/// Serves until `shutdown` resolves, then closes every WebSocket (`/ws` and `/live`) with
/// 1001 "going away" (waiting at most 2 s for them) and returns. Cursors are shared through
/// `broker` (`Arc::new(broker::InProcess)` for a relay alone).
pub async fn serve(
    listener: TcpListener,
    root: PathBuf,
    broker: Arc<dyn Broker>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let hub = hub::Hub::with_broker(Arc::clone(&broker));
    let live = tether_server::Server::new(live::config());
    let live_app = live
        .events()
        .map(|events| tokio::spawn(live::application(live.clone(), events)));
    let (down_tx, down_rx) = watch::channel(false);
    let sharing = broker.start(Arc::clone(&hub), down_rx.clone());
    let state = AppState {
        root: Arc::new(root),
        hub: Arc::clone(&hub),
        shutdown: down_rx,
    };
    let app = Router::new()
        .route("/ws", any(ws::upgrade))
        .route("/live", live.axum_route())
        .fallback(static_handler)
        .with_state(state);
    let closing = Arc::clone(&hub);
    let live_closing = live.clone();
    let graceful = async move {
        shutdown.await;
        closing.close();
        live_closing.shutdown();
        let _ = down_tx.send(true);
        // Keep the sender alive until every client saw the flag.
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(graceful)
        .await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    while (!hub.is_empty() || live.connections() > 0) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if let Some(app) = live_app {
        let _ = tokio::time::timeout(Duration::from_secs(1), app).await;
    }
    if let Some(sharing) = sharing {
        // It says goodbye to the other relays (bounded by its own timeout).
        let _ = tokio::time::timeout(Duration::from_secs(2), sharing).await;
    }
    Ok(())
}

async fn static_handler(State(app): State<AppState>, req: Request) -> Response {
    static_files::serve(&app.root, req.method(), req.uri()).await
}

/// A relay running in the background (for tests): [`Relay::stop`] shuts it down.
pub struct Relay {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<io::Result<()>>,
}

impl Relay {
    /// Binds `addr` (port 0 picks a free one) and serves `root` in a background task, alone
    /// (the in-process broker).
    pub async fn start(addr: SocketAddr, root: PathBuf) -> io::Result<Relay> {
        Self::start_with(addr, root, Arc::new(broker::InProcess)).await
    }

    /// As [`Relay::start`], sharing cursors through `broker`.
    pub async fn start_with(addr: SocketAddr, root: PathBuf, broker: Arc<dyn Broker>) -> io::Result<Relay> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, root, broker, async move {
            let _ = stopped.await;
        }));
        Ok(Relay {
            addr,
            stop: Some(stop),
            task,
        })
    }

    /// Shuts down as on SIGTERM and waits for the server to finish.
    pub async fn stop(mut self) -> io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await.map_err(io::Error::other)?
    }
}
