//! Helpers shared by the browser tests (`tests/browser_*.rs`): server URLs, the control API,
//! and bounded waits on event streams.
//!
//! The test server (tests/server) must be running; scripts/test.sh starts it. Its ports are
//! 8790 (HTTP control), 8791 (WebSocket endpoints) and 8792 (blackhole), or whatever
//! `TETHER_HTTP_PORT` / `TETHER_WS_PORT` / `TETHER_BLACKHOLE_PORT` said when the tests were
//! compiled (a wasm test cannot read the environment at run time). The continuity tests
//! also need the reference server (www/server) on 8793 (`TETHER_CONTINUITY_PORT`), with
//! its feed on.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::fmt::Debug;
use std::future::Future;
use std::pin::pin;

use futures::future::{select, Either};
use futures::{Stream, StreamExt};
use gloo_timers::future::TimeoutFuture;
use serde::Deserialize;
use tether_ws::{Event, Socket, SocketBuilder};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

fn port(configured: Option<&'static str>, default: &'static str) -> &'static str {
    configured.unwrap_or(default)
}

/// Base URL of the control API, e.g. `http://127.0.0.1:8790`.
pub fn http_base() -> String {
    format!(
        "http://127.0.0.1:{}",
        port(option_env!("TETHER_HTTP_PORT"), "8790")
    )
}

/// `ws://127.0.0.1:<ws port><path>` with `key` appended to the query, so `/stats?key=` sees
/// only this test's connections.
pub fn ws_url(path_and_query: &str, key: &str) -> String {
    let ws = port(option_env!("TETHER_WS_PORT"), "8791");
    let sep = if path_and_query.contains('?') { '&' } else { '?' };
    format!("ws://127.0.0.1:{ws}{path_and_query}{sep}key={key}")
}

/// The reference server of the continuity protocol (www/server: `tether-server --listen
/// 127.0.0.1:8793 --feed-ms 50`, or `TETHER_CONTINUITY_PORT`): it echoes every message to
/// its session and feeds `{"n":k}` to every session.
pub fn continuity_url() -> String {
    let port = port(option_env!("TETHER_CONTINUITY_PORT"), "8793");
    format!("ws://127.0.0.1:{port}/")
}

/// The port that accepts TCP but never answers the WebSocket handshake.
pub fn blackhole_url() -> String {
    let port = port(option_env!("TETHER_BLACKHOLE_PORT"), "8792");
    format!("ws://127.0.0.1:{port}/")
}

/// A stats key no other test or earlier run uses (the server outlives test runs).
pub fn unique_key(name: &str) -> String {
    let nonce = (js_sys::Math::random() * 1e12) as u64;
    format!("{name}-{nonce}")
}

/// `/stats?key=K`, as the server serialises it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    pub connections: u64,
    pub open: u64,
    pub max_concurrent: u64,
    pub messages: Vec<String>,
    pub binary_messages: u64,
    pub binary_bytes: u64,
    pub protocols: Vec<String>,
    pub closes: Vec<CloseRecord>,
}

/// A close frame the server received.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CloseRecord {
    pub code: Option<u16>,
    pub reason: String,
}

/// GETs `path` (with query) from the control API and returns the body.
pub async fn control(path: &str) -> String {
    let url = format!("{}{path}", http_base());
    with_timeout(10_000, &format!("GET {url}"), async {
        let window = web_sys::window().expect("tests run in a window");
        let response = JsFuture::from(window.fetch_with_str(&url))
            .await
            .unwrap_or_else(|e| panic!("GET {url} failed (is the test server running?): {e:?}"));
        let response: web_sys::Response = response.dyn_into().expect("fetch resolves to a Response");
        assert!(response.ok(), "GET {url}: HTTP {}", response.status());
        let body = JsFuture::from(response.text().expect("body"))
            .await
            .expect("body text");
        body.as_string().expect("text body")
    })
    .await
}

/// The server's statistics for `key`.
pub async fn stats(key: &str) -> Stats {
    let body = control(&format!("/stats?key={key}")).await;
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("bad /stats JSON {body:?}: {e}"))
}

/// Polls `/stats?key=K` until `ok` holds; panics with the last stats after `ms`.
pub async fn stats_until(key: &str, ms: u32, what: &str, ok: impl Fn(&Stats) -> bool) -> Stats {
    let deadline = now_ms() + f64::from(ms);
    loop {
        let s = stats(key).await;
        if ok(&s) {
            return s;
        }
        if now_ms() > deadline {
            panic!("after {ms} ms still not {what}; stats: {s:?}");
        }
        sleep(50).await;
    }
}

/// Milliseconds on the page's monotonic clock.
pub fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .expect("performance")
        .now()
}

pub async fn sleep(ms: u32) {
    TimeoutFuture::new(ms).await;
}

/// Runs `f`, panicking if it takes longer than `ms` (every wait in these tests is bounded).
pub async fn with_timeout<F: Future>(ms: u32, what: &str, f: F) -> F::Output {
    match select(pin!(f), TimeoutFuture::new(ms)).await {
        Either::Left((value, _)) => value,
        Either::Right(_) => panic!("timed out after {ms} ms waiting for {what}"),
    }
}

/// Reads `events` until one matches `pred`; returns it and the events skipped before it.
/// Panics (listing what was seen) if none matches within `ms` or the stream ends.
pub async fn wait_for<T: Debug>(
    events: &mut (impl Stream<Item = T> + Unpin),
    ms: u32,
    what: &str,
    mut pred: impl FnMut(&T) -> bool,
) -> (T, Vec<T>) {
    let deadline = now_ms() + f64::from(ms);
    let mut skipped = Vec::new();
    loop {
        let left = (deadline - now_ms()).max(0.0) as u32;
        match select(events.next(), TimeoutFuture::new(left)).await {
            Either::Left((Some(event), _)) if pred(&event) => return (event, skipped),
            Either::Left((Some(event), _)) => skipped.push(event),
            Either::Left((None, _)) => panic!("stream ended while waiting for {what}; saw {skipped:?}"),
            Either::Right(_) => panic!("no {what} within {ms} ms; saw {skipped:?}"),
        }
    }
}

/// Reads `events` for `ms` and panics if one matches `pred`. Returns everything seen.
pub async fn expect_none<T: Debug>(
    events: &mut (impl Stream<Item = T> + Unpin),
    ms: u32,
    what: &str,
    mut pred: impl FnMut(&T) -> bool,
) -> Vec<T> {
    let deadline = now_ms() + f64::from(ms);
    let mut seen = Vec::new();
    loop {
        let left = (deadline - now_ms()).max(0.0) as u32;
        if left == 0 {
            return seen;
        }
        match select(events.next(), TimeoutFuture::new(left)).await {
            Either::Left((Some(event), _)) => {
                assert!(!pred(&event), "unexpected {what}: {event:?}; before it: {seen:?}");
                seen.push(event);
            }
            Either::Left((None, _)) | Either::Right(_) => return seen,
        }
    }
}

/// Waits for the next `Open` event.
pub async fn wait_open(events: &mut (impl Stream<Item = Event> + Unpin)) -> Vec<Event> {
    wait_for(events, 5_000, "Open", |e| matches!(e, Event::Open))
        .await
        .1
}

/// Builds and connects, with an event stream subscribed before any event can fire.
pub fn connect(builder: SocketBuilder) -> (Socket, tether_ws::EventStream) {
    let socket = builder.connect().expect("valid socket options");
    let events = socket.events();
    (socket, events)
}

/// Reconnect timing for tests: short, exact delays so retries happen quickly and predictably.
pub fn fast_backoff(min_delay_ms: u64) -> tether_ws::ReconnectOptions {
    tether_ws::ReconnectOptions::default()
        .min_delay(std::time::Duration::from_millis(min_delay_ms))
        .max_delay(std::time::Duration::from_millis(min_delay_ms.max(500)))
        .jitter(tether_ws::Jitter::None)
}

/// Bytes of wasm linear memory (it only ever grows, so growth means something kept memory).
pub fn wasm_memory_bytes() -> u32 {
    let memory: js_sys::WebAssembly::Memory = wasm_bindgen::memory().unchecked_into();
    memory
        .buffer()
        .unchecked_into::<js_sys::ArrayBuffer>()
        .byte_length()
}

pub fn log(text: &str) {
    web_sys::console::log_1(&text.into());
}
