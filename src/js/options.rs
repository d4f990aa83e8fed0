//! Reads the constructor arguments: URL, protocols and the options object, with a clear
//! error for every value of the wrong type or out of range. The reading and checking is
//! done in JS (options.js); this side turns the result into the driver's options.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::BinaryType;

use crate::browser::{DriverOptions, Source};
use crate::core::{Config, Heartbeat, Overflow};

#[wasm_bindgen(module = "/src/js/options.js")]
extern "C" {
    /// The arguments as options.js read them.
    type Parsed;
    #[wasm_bindgen(catch, js_name = parseOptions)]
    fn parse_options(url: &JsValue, protocols: &JsValue, options: &JsValue) -> Result<Parsed, JsValue>;
    /// The numbers and flags, in the order of options.js's list.
    #[wasm_bindgen(method, getter)]
    fn n(this: &Parsed) -> Vec<f64>;
    #[wasm_bindgen(method, getter)]
    fn url(this: &Parsed) -> JsValue;
    #[wasm_bindgen(method, getter, js_name = shownUrl)]
    fn shown_url(this: &Parsed) -> String;
    #[wasm_bindgen(method, getter)]
    fn protocols(this: &Parsed) -> JsValue;
    #[wasm_bindgen(method, getter, js_name = shouldReconnect)]
    fn should_reconnect(this: &Parsed) -> Option<js_sys::Function>;
    #[wasm_bindgen(method, getter, js_name = isPong)]
    fn is_pong(this: &Parsed) -> Option<js_sys::Function>;
    #[wasm_bindgen(method, getter)]
    fn message(this: &Parsed) -> JsValue;

    #[wasm_bindgen(catch, js_name = sendKey)]
    fn send_key_js(options: &JsValue) -> Result<Option<String>, JsValue>;
}

/// Everything the constructor arguments say.
pub struct Options {
    pub driver: DriverOptions,
    pub should_reconnect: Option<js_sys::Function>,
    pub is_pong: Option<js_sys::Function>,
    pub debug: bool,
    /// The checked URL, for debug logs ("" for a URL provider).
    pub shown_url: String,
}

/// Prefixes a message with the class name, like the browser's own errors.
pub fn error(message: &str) -> JsError {
    let mut m = String::from("TetherSocket: ");
    m.push_str(message);
    JsError::new(&m)
}

fn source<T>(v: JsValue, fixed: impl FnOnce(JsValue) -> T) -> Source<T> {
    match v.dyn_into::<js_sys::Function>() {
        Ok(f) => Source::Provider(f),
        Err(v) => Source::Fixed(fixed(v)),
    }
}

/// Parses `new TetherSocket(url, protocols, options)`; throws what options.js threw.
pub fn parse(url: &JsValue, protocols: &JsValue, options: &JsValue) -> Result<Options, JsValue> {
    let p = parse_options(url, protocols, options)?;
    let n = p.n();
    let n = |i: usize| n.get(i).copied().unwrap_or(f64::NAN);
    let flag = |i| n(i) != 0.0;
    let mut config = Config::default();
    let b = &mut config.backoff;
    b.min_delay_ms = n(0);
    b.max_delay_ms = n(1);
    b.grow_factor = n(2);
    b.min_uptime_ms = n(3);
    // (Casts saturate: Infinity becomes the type's largest value, which means no limit.)
    b.max_retries = n(4) as u32;
    b.jitter = n(5);
    config.connection_timeout_ms = n(6);
    let q = &mut config.queue;
    q.max_messages = n(7) as usize;
    q.max_bytes = n(8) as u64;
    q.overflow = [Overflow::DropOldest, Overflow::DropNewest, Overflow::Reject][n(10) as usize % 3];
    config.max_message_bytes = n(9) as u64;
    config.start_closed = flag(11);
    config.reconnect_on_online = flag(12);
    config.pause_when_hidden = flag(13);
    config.heartbeat = (!n(16).is_nan()).then(|| Heartbeat {
        interval_ms: n(16),
        timeout_ms: n(17),
    });
    let heartbeat_message = config.heartbeat.map(|_| p.message());
    let driver = DriverOptions {
        config,
        url: source(p.url(), |v| v.as_string().unwrap_or_default()),
        protocols: source(p.protocols(), |v| {
            let list: js_sys::Array = v.unchecked_into();
            list.iter().filter_map(|s| s.as_string()).collect()
        }),
        binary_type: if flag(15) {
            BinaryType::Arraybuffer
        } else {
            BinaryType::Blob
        },
        heartbeat_message,
    };
    Ok(Options {
        driver,
        should_reconnect: p.should_reconnect(),
        is_pong: p.is_pong(),
        debug: flag(14),
        shown_url: p.shown_url(),
    })
}

/// Reads `send(data, { key })`: the optional replace key.
pub fn send_key(options: &JsValue) -> Result<Option<String>, JsValue> {
    if options.is_undefined() || options.is_null() {
        return Ok(None);
    }
    send_key_js(options)
}
