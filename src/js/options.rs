//! Reads the constructor arguments: URL, protocols and the options object, with a clear
//! error for every value of the wrong type or out of range.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::BinaryType;

use super::sink::is_function;
use crate::browser::target::{check_protocols, check_url, protocols_from_js};
use crate::browser::{DriverOptions, Source};
use crate::core::{Config, Heartbeat, Overflow};

/// Everything the constructor arguments say.
pub struct Parsed {
    pub driver: DriverOptions,
    pub should_reconnect: Option<js_sys::Function>,
    pub is_pong: Option<js_sys::Function>,
    pub debug: bool,
}

/// An error message naming the option and what it accepts.
pub fn option_error(option: &str, expected: &str) -> JsError {
    let mut m = String::from("TetherSocket: invalid option `");
    m.push_str(option);
    m.push_str("`: expected ");
    m.push_str(expected);
    JsError::new(&m)
}

/// Prefixes a message with the class name, like the browser's own errors.
pub fn error(message: &str) -> JsError {
    let mut m = String::from("TetherSocket: ");
    m.push_str(message);
    JsError::new(&m)
}

struct Reader<'a> {
    obj: Option<&'a js_sys::Object>,
    prefix: &'static str,
}

impl Reader<'_> {
    /// The raw value, `None` when absent (undefined or null).
    fn get(&self, key: &'static str) -> Result<Option<JsValue>, JsError> {
        let Some(obj) = self.obj else { return Ok(None) };
        let v = js_sys::Reflect::get(obj, &JsValue::from_str(key))
            .map_err(|_| self.err(key, "a readable property"))?;
        Ok((!v.is_undefined() && !v.is_null()).then_some(v))
    }

    fn err(&self, key: &'static str, expected: &str) -> JsError {
        let mut name = String::from(self.prefix);
        name.push_str(key);
        option_error(&name, expected)
    }

    fn number(&self, key: &'static str, default: f64) -> Result<f64, JsError> {
        match self.get(key)? {
            None => Ok(default),
            Some(v) => v
                .as_f64()
                .filter(|n| !n.is_nan())
                .ok_or_else(|| self.err(key, "a number")),
        }
    }

    /// A non-negative whole number or Infinity, saturated into `max`.
    fn count(&self, key: &'static str, max: f64) -> Result<f64, JsError> {
        let n = self.number(key, f64::INFINITY)?;
        if n < 0.0 || (n.is_finite() && n.fract() != 0.0) {
            return Err(self.err(key, "a whole number >= 0 or Infinity"));
        }
        Ok(n.min(max))
    }

    fn boolean(&self, key: &'static str, default: bool) -> Result<bool, JsError> {
        match self.get(key)? {
            None => Ok(default),
            Some(v) => v.as_bool().ok_or_else(|| self.err(key, "true or false")),
        }
    }

    fn function(&self, key: &'static str) -> Result<Option<js_sys::Function>, JsError> {
        match self.get(key)? {
            None => Ok(None),
            Some(v) if is_function(&v) => Ok(Some(v.unchecked_into())),
            Some(_) => Err(self.err(key, "a function")),
        }
    }
}

fn url_source(url: &JsValue) -> Result<(Source<String>, String), JsError> {
    if is_function(url) {
        return Ok((Source::Provider(url.clone().unchecked_into()), String::new()));
    }
    let raw = url
        .as_string()
        .ok_or_else(|| error("url must be a string or a function returning one"))?;
    let checked = check_url(&raw).map_err(|e| error(e.message()))?;
    Ok((Source::Fixed(checked.clone()), checked))
}

fn protocol_source(protocols: &JsValue) -> Result<Source<Vec<String>>, JsError> {
    if is_function(protocols) {
        return Ok(Source::Provider(protocols.clone().unchecked_into()));
    }
    let list = protocols_from_js(protocols).map_err(|e| error(e.message()))?;
    check_protocols(&list).map_err(|e| error(e.message()))?;
    Ok(Source::Fixed(list))
}

fn binary_type(v: Option<JsValue>) -> Result<BinaryType, JsError> {
    match v.and_then(|v| v.as_string()).as_deref() {
        None | Some("blob") => Ok(BinaryType::Blob),
        Some("arraybuffer") => Ok(BinaryType::Arraybuffer),
        Some(_) => Err(option_error("binaryType", "\"blob\" or \"arraybuffer\"")),
    }
}

/// Parses `new TetherSocket(url, protocols, options)`; also returns the checked URL.
pub fn parse(url: &JsValue, protocols: &JsValue, options: &JsValue) -> Result<(Parsed, String), JsError> {
    let (url, shown_url) = url_source(url)?;
    let protocols = protocol_source(protocols)?;
    let obj = if options.is_undefined() || options.is_null() {
        None
    } else {
        Some(
            options
                .dyn_ref::<js_sys::Object>()
                .ok_or_else(|| error("options must be an object"))?,
        )
    };
    let r = Reader { obj, prefix: "" };

    let mut cfg = Config::default();
    let b = &mut cfg.backoff;
    b.min_delay_ms = r.number("minReconnectionDelay", b.min_delay_ms)?;
    b.max_delay_ms = r.number("maxReconnectionDelay", b.max_delay_ms)?;
    b.grow_factor = r.number("reconnectionDelayGrowFactor", b.grow_factor)?;
    b.min_uptime_ms = r.number("minUptime", b.min_uptime_ms)?;
    b.max_retries = r.count("maxRetries", u32::MAX as f64)? as u32;
    b.jitter = r.number("jitter", b.jitter)?;
    cfg.connection_timeout_ms = r.number("connectionTimeout", cfg.connection_timeout_ms)?;
    cfg.queue.max_messages = r.count("maxEnqueuedMessages", usize::MAX as f64)? as usize;
    cfg.queue.max_bytes = r.count("maxEnqueuedBytes", u64::MAX as f64)? as u64;
    cfg.max_message_bytes = r.count("maxMessageBytes", u64::MAX as f64)? as u64;
    if let Some(v) = r.get("overflow")? {
        cfg.queue.overflow = v
            .as_string()
            .and_then(|s| Overflow::parse(&s))
            .ok_or_else(|| option_error("overflow", "\"drop-oldest\", \"drop-newest\" or \"reject\""))?;
    }
    cfg.start_closed = r.boolean("startClosed", false)?;
    cfg.reconnect_on_online = r.boolean("reconnectOnOnline", true)?;
    cfg.pause_when_hidden = r.boolean("pauseWhenHidden", false)?;
    let debug = r.boolean("debug", false)?;
    let should_reconnect = r.function("shouldReconnect")?;
    let binary_type = binary_type(r.get("binaryType")?)?;

    let (heartbeat_message, is_pong) = match r.get("heartbeat")? {
        None => (None, None),
        Some(v) => {
            let obj = v
                .dyn_ref::<js_sys::Object>()
                .ok_or_else(|| option_error("heartbeat", "an object"))?;
            let h = Reader {
                obj: Some(obj),
                prefix: "heartbeat.",
            };
            cfg.heartbeat = Some(Heartbeat {
                interval_ms: h.number("intervalMs", 30_000.0)?,
                timeout_ms: h.number("timeoutMs", 10_000.0)?,
            });
            let message = h.get("message")?.unwrap_or_else(|| JsValue::from_str("ping"));
            (Some(message), h.function("isPong")?)
        }
    };
    cfg.validate().map_err(|e| option_error(e.option, e.expected))?;

    let driver = DriverOptions {
        config: cfg,
        url,
        protocols,
        binary_type,
        heartbeat_message,
    };
    Ok((
        Parsed {
            driver,
            should_reconnect,
            is_pong,
            debug,
        },
        shown_url,
    ))
}

/// Reads `send(data, { key })`: the optional replace key.
pub fn send_key(options: &JsValue) -> Result<Option<String>, JsError> {
    if options.is_undefined() || options.is_null() {
        return Ok(None);
    }
    let obj = options
        .dyn_ref::<js_sys::Object>()
        .ok_or_else(|| error("send() options must be an object"))?;
    let key = js_sys::Reflect::get(obj, &JsValue::from_str("key")).unwrap_or(JsValue::UNDEFINED);
    if key.is_undefined() || key.is_null() {
        return Ok(None);
    }
    key.as_string()
        .map(Some)
        .ok_or_else(|| error("send() option `key` must be a string"))
}
