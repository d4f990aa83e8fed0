//! The WebSocket endpoints, parsed from the upgrade request's path and query.

use std::collections::HashMap;
use std::time::Duration;

/// Upper bounds on client-chosen sizes and delays, so a typo in a test cannot make the
/// server allocate gigabytes or sleep for hours.
const MAX_BYTES: usize = 256 * 1024 * 1024;
const MAX_COUNT: u64 = 1_000_000;
const MAX_DELAY_MS: u64 = 120_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// Echo every text and binary message.
    Echo,
    /// Send `protocol:<selected>` first, then echo.
    Proto,
    /// Echo `after` messages, then close with `code`/`reason`.
    Close { code: u16, reason: String, after: u64 },
    /// Echo `after` messages, then drop the TCP connection without a close frame.
    Drop { after: u64 },
    /// Echo `after` messages, then only read and record.
    Mute { after: u64 },
    /// Never read after the handshake.
    Stall,
    /// Send `n` messages of `size` bytes first, then echo.
    Push { n: u64, size: usize, binary: bool },
    /// Send one text message of `bytes` 'a's first, then echo.
    Huge { bytes: usize },
    /// Send a text frame with invalid UTF-8 first, then echo.
    BadUtf8,
    /// Delay the handshake response by `delay`, then echo.
    Slow { delay: Duration },
    /// Record numbered messages for the chaos soak (see `chaos.rs`).
    Soak,
}

/// A parsed upgrade target: the stats key and the endpoint (`None` for an unknown path).
#[derive(Debug)]
pub struct Target {
    pub key: String,
    pub endpoint: Option<Endpoint>,
}

impl Target {
    /// `target` is the request-target of the upgrade request, e.g. `/close?code=4000&key=t1`.
    pub fn parse(target: &str) -> Target {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let q: HashMap<String, String> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
        // Unparsable numbers fall back to the default rather than failing the handshake.
        let num = |name: &str, default: u64| -> u64 {
            q.get(name).and_then(|v| v.trim().parse().ok()).unwrap_or(default)
        };
        let bytes = |name: &str, default: u64| -> usize {
            usize::try_from(num(name, default))
                .unwrap_or(MAX_BYTES)
                .min(MAX_BYTES)
        };
        let after = num("after", 0);

        let endpoint = match path {
            "/echo" => Some(Endpoint::Echo),
            "/proto" => Some(Endpoint::Proto),
            "/close" => Some(Endpoint::Close {
                code: u16::try_from(num("code", 1000)).unwrap_or(1000),
                reason: q.get("reason").cloned().unwrap_or_default(),
                after,
            }),
            "/drop" => Some(Endpoint::Drop { after }),
            "/mute" => Some(Endpoint::Mute { after }),
            "/stall" => Some(Endpoint::Stall),
            "/push" => Some(Endpoint::Push {
                n: num("n", 1).min(MAX_COUNT),
                size: bytes("size", 0),
                binary: q.get("binary").is_some_and(|v| v == "1" || v == "true"),
            }),
            "/huge" => Some(Endpoint::Huge {
                bytes: bytes("bytes", 1024 * 1024),
            }),
            "/bad-utf8" => Some(Endpoint::BadUtf8),
            "/slow" => Some(Endpoint::Slow {
                delay: Duration::from_millis(num("ms", 1000).min(MAX_DELAY_MS)),
            }),
            "/soak" => Some(Endpoint::Soak),
            _ => None,
        };
        Target {
            key: q.get("key").cloned().unwrap_or_default(),
            endpoint,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_paths_and_defaults() {
        let t = Target::parse("/close?code=4001&reason=bye%20now&after=2&key=a%2Fb");
        assert_eq!(t.key, "a/b");
        assert_eq!(
            t.endpoint,
            Some(Endpoint::Close {
                code: 4001,
                reason: "bye now".into(),
                after: 2
            })
        );
        let t = Target::parse("/close");
        assert_eq!(t.key, "");
        assert_eq!(
            t.endpoint,
            Some(Endpoint::Close {
                code: 1000,
                reason: String::new(),
                after: 0
            })
        );
        assert_eq!(Target::parse("/nope?key=x").endpoint, None);
        assert_eq!(
            Target::parse("/push?n=3&size=10&binary=1").endpoint,
            Some(Endpoint::Push {
                n: 3,
                size: 10,
                binary: true
            })
        );
        assert_eq!(
            Target::parse("/huge?bytes=zzz").endpoint,
            Some(Endpoint::Huge { bytes: 1024 * 1024 })
        );
    }
}
