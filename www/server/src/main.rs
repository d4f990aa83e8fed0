//! `tether-server`: the reference server as a program, for tests and demos. An echo
//! application (every message from a session goes back to that session), plus a numbered
//! feed (`--feed-ms N`: `{"n":k}` to every live session every N ms, k being the message's
//! place in the session's stream from the server, echoes counted: so it goes on across
//! nodes). With `--store redis://…`, several of them on one Redis share their sessions: a
//! client resumes on any. Prints `listening on ADDR` once bound; exits on SIGINT/SIGTERM,
//! closing every connection with 1001.
#![forbid(unsafe_code)]

use std::collections::HashSet;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use tether_server::{Config, Server, ServerEvent, Sid};
use tokio::net::TcpListener;

const USAGE: &str = "usage: tether-server [FLAG VALUE]...
  --listen ADDR             loopback address to listen on (default 127.0.0.1:8793; port 0 picks one)
  --feed-ms N               also send {\"n\":k} to every live session every N ms (k: the message's place in the session's stream)
  --store URL               share sessions with other servers on Redis (redis://127.0.0.1:6379/0; env TETHER_STORE)
  --store-prefix P          the prefix of the store's keys (default tether:)
  --ttl-ms N                how long a session outlives its connection (default 120000)
  --window N                unacknowledged messages per direction (default 256)
  --window-bytes N          unacknowledged bytes per direction (default 1048576)
  --max-queued N            messages a session queues beyond its window before it ends (default 1024)
  --max-queued-bytes N      the same in bytes (default 4194304)
  --max-sessions N          sessions at most (default 10000; past it a hello is closed with 4003)
  --max-connections N       connections at most (default 1024; past it a connection is dropped)
  --max-message-bytes N     largest client payload (default 1048576; larger: close 1009)
  --hello-timeout-ms N      from accept to hello (default 10000; then close 4002)
  --idle-timeout-ms N       silence (no frame, no pong to our ping) before close 1001 (default 60000; 0: off)
  --protocol P              an application subprotocol: selects tether.v1+P when offered (repeatable)
  --origin O                allow only this Origin (repeatable; default: any)
  the echo: every message from a session is sent back to it; stops on SIGINT/SIGTERM";

#[derive(Debug)]
struct Args {
    listen: SocketAddr,
    feed_ms: Option<u64>,
    store: Option<String>,
    store_prefix: String,
    cfg: Config,
}

fn number<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("bad {flag} {value:?}: a number expected"))
}

/// `Ok(None)` for `--help`. Flags take a value: `--flag value` or `--flag=value`.
fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut args = Args {
        listen: SocketAddr::from(([127, 0, 0, 1], 8793)),
        feed_ms: None,
        store: std::env::var("TETHER_STORE").ok().filter(|s| !s.is_empty()),
        store_prefix: "tether:".to_owned(),
        cfg: Config::default(),
    };
    while let Some(arg) = it.next() {
        if arg == "-h" || arg == "--help" {
            return Ok(None);
        }
        let (flag, value) = match arg.split_once('=') {
            Some((f, v)) => (f.to_owned(), v.to_owned()),
            None => {
                let value = it.next().ok_or_else(|| format!("{arg} needs a value"))?;
                (arg, value)
            }
        };
        let (f, v) = (flag.as_str(), value.as_str());
        let s = &mut args.cfg.sessions;
        match f {
            "--listen" => {
                let a: SocketAddr = v.parse().map_err(|e| format!("bad {f} {v:?}: {e}"))?;
                if !a.ip().is_loopback() {
                    return Err(format!(
                        "refusing non-loopback address {a}: this program is for tests and demos on this machine"
                    ));
                }
                args.listen = a;
            }
            "--feed-ms" => args.feed_ms = Some(number::<u64>(f, v)?.max(1)),
            "--store" => args.store = Some(value),
            "--store-prefix" => args.store_prefix = value,
            "--ttl-ms" => s.ttl_ms = number(f, v)?,
            "--window" => s.window.messages = number::<u32>(f, v)?.clamp(1, 65_536),
            "--window-bytes" => s.window.bytes = number::<u64>(f, v)?.max(1),
            "--max-queued" => s.max_queued_messages = number(f, v)?,
            "--max-queued-bytes" => s.max_queued_bytes = number(f, v)?,
            "--max-sessions" => s.max_sessions = number(f, v)?,
            "--max-connections" => args.cfg.max_connections = number(f, v)?,
            "--max-message-bytes" => args.cfg.max_message_bytes = number(f, v)?,
            "--hello-timeout-ms" => args.cfg.hello_timeout_ms = number(f, v)?,
            "--idle-timeout-ms" => args.cfg.idle_timeout_ms = number(f, v)?,
            "--protocol" => args.cfg.protocols.push(value),
            "--origin" => args.cfg.allowed_origins.get_or_insert_with(Vec::new).push(value),
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    Ok(Some(args))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("tether-server: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tether-server: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> io::Result<()> {
    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {}: {e}", args.listen)))?;
    let addr = listener.local_addr()?;
    let signal = shutdown_signal()?;
    let mut cfg = args.cfg;
    if let Some(url) = &args.store {
        cfg.store = Some(connect_store(url, &args.store_prefix).await?);
    }
    let server = Server::new(cfg);
    let events = server
        .events()
        .ok_or_else(|| io::Error::other("events already taken"))?;
    {
        // A flushed line a script can wait for; a closed stdout is not an error.
        let mut out = io::stdout().lock();
        let _ = writeln!(out, "listening on {addr}");
        let _ = out.flush();
    }
    let serving = tokio::spawn({
        let server = server.clone();
        async move { server.serve(listener).await }
    });
    let app = tokio::spawn(application(server.clone(), events, args.feed_ms));
    let why = signal.await;
    eprintln!("tether-server: {why}, closing connections and exiting");
    server.shutdown();
    let _ = serving.await;
    let _ = tokio::time::timeout(Duration::from_secs(2), app).await;
    // Let the connections write their 1001 (each gives up after 1 s).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    while server.connections() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// The Redis store of `--store`.
#[cfg(feature = "redis")]
async fn connect_store(url: &str, prefix: &str) -> io::Result<Arc<dyn tether_server::SessionStore>> {
    use tether_server::SessionStore;
    let store = tether_server::RedisStore::connect(url, prefix)
        .await
        .map_err(|e| io::Error::other(e.to_string()))?;
    eprintln!("tether-server: sessions shared on Redis, node {}", store.node());
    Ok(Arc::new(store))
}

#[cfg(not(feature = "redis"))]
async fn connect_store(_: &str, _: &str) -> io::Result<Arc<dyn tether_server::SessionStore>> {
    Err(io::Error::other(
        "--store needs the `redis` feature (built without it)",
    ))
}

/// Echo, and the numbered feed.
async fn application(server: Server, mut events: tether_server::Events, feed_ms: Option<u64>) {
    // Live sessions.
    let mut live: HashSet<Sid> = HashSet::new();
    let mut feed = feed_ms.map(|ms| tokio::time::interval(Duration::from_millis(ms)));
    loop {
        let tick = async {
            match feed.as_mut() {
                Some(f) => {
                    f.tick().await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            ev = events.recv() => match ev {
                Some(ServerEvent::Opened { sid, .. }) => {
                    live.insert(sid);
                }
                Some(ServerEvent::Message { sid, payload }) => {
                    let _ = server.send(&sid, payload);
                }
                Some(ServerEvent::Ended { sid, .. } | ServerEvent::Moved { sid, .. }) => {
                    live.remove(&sid);
                }
                Some(_) => {}
                None => return,
            },
            () = tick => {
                live.retain(|sid| {
                    let n = server.sent(sid).unwrap_or(0) + 1;
                    server.send(sid, format!(r#"{{"n":{n}}}"#)).is_ok()
                });
            }
        }
    }
}

/// Resolves on SIGINT or SIGTERM (installed now, so a signal right after the ready line is
/// handled), naming it.
#[cfg(unix)]
fn shutdown_signal() -> io::Result<impl std::future::Future<Output = &'static str>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = int.recv() => "SIGINT",
            _ = term.recv() => "SIGTERM",
        }
    })
}

/// Resolves on Ctrl-C.
#[cfg(not(unix))]
fn shutdown_signal() -> io::Result<impl std::future::Future<Output = &'static str>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(a: &[&str]) -> Result<Option<Args>, String> {
        parse_args(a.iter().map(|s| s.to_string()))
    }

    #[test]
    fn args() {
        let Ok(Some(a)) = parse(&[]) else {
            panic!("defaults")
        };
        assert_eq!(a.listen.to_string(), "127.0.0.1:8793");
        assert_eq!(a.feed_ms, None);
        let Ok(Some(a)) = parse(&[
            "--listen=127.0.0.1:0",
            "--feed-ms",
            "50",
            "--ttl-ms",
            "500",
            "--window",
            "8",
            "--protocol",
            "chat",
            "--origin",
            "http://x",
        ]) else {
            panic!("flags")
        };
        assert_eq!(a.listen.port(), 0);
        assert_eq!(a.feed_ms, Some(50));
        assert_eq!(a.cfg.sessions.ttl_ms, 500);
        assert_eq!(a.cfg.sessions.window.messages, 8);
        assert_eq!(a.cfg.protocols, ["chat"]);
        assert_eq!(
            a.cfg.allowed_origins.as_deref(),
            Some(&["http://x".to_owned()][..])
        );
        assert!(parse(&["--listen", "0.0.0.0:8793"]).is_err());
        assert!(parse(&["--ttl-ms", "soon"]).is_err());
        assert!(parse(&["--window"]).is_err());
        assert!(parse(&["--nope", "1"]).is_err());
        assert!(matches!(parse(&["--help"]), Ok(None)));
    }
}
