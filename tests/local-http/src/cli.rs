//! The command line (`--flag value` or `--flag=value` pairs, loopback-only addresses), the
//! exit codes of `main`, and the signals that stop a server.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::process::ExitCode;

/// The `(flag, value)` pairs of a command line, in order; `Ok(None)` when `-h`/`--help` is
/// among them. Each flag takes a value, as `--flag value` or `--flag=value`.
///
/// ```
/// use tether_local_http::flags;
/// let args = ["--root=.", "--addr", "127.0.0.1:0"].map(String::from);
/// let pairs = flags(args.into_iter()).unwrap().unwrap();
/// assert_eq!(pairs, [("--root".into(), ".".into()), ("--addr".into(), "127.0.0.1:0".into())]);
/// ```
pub fn flags(mut it: impl Iterator<Item = String>) -> Result<Option<Vec<(String, String)>>, String> {
    let mut pairs = Vec::new();
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
        pairs.push((flag, value));
    }
    Ok(Some(pairs))
}

/// Parses `value` (given for `flag`) as an address on this machine: these servers are for
/// local tests and demos only.
pub fn loopback_addr(flag: &str, value: &str) -> Result<SocketAddr, String> {
    let a: SocketAddr = value.parse().map_err(|e| format!("bad {flag} {value:?}: {e}"))?;
    if !a.ip().is_loopback() {
        return Err(format!(
            "refusing non-loopback address {a} for {flag}: this server is for this machine only"
        ));
    }
    Ok(a)
}

/// The body of `main`: prints `usage` for `--help` (exit 0) or after a bad command line
/// (exit 2), else runs the server and reports its error, if any (exit 1).
pub async fn main_exit<A, F, Fut>(
    name: &str,
    usage: &str,
    parsed: Result<Option<A>, String>,
    run: F,
) -> ExitCode
where
    F: FnOnce(A) -> Fut,
    Fut: Future<Output = io::Result<()>>,
{
    let args = match parsed {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{usage}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("{name}: {e}\n{usage}");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Installs SIGINT/SIGTERM handlers now (so a signal that comes right after a ready line is
/// handled); the future resolves on either, naming it.
#[cfg(unix)]
pub fn shutdown_signal() -> io::Result<impl Future<Output = &'static str>> {
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
pub fn shutdown_signal() -> io::Result<impl Future<Output = &'static str>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<Vec<(String, String)>>, String> {
        flags(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn flags_and_help() {
        assert_eq!(parse(&["--a", "1", "--b=2"]).unwrap().unwrap().len(), 2);
        assert_eq!(parse(&["--a", "1", "--help"]), Ok(None));
        assert_eq!(parse(&["--a"]), Err("--a needs a value".into()));
    }

    #[test]
    fn only_loopback() {
        assert!(loopback_addr("--addr", "127.0.0.1:0").is_ok());
        assert!(loopback_addr("--addr", "[::1]:80").is_ok());
        assert!(loopback_addr("--addr", "0.0.0.0:80")
            .unwrap_err()
            .contains("non-loopback"));
        assert!(loopback_addr("--addr", "nope")
            .unwrap_err()
            .contains("bad --addr"));
    }
}
