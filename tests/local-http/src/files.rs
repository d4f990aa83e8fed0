//! Static files: URL paths decoded safely, and a file (or a directory's index.html) turned
//! into a response with its content type.

use std::io;
use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::header::{CONTENT_TYPE, LOCATION};
use axum::http::{HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode_str;

/// The segments of a URL path, percent-decoded, without empty and `.` segments. `None` for
/// anything that could step outside a root directory: `..`, backslashes, NUL, invalid UTF-8.
///
/// ```
/// use tether_local_http::url_segments;
/// assert_eq!(url_segments("/pkg//./a%20b.js").unwrap(), ["pkg", "a b.js"]);
/// assert_eq!(url_segments("/a/%2e%2e/b"), None);
/// ```
pub fn url_segments(url_path: &str) -> Option<Vec<String>> {
    let decoded = percent_decode_str(url_path).decode_utf8().ok()?;
    let mut segs = Vec::new();
    for seg in decoded.split('/') {
        match seg {
            "" | "." => {}
            ".." => return None,
            s if s.contains(['\\', '\0']) => return None,
            s => segs.push(s.to_owned()),
        }
    }
    Some(segs)
}

/// Serves the file at `path` for a request of `method` to `uri`: GET and HEAD only; a
/// directory redirects to its `/` form, then serves its `index.html`; 404 when missing.
pub async fn file_response(method: &Method, uri: &Uri, mut path: PathBuf) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return (StatusCode::METHOD_NOT_ALLOWED, "GET or HEAD only").into_response();
    }
    if tokio::fs::metadata(&path).await.is_ok_and(|m| m.is_dir()) {
        // Redirect `/dir` to `/dir/` so relative URLs inside its index.html resolve.
        if !uri.path().ends_with('/') {
            let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
            let location = format!("{}/{query}", uri.path());
            return match HeaderValue::from_str(&location) {
                Ok(loc) => (StatusCode::PERMANENT_REDIRECT, [(LOCATION, loc)]).into_response(),
                Err(_) => StatusCode::BAD_REQUEST.into_response(),
            };
        }
        path.push("index.html");
    }
    match tokio::fs::read(&path).await {
        Ok(bytes) => ([(CONTENT_TYPE, mime_type(&path))], Body::from(bytes)).into_response(),
        Err(e) if matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory) => {
            (StatusCode::NOT_FOUND, "not found").into_response()
        }
        Err(e) => {
            eprintln!("static: {}: {e}", path.display());
            (StatusCode::INTERNAL_SERVER_ERROR, "read error").into_response()
        }
    }
}

/// Whether a response is an HTML page (for headers such as a Content-Security-Policy).
pub fn is_html(resp: &Response) -> bool {
    resp.headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"))
}

fn mime_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "css" => "text/css; charset=utf-8",
        "txt" | "md" | "ts" => "text/plain; charset=utf-8",
        "png" => "image/png",
        "ico" => "image/x-icon",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traversal_is_refused() {
        assert_eq!(url_segments("/pkg/a.js").unwrap(), ["pkg", "a.js"]);
        assert_eq!(url_segments("/./a//b/").unwrap(), ["a", "b"]);
        assert_eq!(url_segments("/../etc/passwd"), None);
        assert_eq!(url_segments("/a/%2e%2e/%2e%2e/etc"), None);
        assert_eq!(url_segments("/a%5c..%5cb"), None);
        assert_eq!(url_segments("/%00"), None);
        assert_eq!(url_segments("/%ff"), None);
    }

    #[test]
    fn mime_types() {
        assert_eq!(mime_type(Path::new("x/tether_ws_bg.wasm")), "application/wasm");
        assert_eq!(mime_type(Path::new("x.MJS")), "text/javascript; charset=utf-8");
        assert_eq!(mime_type(Path::new("a.svg")), "image/svg+xml");
        assert_eq!(mime_type(Path::new("index.html")), "text/html; charset=utf-8");
    }
}
