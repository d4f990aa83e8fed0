//! `/live`: the reference continuity server ([`tether_server::Server`]) owned by the relay,
//! with the demo's small application: a numbered feed `{"n":k}` (k = 1, 2, … per session)
//! every [`FEED_MS`] to every live session, and an echo of the page's numbered messages
//! (`{"m":k}` back as `{"m":k}`; anything else is ignored).
//!
//! What the page shows from it: every feed number once and in order, every message echoed
//! once, across its reconnects, for as long as the relay keeps the session (a relay restart
//! loses it: the page's `resume` event says `resumed: false, reason: "unknown"`).

use std::collections::HashMap;
use std::time::Duration;

use serde::Deserialize;
use tether_server::{Config, Events, Server, ServerEvent, Sid};

/// The period of the numbered feed, ms.
pub const FEED_MS: u64 = 500;

/// The server's settings: the defaults, but a payload as small as `/ws` allows (the page
/// sends `{"m":k}`). Any `Origin` is accepted, as on `/ws` (the relay listens on loopback
/// only).
pub fn config() -> Config {
    Config {
        max_message_bytes: crate::ws::MAX_MESSAGE,
        allowed_origins: None,
        ..Config::default()
    }
}

/// A numbered message of the page.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Numbered {
    m: u64,
}

/// Runs the application until the server shuts down (its events end).
pub async fn application(server: Server, mut events: Events) {
    // Live sessions, with the last number each was fed.
    let mut live: HashMap<Sid, u64> = HashMap::new();
    let mut feed = tokio::time::interval(Duration::from_millis(FEED_MS));
    feed.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            ev = events.recv() => match ev {
                Some(ServerEvent::Opened { sid, .. }) => {
                    live.entry(sid).or_insert(0);
                }
                Some(ServerEvent::Message { sid, payload }) => {
                    let echo = payload
                        .as_text()
                        .and_then(|t| serde_json::from_str::<Numbered>(t).ok());
                    if let Some(Numbered { m }) = echo {
                        let _ = server.send(&sid, format!(r#"{{"m":{m}}}"#));
                    }
                }
                Some(ServerEvent::Ended { sid, .. } | ServerEvent::Moved { sid, .. }) => {
                    live.remove(&sid);
                }
                Some(_) => {}
                None => return,
            },
            _ = feed.tick() => {
                live.retain(|sid, n| {
                    *n += 1;
                    server.send(sid, format!(r#"{{"n":{n}}}"#)).is_ok()
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered() {
        let parse = |s: &str| serde_json::from_str::<Numbered>(s).ok().map(|n| n.m);
        assert_eq!(parse(r#"{"m":7}"#), Some(7));
        assert_eq!(parse(r#"{"m":-1}"#), None);
        assert_eq!(parse(r#"{"m":"7"}"#), None);
        assert_eq!(parse(r#"{"m":7,"x":1}"#), None);
        assert_eq!(parse("hi"), None);
    }
}
