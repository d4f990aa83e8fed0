//! Static files from `--root` (the wasm-pack output, test pages, demo). HTML pages get a
//! strict Content-Security-Policy when asked with `?csp=1`.

use std::path::Path;

use axum::http::{HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use tether_local_http::{file_response, is_html, url_segments};

const CSP: &str = "script-src 'self' 'wasm-unsafe-eval'";

pub async fn serve(root: &Path, method: &Method, uri: &Uri) -> Response {
    let Some(segs) = url_segments(uri.path()) else {
        return (StatusCode::FORBIDDEN, "path outside root").into_response();
    };
    let mut resp = file_response(method, uri, root.join(segs.join("/"))).await;
    if is_html(&resp) && wants_csp(uri) {
        resp.headers_mut()
            .insert("content-security-policy", HeaderValue::from_static(CSP));
    }
    resp
}

fn wants_csp(uri: &Uri) -> bool {
    let query = uri.query().unwrap_or("");
    form_urlencoded::parse(query.as_bytes()).any(|(k, v)| k == "csp" && v == "1")
}
