//! `tether-relay [--addr 127.0.0.1:8080] [--root .]`: the cursor-sharing demo's server.

use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

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
fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut args = Args {
        addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
        root: PathBuf::from("."),
    };
    while let Some(arg) = it.next() {
        if arg == "-h" || arg == "--help" {
            return Ok(None);
        }
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) => (f.to_owned(), Some(v.to_owned())),
            None => (arg, None),
        };
        let value = inline
            .or_else(|| it.next())
            .ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--addr" => {
                let a: SocketAddr = value.parse().map_err(|e| format!("bad --addr {value:?}: {e}"))?;
                if !a.ip().is_loopback() {
                    return Err(format!(
                        "refusing non-loopback address {a}: the demo relay is for this machine only"
                    ));
                }
                args.addr = a;
            }
            "--root" => args.root = PathBuf::from(value),
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    Ok(Some(args))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(a)) => a,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("tether-relay: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tether-relay: {e}");
            ExitCode::FAILURE
        }
    }
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
    if !args.root.join("pkg").join("tether_ws.js").is_file() {
        eprintln!(
            "tether-relay: warning: pkg/tether_ws.js is missing; build it with `bash scripts/build-pkg.sh`"
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
            "tether-relay: serving {} (www/ at /, pkg/ at /pkg/, WebSocket at /ws)",
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

/// Installs the SIGINT/SIGTERM handlers now; the future resolves on either, naming it.
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
