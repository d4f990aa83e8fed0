//! Static files: the repo's `pkg/` at `/pkg/`, `www/` at `/` (but not `www/relay/`).

use std::io;
use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use axum::http::{HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode_str;

/// Sent with every HTML page: the demo has no inline script.
pub const CSP: &str = "script-src 'self' 'wasm-unsafe-eval'";

pub async fn serve(root: &Path, method: &Method, uri: &Uri) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return (StatusCode::METHOD_NOT_ALLOWED, "GET or HEAD only").into_response();
    }
    let Some(mut path) = resolve(root, uri.path()) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };

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
            let hint = if uri.path().starts_with("/pkg/") {
                "not found (pkg/ is built by `bash scripts/build-pkg.sh`)"
            } else {
                "not found"
            };
            return (StatusCode::NOT_FOUND, hint).into_response();
        }
        Err(e) => {
            eprintln!("tether-relay: {}: {e}", path.display());
            return (StatusCode::INTERNAL_SERVER_ERROR, "read error").into_response();
        }
    };

    let mime = mime_type(&path);
    let mut resp = ([(CONTENT_TYPE, mime)], Body::from(bytes)).into_response();
    let headers = resp.headers_mut();
    // A demo is rebuilt and reloaded often: always revalidate.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if mime.starts_with("text/html") {
        headers.insert("content-security-policy", HeaderValue::from_static(CSP));
    }
    resp
}

/// The file for a URL path: `/pkg/...` under `root/pkg`, anything else under `root/www`.
/// `None` for paths that could leave those directories (`..`, backslashes, NUL, invalid
/// UTF-8), dotfiles, and the relay's own sources (`/relay/...`).
fn resolve(root: &Path, url_path: &str) -> Option<PathBuf> {
    let decoded = percent_decode_str(url_path).decode_utf8().ok()?;
    let mut segs = Vec::new();
    for seg in decoded.split('/') {
        match seg {
            "" | "." => {}
            s if s.starts_with('.') || s.contains(['\\', '\0']) => return None,
            s => segs.push(s),
        }
    }
    let mut path = match segs.first() {
        Some(&"pkg") => {
            segs.remove(0);
            root.join("pkg")
        }
        Some(&"relay") => return None,
        _ => root.join("www"),
    };
    path.extend(segs);
    Some(path)
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
    fn paths() {
        let r = Path::new("/r");
        assert_eq!(resolve(r, "/"), Some(PathBuf::from("/r/www")));
        assert_eq!(resolve(r, "/app.js"), Some(PathBuf::from("/r/www/app.js")));
        assert_eq!(
            resolve(r, "/pkg/tether_ws.js"),
            Some(PathBuf::from("/r/pkg/tether_ws.js"))
        );
        assert_eq!(resolve(r, "/./a//b/"), Some(PathBuf::from("/r/www/a/b")));
        assert_eq!(resolve(r, "/../etc/passwd"), None);
        assert_eq!(resolve(r, "/pkg/%2e%2e/Cargo.toml"), None);
        assert_eq!(resolve(r, "/a%5c..%5cb"), None);
        assert_eq!(resolve(r, "/relay/src/main.rs"), None);
        assert_eq!(resolve(r, "/.git/config"), None);
        assert_eq!(resolve(r, "/%ff"), None);
    }

    #[test]
    fn mime_types() {
        assert_eq!(mime_type(Path::new("x/tether_ws_bg.wasm")), "application/wasm");
        assert_eq!(mime_type(Path::new("x.MJS")), "text/javascript; charset=utf-8");
        assert_eq!(mime_type(Path::new("index.html")), "text/html; charset=utf-8");
    }
}
