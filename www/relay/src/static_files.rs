//! Static files: the repo's `pkg/` at `/pkg/`, `www/` at `/` (but not `www/relay/`).

use std::path::{Path, PathBuf};

use axum::http::header::CACHE_CONTROL;
use axum::http::{HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use tether_local_http::{file_response, is_html, url_segments};

/// Sent with every HTML page: the demo has no inline script.
pub const CSP: &str = "script-src 'self' 'wasm-unsafe-eval'";

pub async fn serve(root: &Path, method: &Method, uri: &Uri) -> Response {
    let Some(path) = resolve(root, uri.path()) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let mut resp = file_response(method, uri, path).await;
    if resp.status() == StatusCode::NOT_FOUND && uri.path().starts_with("/pkg/") {
        return (
            StatusCode::NOT_FOUND,
            "not found (pkg/ is built by `bash scripts/build-pkg.sh`)",
        )
            .into_response();
    }
    let html = is_html(&resp);
    let headers = resp.headers_mut();
    // A demo is rebuilt and reloaded often: always revalidate.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if html {
        headers.insert("content-security-policy", HeaderValue::from_static(CSP));
    }
    resp
}

/// The file for a URL path: `/pkg/...` under `root/pkg`, anything else under `root/www`.
/// `None` for paths that could leave those directories, dotfiles, and the relay's own
/// sources (`/relay/...`).
fn resolve(root: &Path, url_path: &str) -> Option<PathBuf> {
    let mut segs = url_segments(url_path)?;
    if segs.iter().any(|s| s.starts_with('.')) {
        return None;
    }
    let mut path = match segs.first().map(String::as_str) {
        Some("pkg") => {
            segs.remove(0);
            root.join("pkg")
        }
        Some("relay") => return None,
        _ => root.join("www"),
    };
    path.extend(segs);
    Some(path)
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
            resolve(r, "/pkg/index.js"),
            Some(PathBuf::from("/r/pkg/index.js"))
        );
        assert_eq!(resolve(r, "/./a//b/"), Some(PathBuf::from("/r/www/a/b")));
        assert_eq!(resolve(r, "/../etc/passwd"), None);
        assert_eq!(resolve(r, "/pkg/%2e%2e/Cargo.toml"), None);
        assert_eq!(resolve(r, "/a%5c..%5cb"), None);
        assert_eq!(resolve(r, "/relay/src/main.rs"), None);
        assert_eq!(resolve(r, "/.git/config"), None);
        assert_eq!(resolve(r, "/%ff"), None);
    }
}
