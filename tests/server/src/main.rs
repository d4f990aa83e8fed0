//! tether-test-server: the local server the tether-ws browser and JS tests talk to.
//!
//! Three loopback ports: HTTP control + static files, WebSocket endpoints, and a blackhole.
//! Prints one `ready ...` line once all are bound; exits on SIGTERM/SIGINT or after
//! `--max-lifetime-secs` so a forgotten instance cannot linger.

mod blackhole;
mod chaos;
mod conns;
mod control;
mod endpoint;
mod handshake;
mod hold;
mod listener;
mod static_files;
mod stats;
mod ws;

use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use tether_local_http::{flags, loopback_addr, main_exit, shutdown_signal};
use tokio::net::TcpListener;

const USAGE: &str = "usage: tether-test-server [--http ADDR] [--ws ADDR] [--blackhole ADDR] \
[--root DIR] [--max-lifetime-secs N]
  defaults: --http 127.0.0.1:8790 --ws 127.0.0.1:8791 --blackhole 127.0.0.1:8792
            --root . --max-lifetime-secs 3600
  addresses must be loopback; port 0 picks a free port (the ready line shows it)";

#[derive(Debug)]
struct Args {
    http: SocketAddr,
    ws: SocketAddr,
    blackhole: SocketAddr,
    root: PathBuf,
    max_lifetime: Duration,
}

/// `Ok(None)` means `--help` was asked for.
fn parse_args(it: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut args = Args {
        http: SocketAddr::from(([127, 0, 0, 1], 8790)),
        ws: SocketAddr::from(([127, 0, 0, 1], 8791)),
        blackhole: SocketAddr::from(([127, 0, 0, 1], 8792)),
        root: PathBuf::from("."),
        max_lifetime: Duration::from_secs(3600),
    };
    let Some(flags) = flags(it)? else { return Ok(None) };
    for (flag, value) in flags {
        match flag.as_str() {
            "--http" => args.http = loopback_addr(&flag, &value)?,
            "--ws" => args.ws = loopback_addr(&flag, &value)?,
            "--blackhole" => args.blackhole = loopback_addr(&flag, &value)?,
            "--root" => args.root = PathBuf::from(value),
            "--max-lifetime-secs" => {
                let secs: u64 = value
                    .parse()
                    .map_err(|e| format!("bad --max-lifetime-secs {value:?}: {e}"))?;
                args.max_lifetime = Duration::from_secs(secs);
            }
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    Ok(Some(args))
}

#[tokio::main]
async fn main() -> ExitCode {
    main_exit(
        "tether-test-server",
        USAGE,
        parse_args(std::env::args().skip(1)),
        run,
    )
    .await
}

async fn run(args: Args) -> io::Result<()> {
    if !args.root.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("--root {} is not a directory", args.root.display()),
        ));
    }
    let http = bind("--http", args.http).await?;
    let ws = bind("--ws", args.ws).await?;
    let hole = bind("--blackhole", args.blackhole).await?;
    let (http_addr, ws_addr, hole_addr) = (http.local_addr()?, ws.local_addr()?, hole.local_addr()?);

    let stats = stats::Stats::new();
    let conns = conns::Conns::new();
    let ws_control = listener::spawn(ws, Arc::clone(&stats), Arc::clone(&conns))?;
    tokio::spawn(blackhole::run(hole));
    let app = control::router(control::AppState {
        stats,
        conns,
        ws: ws_control,
        root: Arc::new(args.root),
    });
    let mut http_server = tokio::spawn(async move { axum::serve(http, app).await });

    // Installed before the ready line, so a harness that signals right after reading it is
    // handled.
    let signalled = shutdown_signal()?;

    // Exactly one line, flushed, so a harness can wait for it. Ignore write errors: a
    // harness that stopped reading stdout must not crash the server.
    {
        let mut out = io::stdout().lock();
        let _ = writeln!(out, "ready http={http_addr} ws={ws_addr} blackhole={hole_addr}");
        let _ = out.flush();
    }

    tokio::select! {
        why = signalled => eprintln!("tether-test-server: {why}, exiting"),
        () = tokio::time::sleep(args.max_lifetime) => {
            eprintln!("tether-test-server: --max-lifetime-secs reached, exiting");
        }
        res = &mut http_server => {
            return Err(io::Error::other(format!("HTTP server stopped: {res:?}")));
        }
    }
    Ok(())
}

async fn bind(what: &str, addr: SocketAddr) -> io::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| io::Error::new(e.kind(), format!("cannot bind {what} {addr}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<Args>, String> {
        parse_args(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn defaults_and_flags() {
        let Ok(Some(a)) = parse(&[]) else {
            panic!("defaults")
        };
        assert_eq!(a.http.to_string(), "127.0.0.1:8790");
        assert_eq!(a.max_lifetime, Duration::from_secs(3600));
        let Ok(Some(a)) = parse(&["--ws=127.0.0.1:0", "--root", "/tmp", "--max-lifetime-secs", "5"]) else {
            panic!("flags")
        };
        assert_eq!(a.ws.port(), 0);
        assert_eq!(a.root, PathBuf::from("/tmp"));
        assert_eq!(a.max_lifetime, Duration::from_secs(5));
        assert!(parse(&["--http", "0.0.0.0:80"]).is_err());
        assert!(parse(&["--bogus", "1"]).is_err());
        assert!(matches!(parse(&["--help"]), Ok(None)));
    }
}
