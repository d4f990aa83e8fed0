//! The HTTP control API (stats, reset, down/up, drop-all, chaos) plus static files, all on
//! one port. Browser test pages on other origins fetch these, hence CORS on every response.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, Request, State};
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN, CACHE_CONTROL,
};
use axum::http::{HeaderValue, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use crate::chaos::{self, Ports, Report};
use crate::conns::{Conns, Which};
use crate::listener::WsControl;
use crate::static_files;
use crate::stats::{KeyStats, Stats};

#[derive(Clone)]
pub struct AppState {
    pub stats: Arc<Stats>,
    pub conns: Arc<Conns>,
    pub ws: WsControl,
    pub root: Arc<PathBuf>,
}

#[derive(Deserialize)]
struct KeyQuery {
    key: Option<String>,
}

#[derive(Deserialize)]
struct DownQuery {
    ms: Option<u64>,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/stats", get(stats))
        .route("/reset", get(reset))
        .route("/down", get(down))
        .route("/up", get(up))
        .route("/drop-all", get(drop_all))
        .route("/chaos", get(chaos_start))
        .route("/chaos/stop", get(chaos_stop))
        .route("/chaos/report", get(chaos_report))
        .fallback(files)
        .layer(middleware::from_fn(cors_and_no_store))
        .with_state(state)
}

async fn stats(State(app): State<AppState>, Query(q): Query<KeyQuery>) -> Json<KeyStats> {
    Json(app.stats.get(q.key.as_deref().unwrap_or("")))
}

async fn reset(State(app): State<AppState>, Query(q): Query<KeyQuery>) -> &'static str {
    app.stats.reset(q.key.as_deref());
    "ok"
}

/// Without `ms` the port stays down until `/up`.
async fn down(State(app): State<AppState>, Query(q): Query<DownQuery>) -> &'static str {
    app.ws.down(q.ms.map(Duration::from_millis)).await;
    "ok"
}

async fn up(State(app): State<AppState>) -> &'static str {
    app.ws.up().await;
    "ok"
}

async fn drop_all(State(app): State<AppState>, Query(q): Query<KeyQuery>) -> String {
    let which = match q.key.as_deref() {
        Some(k) => Which::Key(k),
        None => Which::All,
    };
    app.conns.kill(which).await.to_string()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChaosQuery {
    seed: Option<u64>,
    ms: Option<u64>,
    min_gap: Option<u64>,
    max_gap: Option<u64>,
    /// Comma-separated fault kinds to inject (default: all).
    faults: Option<String>,
}

impl AppState {
    fn ports(&self) -> Ports {
        Ports {
            conns: Arc::clone(&self.conns),
            ws: self.ws.clone(),
        }
    }
}

/// `/chaos?seed=S&ms=T&minGap=A&maxGap=B&faults=drop,delay`: starts a chaos run (see
/// `chaos.rs`); answers `{seed, ms}`. Without a seed one is drawn from the clock.
async fn chaos_start(State(app): State<AppState>, Query(q): Query<ChaosQuery>) -> Response {
    let kinds = match chaos::parse_kinds(q.faults.as_deref().unwrap_or("")) {
        Ok(kinds) => kinds,
        Err(e) => return (StatusCode::BAD_REQUEST, e).into_response(),
    };
    let seed = q.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    let run =
        q.ms.map_or(chaos::DEFAULT_RUN, Duration::from_millis)
            .min(chaos::MAX_RUN);
    let (lo, hi) = chaos::DEFAULT_GAPS_MS;
    let min_gap = q.min_gap.unwrap_or(lo).clamp(10, 60_000);
    let max_gap = q.max_gap.unwrap_or(hi).clamp(min_gap, 60_000);
    app.stats
        .chaos()
        .start(app.ports(), seed, run, (min_gap, max_gap), &kinds)
        .await;
    Json(serde_json::json!({ "seed": seed, "ms": run.as_millis() as u64 })).into_response()
}

/// Stops the chaos run; returns once the port is up and calm, with the report (no soak data).
async fn chaos_stop(State(app): State<AppState>) -> Json<Report> {
    app.stats.chaos().stop(&app.ports()).await;
    Json(app.stats.chaos().report(None))
}

async fn chaos_report(State(app): State<AppState>, Query(q): Query<KeyQuery>) -> Json<Report> {
    Json(app.stats.chaos().report(q.key.as_deref()))
}

async fn files(State(app): State<AppState>, method: Method, uri: Uri) -> Response {
    static_files::serve(&app.root, &method, &uri).await
}

/// Adds `Access-Control-Allow-Origin: *` and `Cache-Control: no-store` to every response
/// (errors included), and answers CORS preflights.
async fn cors_and_no_store(req: Request, next: Next) -> Response {
    let preflight = req.method() == Method::OPTIONS;
    let mut resp = if preflight {
        StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(req).await
    };
    let headers = resp.headers_mut();
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if preflight {
        headers.insert(
            ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, HEAD, OPTIONS"),
        );
        headers.insert(ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("*"));
    }
    resp
}
