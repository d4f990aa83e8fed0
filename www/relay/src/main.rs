//! `tether-relay [--addr 127.0.0.1:8080] [--root .]`: the cursor-sharing demo's server.

use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use tether_local_http::{flags, loopback_addr, main_exit, shutdown_signal};
use tokio::net::TcpListener;

const USAGE: &str = "usage: tether-relay [--addr ADDR] [--root DIR]
  --addr ADDR  loopback address to listen on (default 127.0.0.1:8080; port 0 picks one)
  --root DIR   the tether-ws repository: serves DIR/www at / and DIR/pkg at /pkg/ (default .)
  stops on SIGINT/SIGTERM, closing every WebSocket with 1001";

struct Args {
    addr: SocketAddr,
    root: PathBuf,
}

/// `Ok(None)` for `--help`.
fn parse_args(it: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut args = Args {
        addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
        root: PathBuf::from("."),
    };
    let Some(flags) = flags(it)? else { return Ok(None) };
    for (flag, value) in flags {
        match flag.as_str() {
            "--addr" => args.addr = loopback_addr(&flag, &value)?,
            "--root" => args.root = PathBuf::from(value),
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    Ok(Some(args))
}

#[tokio::main]
async fn main() -> ExitCode {
    main_exit("tether-relay", USAGE, parse_args(std::env::args().skip(1)), run).await
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
    tether_relay::serve(listener, args.root, async move {
        let why = signal.await;
        eprintln!("tether-relay: {why}, closing connections and exiting");
    })
    .await
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
    }
}
