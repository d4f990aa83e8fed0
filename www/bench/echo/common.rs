//! The echo workload every app of www/bench/echo runs, whatever its library: open a socket,
//! then either keep `window` messages in flight until `n` echoes came back (`throughput`), or
//! send one message at a time and time each round trip (`latency`). Each app implements
//! [`Echo`] with its library's ordinary calls and exports both with `exports!`; the code
//! here, and so its share of each app's size, is the same for the three.
//!
//! No timer of its own: the page (www/bench/bench.mjs) bounds each call, so that the only
//! per-message work is the library's and the loop's.

use wasm_bindgen::JsValue;

/// One library's socket, as an application uses it.
#[allow(async_fn_in_trait)]
pub trait Echo: Sized {
    /// The library's message type.
    type Msg: Clone;
    fn text(s: String) -> Self::Msg;
    fn binary(b: Vec<u8>) -> Self::Msg;
    /// Connects and waits until the socket is open.
    async fn open(url: &str) -> Result<Self, JsValue>;
    async fn send(&mut self, m: Self::Msg) -> Result<(), JsValue>;
    /// The next message's size in bytes (text: UTF-8), skipping any other event.
    async fn next(&mut self) -> Result<usize, JsValue>;
    fn close(self);
}

pub fn err(what: impl core::fmt::Display) -> JsValue {
    JsValue::from(js_sys::Error::new(&what.to_string()))
}

pub fn now() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or_else(js_sys::Date::now)
}

fn payload<E: Echo>(size: u32, binary: bool) -> E::Msg {
    if binary {
        E::binary(vec![0x5a; size as usize])
    } else {
        E::text("x".repeat(size as usize))
    }
}

/// ms from the first send to the `n`-th echo, `window` messages in flight.
pub async fn throughput<E: Echo>(url: String, n: u32, size: u32, binary: bool, window: u32) -> Result<f64, JsValue> {
    let mut ws = E::open(&url).await?;
    let msg = payload::<E>(size, binary);
    let t0 = now();
    let mut sent = 0;
    while sent < n.min(window) {
        ws.send(msg.clone()).await?;
        sent += 1;
    }
    let mut received = 0;
    let mut bytes = 0;
    while received < n {
        bytes += ws.next().await?;
        received += 1;
        if sent < n {
            ws.send(msg.clone()).await?;
            sent += 1;
        }
    }
    let ms = now() - t0;
    ws.close();
    if bytes != n as usize * size as usize {
        return Err(err(format!("echoed {bytes} bytes, expected {}", n as usize * size as usize)));
    }
    Ok(ms)
}

/// Round trips (ms) of `n` `size`-byte texts sent one at a time, after `warmup`.
pub async fn latency<E: Echo>(url: String, n: u32, warmup: u32, size: u32) -> Result<Vec<f64>, JsValue> {
    let mut ws = E::open(&url).await?;
    let msg = payload::<E>(size, false);
    let mut samples = Vec::with_capacity(n as usize);
    for i in 0..(warmup + n) {
        let t0 = now();
        ws.send(msg.clone()).await?;
        ws.next().await?;
        if i >= warmup {
            samples.push(now() - t0);
        }
    }
    ws.close();
    Ok(samples)
}

/// The app's exports: `throughput` and `latency` over `$t`.
#[macro_export]
macro_rules! exports {
    ($t:ty) => {
        #[wasm_bindgen::prelude::wasm_bindgen]
        pub async fn throughput(url: String, n: u32, size: u32, binary: bool, window: u32) -> Result<f64, wasm_bindgen::JsValue> {
            common::throughput::<$t>(url, n, size, binary, window).await
        }

        #[wasm_bindgen::prelude::wasm_bindgen]
        pub async fn latency(url: String, n: u32, warmup: u32, size: u32) -> Result<Vec<f64>, wasm_bindgen::JsValue> {
            common::latency::<$t>(url, n, warmup, size).await
        }
    };
}
