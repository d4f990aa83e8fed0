//! Where to connect: the URL and subprotocols, given as values or as functions called before
//! every attempt (which may return a Promise), and their validation.

use core::fmt;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::bindings;

/// Why a URL or subprotocol list cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TargetError {
    /// The URL does not parse.
    InvalidUrl,
    /// The scheme is not ws, wss, http or https.
    BadScheme,
    /// WebSocket URLs cannot carry a fragment.
    Fragment,
    /// The URL is longer than browsers accept (2 MiB).
    TooLong,
    /// A subprotocol is empty or has characters outside the HTTP token set.
    BadProtocol,
    /// A subprotocol is listed twice.
    DuplicateProtocol,
    /// A provider threw, rejected, or returned something that is not a string (or list).
    Provider,
}

impl TargetError {
    /// A message naming the problem.
    pub fn message(self) -> &'static str {
        match self {
            TargetError::InvalidUrl => "invalid WebSocket URL",
            TargetError::BadScheme => "WebSocket URL scheme must be ws:, wss:, http: or https:",
            TargetError::Fragment => "WebSocket URL must not contain a fragment (#...)",
            TargetError::TooLong => "WebSocket URL is too long (over 2 MiB)",
            TargetError::BadProtocol => {
                "subprotocol must be a non-empty HTTP token (no spaces, commas or separators)"
            }
            TargetError::DuplicateProtocol => "subprotocol listed more than once",
            TargetError::Provider => "URL or protocols provider failed or returned a wrong type",
        }
    }
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

/// Resolves `raw` against the page (relative URLs work as they do for `WebSocket`) and checks
/// the rules the browser would otherwise throw a SyntaxError for. Returns the absolute URL.
pub fn check_url(raw: &str) -> Result<String, TargetError> {
    let parsed = match bindings::base_url() {
        Some(base) => web_sys::Url::new_with_base(raw, &base),
        None => web_sys::Url::new(raw),
    }
    .map_err(|_| TargetError::InvalidUrl)?;
    match parsed.protocol().as_str() {
        "ws:" | "wss:" => {}
        // Mapped as the browser's WebSocket does, so `url` shows what is really connected to.
        "http:" => parsed.set_protocol("ws:"),
        "https:" => parsed.set_protocol("wss:"),
        _ => return Err(TargetError::BadScheme),
    }
    // Byte search: str::contains would pull a generic pattern searcher into the binary.
    if raw.as_bytes().contains(&b'#') {
        return Err(TargetError::Fragment);
    }
    let href = parsed.href();
    // Chromium refuses longer URLs and kills a page that passes one to `new WebSocket`.
    // (A serialized URL is ASCII: bytes are characters.)
    if href.len() > 2 * 1024 * 1024 {
        return Err(TargetError::TooLong);
    }
    Ok(href)
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            '!' | '#' | '$' | '%' | '&' | '\'' | '*' | '+' | '-' | '.' | '^' | '_' | '`' | '|' | '~'
        )
}

/// Checks a subprotocol list the way `new WebSocket(url, protocols)` does.
pub fn check_protocols(list: &[String]) -> Result<(), TargetError> {
    for (i, p) in list.iter().enumerate() {
        if p.is_empty() || !p.chars().all(is_token_char) {
            return Err(TargetError::BadProtocol);
        }
        if list[..i].contains(p) {
            return Err(TargetError::DuplicateProtocol);
        }
    }
    Ok(())
}

/// Reads a protocols value: a string or an array of strings (undefined/null: none).
pub fn protocols_from_js(v: &JsValue) -> Result<Vec<String>, TargetError> {
    if v.is_undefined() || v.is_null() {
        return Ok(Vec::new());
    }
    if let Some(s) = v.as_string() {
        return Ok(vec![s]);
    }
    let arr = v.dyn_ref::<js_sys::Array>().ok_or(TargetError::BadProtocol)?;
    arr.iter()
        .map(|p| p.as_string().ok_or(TargetError::BadProtocol))
        .collect()
}

/// A value known up front, or a function called before every attempt.
#[derive(Clone)]
pub enum Source<T> {
    /// Always the same.
    Fixed(T),
    /// Called with no arguments; may return the value or a Promise of it.
    Provider(js_sys::Function),
}

/// The URL and protocols for one attempt.
pub struct Target {
    /// Absolute, checked URL.
    pub url: String,
    /// Checked subprotocols.
    pub protocols: Vec<String>,
}

async fn call_provider(f: &js_sys::Function) -> Result<JsValue, TargetError> {
    let v = f.call0(&JsValue::UNDEFINED).map_err(|_| TargetError::Provider)?;
    if bindings::is_thenable(&v) {
        let promise = js_sys::Promise::resolve(&v);
        JsFuture::from(promise).await.map_err(|_| TargetError::Provider)
    } else {
        Ok(v)
    }
}

/// Resolves both sources and checks the result (with the same rules as [`check_url`] and
/// [`check_protocols`], applied in JS).
pub async fn resolve(url: &Source<String>, protocols: &Source<Vec<String>>) -> Result<Target, TargetError> {
    let url = match url {
        Source::Fixed(u) => u.clone(),
        Source::Provider(f) => {
            bindings::provided_url(&call_provider(f).await?).ok_or(TargetError::Provider)?
        }
    };
    let protocols = match protocols {
        Source::Fixed(p) => p.clone(),
        Source::Provider(f) => {
            let list = bindings::provided_protocols(&call_provider(f).await?).ok_or(TargetError::Provider)?;
            list.iter().filter_map(|p| p.as_string()).collect()
        }
    };
    Ok(Target { url, protocols })
}
