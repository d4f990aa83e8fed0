//! Where to connect: the Rust face's URL and subprotocol rules (the JS face has its own, in
//! src/js/helpers.js). They follow the browser's WebSocket constructor, which would throw a
//! SyntaxError; the reasons ([`UrlError`], [`ProtocolError`]) compile on every target.

use super::bindings;
use crate::api::UrlError;

/// Resolves `raw` against the page (relative URLs work as they do for `WebSocket`) and checks
/// the rules the browser would otherwise throw a SyntaxError for. Returns the absolute URL.
pub fn check_url(raw: &str) -> Result<String, UrlError> {
    let parsed = match bindings::base_url() {
        Some(base) => web_sys::Url::new_with_base(raw, &base),
        None => web_sys::Url::new(raw),
    }
    .map_err(|_| UrlError::Invalid)?;
    match parsed.protocol().as_str() {
        "ws:" | "wss:" => {}
        // Mapped as the browser's WebSocket does, so `url` shows what is really connected to.
        "http:" => parsed.set_protocol("ws:"),
        "https:" => parsed.set_protocol("wss:"),
        _ => return Err(UrlError::Scheme),
    }
    // Byte search: str::contains would pull a generic pattern searcher into the binary.
    if raw.as_bytes().contains(&b'#') {
        return Err(UrlError::Fragment);
    }
    let href = parsed.href();
    // Chromium refuses longer URLs and kills a page that passes one to `new WebSocket`.
    // (A serialized URL is ASCII: bytes are characters.)
    if href.len() > 2 * 1024 * 1024 {
        return Err(UrlError::TooLong);
    }
    Ok(href)
}

// (The subprotocol rules hold on every target: the testing transport checks them too.)
pub(crate) use crate::api::check_protocols;
