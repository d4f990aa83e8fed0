//! Static files from `--root` (the wasm-pack output, test pages, demo).

use std::io;
use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::header::{CONTENT_TYPE, LOCATION};
use axum::http::{HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode_str;

const CSP: &str = "script-src 'self' 'wasm-unsafe-eval'";

pub async fn serve(root: &Path, method: &Method, uri: &Uri) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return (StatusCode::METHOD_NOT_ALLOWED, "GET or HEAD only").into_response();
    }
    let Some(rel) = relative_path(uri.path()) else {
        return (StatusCode::FORBIDDEN, "path outside root").into_response();
    };
    let mut path = root.join(rel);

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

    let bytes = match tokio::fs::read(&path).await {
        Ok(b) => b,
        Err(e) if matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory) => {
            return (StatusCode::NOT_FOUND, "not found").into_response();
        }
        Err(e) => {
            eprintln!("static: {}: {e}", path.display());
            return (StatusCode::INTERNAL_SERVER_ERROR, "read error").into_response();
        }
    };

    let mime = mime_type(&path);
    let mut resp = ([(CONTENT_TYPE, mime)], Body::from(bytes)).into_response();
    if mime.starts_with("text/html") && wants_csp(uri) {
        resp.headers_mut()
            .insert("content-security-policy", HeaderValue::from_static(CSP));
    }
    resp
}

/// Decodes the URL path into a path relative to the root, refusing anything that could
/// step outside it (`..`, backslashes, NUL, invalid UTF-8). `.` and empty segments are
/// skipped.
fn relative_path(url_path: &str) -> Option<PathBuf> {
    let decoded = percent_decode_str(url_path).decode_utf8().ok()?;
    let mut rel = PathBuf::new();
    for seg in decoded.split('/') {
        match seg {
            "" | "." => {}
            ".." => return None,
            s if s.contains(['\\', '\0']) => return None,
            s => rel.push(s),
        }
    }
    Some(rel)
}

fn wants_csp(uri: &Uri) -> bool {
    let query = uri.query().unwrap_or("");
    form_urlencoded::parse(query.as_bytes()).any(|(k, v)| k == "csp" && v == "1")
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
        assert_eq!(relative_path("/pkg/a.js"), Some(PathBuf::from("pkg/a.js")));
        assert_eq!(relative_path("/./a//b/"), Some(PathBuf::from("a/b")));
        assert_eq!(relative_path("/../etc/passwd"), None);
        assert_eq!(relative_path("/a/%2e%2e/%2e%2e/etc"), None);
        assert_eq!(relative_path("/a%5c..%5cb"), None);
    }

    #[test]
    fn mime_types() {
        assert_eq!(mime_type(Path::new("x/tether_ws_bg.wasm")), "application/wasm");
        assert_eq!(mime_type(Path::new("x.MJS")), "text/javascript; charset=utf-8");
        assert_eq!(mime_type(Path::new("a.svg")), "image/svg+xml");
    }
}
