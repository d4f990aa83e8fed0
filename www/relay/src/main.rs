//! `tether-relay [--addr 127.0.0.1:8080] [--root .] [--broker redis://..]`: the
//! cursor-sharing demo's server.

#![forbid(unsafe_code)]

use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use tether_local_http::{flags, loopback_addr, main_exit, shutdown_signal};
use tether_relay::broker::{Broker, InProcess};
use tether_relay::redis_broker::{self, RedisBroker};
use tokio::net::TcpListener;

const USAGE: &str =
    "usage: tether-relay [--addr ADDR] [--root DIR] [--broker URL [--broker-prefix P] [--broker-ttl-ms MS]]
  --addr ADDR          loopback address to listen on (default 127.0.0.1:8080; port 0 picks one)
  --root DIR           the tether-ws repository: serves DIR/www at / and DIR/pkg at /pkg/ (default .)
  --broker URL         share cursors with every relay on this Redis (7+), e.g. redis://127.0.0.1:6379/0
                       (default: $TETHER_BROKER, else this relay alone)
  --broker-prefix P    prefix of the Redis keys and channel (default tether:)
  --broker-ttl-ms MS   a relay's cursors outlive it (or its link to Redis) by at most about MS
                       (default 5000; 300 to 600000)
  stops on SIGINT/SIGTERM, closing every WebSocket with 1001";

struct Args {
    addr: SocketAddr,
    root: PathBuf,
    broker: Option<redis_broker::Config>,
}

/// `Ok(None)` for `--help`. `env_broker` is `$TETHER_BROKER`, used without `--broker`.
fn parse_args(it: impl Iterator<Item = String>, env_broker: Option<String>) -> Result<Option<Args>, String> {
    let mut args = Args {
        addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
        root: PathBuf::from("."),
        broker: None,
    };
    let mut url = env_broker.filter(|u| !u.is_empty());
    let mut prefix = redis_broker::Config::DEFAULT_PREFIX.to_owned();
    let mut ttl = redis_broker::Config::DEFAULT_TTL;
    let Some(flags) = flags(it)? else { return Ok(None) };
    for (flag, value) in flags {
        match flag.as_str() {
            "--addr" => args.addr = loopback_addr(&flag, &value)?,
            "--root" => args.root = PathBuf::from(value),
            "--broker" => url = Some(value),
            "--broker-prefix" => prefix = value,
            "--broker-ttl-ms" => match value.parse::<u64>() {
                Ok(ms @ 300..=600_000) => ttl = Duration::from_millis(ms),
                _ => return Err(format!("bad {flag} {value:?}: milliseconds, 300 to 600000")),
            },
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    if let Some(url) = url {
        if !url.starts_with("redis://") {
            return Err(format!(
                "bad --broker (or TETHER_BROKER) {url:?}: expected redis://host:port/db"
            ));
        }
        if prefix.len() > 64 || prefix.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!(
                "bad --broker-prefix {prefix:?}: at most 64 characters, no spaces"
            ));
        }
        args.broker = Some(redis_broker::Config { url, prefix, ttl });
    }
    Ok(Some(args))
}

#[tokio::main]
async fn main() -> ExitCode {
    let env_broker = std::env::var("TETHER_BROKER").ok();
    main_exit(
        "tether-relay",
        USAGE,
        parse_args(std::env::args().skip(1), env_broker),
        run,
    )
    .await
}

async fn run(args: Args) -> io::Result<()> {
    if !args.root.join("www").join("index.html").is_file() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "{} is not the tether-ws repository (no www/index.html); pass --root",
                args.root.display()
            ),
        ));
    }
    if !args.root.join("pkg").join("continuity.js").is_file() {
        eprintln!(
            "tether-relay: warning: pkg/continuity.js is missing; build it with `bash scripts/build-pkg.sh`"
        );
    }
    let listener = TcpListener::bind(args.addr)
        .await
        .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {}: {e}", args.addr)))?;
    let addr = listener.local_addr()?;
    // Connected before the ready line below, so that a script waiting for it gets a relay
    // that shares its cursors already.
    let broker: Arc<dyn Broker> = match args.broker {
        None => Arc::new(InProcess),
        Some(config) => {
            let prefix = config.prefix.clone();
            let broker = RedisBroker::connect(config).await.map_err(io::Error::other)?;
            println!(
                "tether-relay: sharing cursors through Redis as node {} (keys {prefix}*)",
                broker.node()
            );
            broker
        }
    };
    let signal = shutdown_signal()?;
    {
        // Flushed lines a script can wait for; write errors (closed stdout) are ignored.
        let mut out = io::stdout().lock();
        let _ = writeln!(
            out,
            "tether-relay: serving {} (www/ at /, pkg/ at /pkg/, WebSockets at /ws and /live)",
            args.root.display()
        );
        let _ = writeln!(out, "open http://{addr}/");
        let _ = out.flush();
    }
    tether_relay::serve(listener, args.root, broker, async move {
        let why = signal.await;
        eprintln!("tether-relay: {why}, closing connections and exiting");
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(a: &[&str]) -> Result<Option<Args>, String> {
        parse_args(a.iter().map(|s| s.to_string()), None)
    }

    #[test]
    fn args() {
        let Ok(Some(a)) = parse(&[]) else {
            panic!("defaults")
        };
        assert_eq!(a.addr.to_string(), "127.0.0.1:8080");
        let Ok(Some(a)) = parse(&["--addr=127.0.0.1:0", "--root", "/tmp"]) else {
            panic!("flags")
        };
        assert_eq!(a.addr.port(), 0);
        assert_eq!(a.root, PathBuf::from("/tmp"));
        assert!(parse(&["--addr", "0.0.0.0:8080"]).is_err());
        assert!(parse(&["--addr"]).is_err());
        assert!(parse(&["--nope", "1"]).is_err());
        assert!(matches!(parse(&["--help"]), Ok(None)));
        assert!(a.broker.is_none());
    }

    #[test]
    fn broker_flags_and_env() {
        let Ok(Some(a)) = parse(&["--broker", "redis://127.0.0.1:6379/0"]) else {
            panic!("--broker")
        };
        let b = a.broker.expect("redis");
        assert_eq!((b.prefix.as_str(), b.ttl), ("tether:", Duration::from_secs(5)));
        let env = Some("redis://127.0.0.1:1/0".to_owned());
        let Ok(Some(a)) = parse_args(["--broker-ttl-ms=1000".to_owned()].into_iter(), env.clone()) else {
            panic!("env")
        };
        let b = a.broker.expect("redis from the environment");
        assert_eq!(
            (b.url.as_str(), b.ttl),
            ("redis://127.0.0.1:1/0", Duration::from_secs(1))
        );
        let Ok(Some(a)) = parse_args(["--broker-prefix=x:".to_owned()].into_iter(), Some(String::new()))
        else {
            panic!("empty env")
        };
        assert!(a.broker.is_none(), "an empty TETHER_BROKER is no broker");
        assert!(parse(&["--broker", "http://x"]).is_err());
        assert!(parse(&["--broker", "redis://h", "--broker-ttl-ms", "10"]).is_err());
        assert!(parse(&["--broker", "redis://h", "--broker-prefix", "a b"]).is_err());
    }
}
