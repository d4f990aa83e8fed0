//! The checks of an upgrade request, the same for the accept loop and the axum route: the
//! origin allow-list, the subprotocol, then the application's `auth` hook.

use tether_ws::core::continuity::{app_protocol, SUBPROTOCOL};
use tokio_tungstenite::tungstenite::http::header::{HeaderMap, ORIGIN, SEC_WEBSOCKET_PROTOCOL};
use tokio_tungstenite::tungstenite::http::StatusCode;

use crate::config::{Config, Refusal, Request};

/// The subprotocol to select for `req`, or why it is refused.
pub(crate) fn check(cfg: &Config, req: &Request) -> Result<String, Refusal> {
    check_origin(cfg.allowed_origins.as_deref(), req.headers())?;
    let selected = select_protocol(&cfg.protocols, req.headers()).ok_or_else(|| {
        Refusal::new(
            StatusCode::BAD_REQUEST,
            "this endpoint speaks the tether continuity protocol: offer the subprotocol tether.v1",
        )
    })?;
    if let Some(auth) = &cfg.auth {
        auth(req)?;
    }
    Ok(selected)
}

fn check_origin(allowed: Option<&[String]>, headers: &HeaderMap) -> Result<(), Refusal> {
    let Some(allowed) = allowed else {
        return Ok(());
    };
    let origin = headers.get(ORIGIN).and_then(|v| v.to_str().ok());
    match origin {
        Some(o) if allowed.iter().any(|a| a.eq_ignore_ascii_case(o)) => Ok(()),
        Some(_) => Err(Refusal::forbidden("origin not allowed")),
        None => Err(Refusal::forbidden("an Origin header is required")),
    }
}

/// The first `tether.v1+<p>` offered for the application's protocols in their order, else
/// `tether.v1` if offered.
pub(crate) fn select_protocol(app: &[String], headers: &HeaderMap) -> Option<String> {
    let offered: Vec<&str> = headers
        .get_all(SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect();
    let tethered = app.iter().find_map(|p| {
        offered
            .iter()
            .find(|t| app_protocol(t) == Some(p.as_str()) && !p.is_empty())
            .map(|t| (*t).to_owned())
    });
    tethered.or_else(|| offered.contains(&SUBPROTOCOL).then(|| SUBPROTOCOL.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_tungstenite::tungstenite::http::HeaderValue;

    fn offering(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn selection() {
        let none: Vec<String> = Vec::new();
        let chat = vec!["chat".to_owned(), "v2".to_owned()];
        assert_eq!(
            select_protocol(&none, &offering(&["tether.v1"])).as_deref(),
            Some("tether.v1")
        );
        assert_eq!(select_protocol(&none, &offering(&[])), None);
        assert_eq!(select_protocol(&none, &offering(&["chat"])), None);
        assert_eq!(select_protocol(&none, &offering(&["tether.v1+chat, chat"])), None);
        let h = offering(&["tether.v1+v2, tether.v1+chat", "v2, chat"]);
        assert_eq!(
            select_protocol(&chat, &h).as_deref(),
            Some("tether.v1+chat"),
            "server's order"
        );
        let h = offering(&["tether.v1+other, tether.v1"]);
        assert_eq!(select_protocol(&chat, &h).as_deref(), Some("tether.v1"));
        assert_eq!(
            select_protocol(&chat, &offering(&["Tether.V1"])),
            None,
            "tokens are exact"
        );
    }

    #[test]
    fn origins() {
        let list = vec!["https://app.example".to_owned()];
        let mut h = HeaderMap::new();
        assert!(check_origin(None, &h).is_ok());
        assert_eq!(
            check_origin(Some(&list), &h).unwrap_err().status,
            StatusCode::FORBIDDEN
        );
        h.insert(ORIGIN, HeaderValue::from_static("HTTPS://APP.example"));
        assert!(check_origin(Some(&list), &h).is_ok());
        h.insert(ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(check_origin(Some(&list), &h).is_err());
    }
}
