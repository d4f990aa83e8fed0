//! The Rust-API side of the tether-ws benchmarks: every function drives a
//! `tether_ws::Socket` entirely from Rust (sends, the event `Stream`, reconnects) and
//! returns only the measurement to JS. Called by www/bench/bench.mjs.

use std::cell::RefCell;
use std::future::Future;
use std::time::Duration;

use futures::future::{select, Either};
use futures::StreamExt;
use gloo_timers::future::TimeoutFuture;
use tether_ws::{Event, EventStream, Jitter, Message, ReconnectOptions, Socket};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

fn now() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or_else(js_sys::Date::now)
}

fn err(what: impl core::fmt::Display) -> JsValue {
    JsValue::from(js_sys::Error::new(&what.to_string()))
}

/// The options every library gets in the reconnect benchmarks: a fixed 100 ms retry delay,
/// no jitter, reconnecting-websocket's other defaults.
fn bench_backoff() -> ReconnectOptions {
    ReconnectOptions::default()
        .min_delay(Duration::from_millis(100))
        .max_delay(Duration::from_millis(100))
        .grow_factor(1.3)
        .min_uptime(Duration::from_secs(5))
        .max_retries(None)
        .jitter(Jitter::None)
}

fn connect(url: &str, start_closed: bool) -> Result<(Socket, EventStream), JsValue> {
    let socket = Socket::builder(url)
        .backoff(bench_backoff())
        .start_closed(start_closed)
        .connect()
        .map_err(err)?;
    let events = socket.events();
    Ok((socket, events))
}

/// Runs `fut`, failing after `ms`. One timer per measurement, none per message, so that the
/// harness adds no per-message work of its own.
async fn bounded<T>(
    fut: impl Future<Output = Result<T, JsValue>>,
    ms: f64,
    what: &str,
) -> Result<T, JsValue> {
    match select(
        Box::pin(fut),
        TimeoutFuture::new(ms.clamp(0.0, 2_147_483_647.0) as u32),
    )
    .await
    {
        Either::Left((r, _)) => r,
        Either::Right(_) => Err(err(format!("{what}: timed out after {ms} ms"))),
    }
}

/// The next event.
async fn next_event(events: &mut EventStream) -> Result<Event, JsValue> {
    events.next().await.ok_or_else(|| err("the event stream ended"))
}

async fn wait_open(events: &mut EventStream) -> Result<(), JsValue> {
    loop {
        if let Event::Open = next_event(events).await? {
            return Ok(());
        }
    }
}

fn payload(size: u32, binary: bool) -> Message {
    if binary {
        Message::Binary(vec![0x5a; size as usize])
    } else {
        Message::Text("x".repeat(size as usize))
    }
}

/// Pipelined echo: keeps `window` messages in flight until `n` echoes came back.
/// Returns the elapsed ms from the first send to the last echo.
async fn pipelined(
    socket: &Socket,
    events: &mut EventStream,
    n: u32,
    msg: &Message,
    window: u32,
) -> Result<f64, JsValue> {
    let t0 = now();
    let mut sent = 0;
    while sent < n.min(window) {
        socket.send(msg.clone()).map_err(err)?;
        sent += 1;
    }
    let mut received = 0;
    while received < n {
        if let Event::Message(_) = next_event(events).await? {
            received += 1;
            if sent < n {
                socket.send(msg.clone()).map_err(err)?;
                sent += 1;
            }
        }
    }
    Ok(now() - t0)
}

/// Throughput: ms for `n` pipelined echoes of `size`-byte text or binary messages.
#[wasm_bindgen]
pub async fn throughput(
    url: String,
    n: u32,
    size: u32,
    binary: bool,
    window: u32,
    timeout_ms: f64,
) -> Result<f64, JsValue> {
    let run = async move {
        let (socket, mut events) = connect(&url, false)?;
        wait_open(&mut events).await?;
        let msg = payload(size, binary);
        let ms = pipelined(&socket, &mut events, n, &msg, window).await?;
        let _ = socket.close(1000, "");
        Ok(ms)
    };
    bounded(run, timeout_ms, "throughput").await
}

/// Latency: round-trip times (ms) of `n` messages sent one at a time, after `warmup`.
#[wasm_bindgen]
pub async fn latency(
    url: String,
    n: u32,
    warmup: u32,
    size: u32,
    timeout_ms: f64,
) -> Result<Vec<f64>, JsValue> {
    let run = async move {
        let (socket, mut events) = connect(&url, false)?;
        wait_open(&mut events).await?;
        let msg = payload(size, false);
        let mut samples = Vec::with_capacity(n as usize);
        for i in 0..(warmup + n) {
            let t0 = now();
            socket.send(msg.clone()).map_err(err)?;
            loop {
                if let Event::Message(_) = next_event(&mut events).await? {
                    break;
                }
            }
            if i >= warmup {
                samples.push(now() - t0);
            }
        }
        let _ = socket.close(1000, "");
        Ok(samples)
    };
    bounded(run, timeout_ms, "latency").await
}

/// Queue flush: `n` messages queued on a socket that starts closed, then `reconnect()`;
/// ms from `reconnect()` to the last of the `n` echoes.
#[wasm_bindgen(js_name = queueFlush)]
pub async fn queue_flush(url: String, n: u32, size: u32, timeout_ms: f64) -> Result<f64, JsValue> {
    let run = async move {
        let (socket, mut events) = connect(&url, true)?;
        let msg = payload(size, false);
        for _ in 0..n {
            socket.send(msg.clone()).map_err(err)?;
        }
        let t0 = now();
        socket.reconnect();
        let mut received = 0;
        while received < n {
            if let Event::Message(_) = next_event(&mut events).await? {
                received += 1;
            }
        }
        let ms = now() - t0;
        let _ = socket.close(1000, "");
        Ok(ms)
    };
    bounded(run, timeout_ms, "queueFlush").await
}

async fn call(control: &js_sys::Function, path: &str) -> Result<(), JsValue> {
    let p = control.call1(&JsValue::NULL, &JsValue::from_str(path))?;
    JsFuture::from(js_sys::Promise::from(p)).await?;
    Ok(())
}

/// Reconnect: for each of `reps`: server down (refusing TCP), wait `down_ms` after the
/// `close`, server up; ms from just before the `/up` request to `open`. `control(path)` is a
/// JS function returning a Promise (a fetch of the test server's control endpoint).
#[wasm_bindgen]
pub async fn reconnect(
    url: String,
    reps: u32,
    down_ms: u32,
    control: js_sys::Function,
    timeout_ms: f64,
) -> Result<Vec<f64>, JsValue> {
    let run = async {
        let (socket, mut events) = connect(&url, false)?;
        wait_open(&mut events).await?;
        let mut samples = Vec::with_capacity(reps as usize);
        for _ in 0..reps {
            call(&control, "/down").await?;
            loop {
                if let Event::Close(_) = next_event(&mut events).await? {
                    break;
                }
            }
            TimeoutFuture::new(down_ms).await;
            let t0 = now();
            call(&control, "/up").await?;
            // Events of the failed attempts meanwhile are skipped by wait_open.
            wait_open(&mut events).await?;
            samples.push(now() - t0);
        }
        let _ = socket.close(1000, "");
        Ok(samples)
    };
    let r = bounded(run, timeout_ms, "reconnect").await;
    let _ = call(&control, "/up").await;
    r
}

thread_local! {
    static MEM: RefCell<Option<(Socket, EventStream)>> = const { RefCell::new(None) };
}

fn take_mem() -> Result<(Socket, EventStream), JsValue> {
    MEM.with(|m| m.borrow_mut().take())
        .ok_or_else(|| err("memOpen() first"))
}

fn put_mem(v: (Socket, EventStream)) {
    MEM.with(|m| *m.borrow_mut() = Some(v));
}

/// Memory scenario, step 1: opens the socket kept between the steps.
#[wasm_bindgen(js_name = memOpen)]
pub async fn mem_open(url: String, timeout_ms: f64) -> Result<(), JsValue> {
    let run = async move {
        let (socket, mut events) = connect(&url, false)?;
        wait_open(&mut events).await?;
        put_mem((socket, events));
        Ok(())
    };
    bounded(run, timeout_ms, "memOpen").await
}

/// Memory scenario, step 2: `n` pipelined echoes.
#[wasm_bindgen(js_name = memMessages)]
pub async fn mem_messages(n: u32, size: u32, window: u32, timeout_ms: f64) -> Result<f64, JsValue> {
    let run = async move {
        let (socket, mut events) = take_mem()?;
        let msg = payload(size, false);
        let r = pipelined(&socket, &mut events, n, &msg, window).await;
        put_mem((socket, events));
        r
    };
    bounded(run, timeout_ms, "memMessages").await
}

/// Memory scenario, step 3: `cycles` of `reconnect()` + wait for `open`, within `budget_ms`.
/// Returns the number of cycles done.
#[wasm_bindgen(js_name = memReconnects)]
pub async fn mem_reconnects(cycles: u32, budget_ms: f64) -> Result<u32, JsValue> {
    let deadline = now() + budget_ms;
    let (socket, mut events) = take_mem()?;
    let mut done = 0;
    let mut result = Ok(());
    while done < cycles && now() < deadline {
        socket.reconnect();
        if let Err(e) = bounded(wait_open(&mut events), 10_000.0, "open after reconnect()").await {
            result = Err(e);
            break;
        }
        done += 1;
    }
    put_mem((socket, events));
    result.map(|_| done)
}

/// Memory scenario, end: closes and drops the socket.
#[wasm_bindgen(js_name = memClose)]
pub fn mem_close() {
    if let Some((socket, _)) = MEM.with(|m| m.borrow_mut().take()) {
        let _ = socket.close(1000, "");
    }
}

/// Bytes of this instance's linear memory.
#[wasm_bindgen(js_name = wasmMemoryBytes)]
pub fn wasm_memory_bytes() -> f64 {
    wasm_bindgen::memory()
        .dyn_into::<js_sys::WebAssembly::Memory>()
        .map(|m| {
            m.buffer()
                .dyn_into::<js_sys::ArrayBuffer>()
                .map(|b| b.byte_length() as f64)
                .unwrap_or(0.0)
        })
        .unwrap_or(0.0)
}
