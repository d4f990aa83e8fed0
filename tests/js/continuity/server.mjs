// Starts the reference server (www/server, binary target/debug/tether-server, built by
// `cargo build -p tether-server`) for the continuity tests, and stops it by the pid it
// started. The server echoes every message back to its session and, with `feedMs`, sends
// {"n":k} (k = 1, 2, … per session) to every live session every `feedMs` ms.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { ROOT } from "../harness.mjs";

// (CARGO_TARGET_DIR, when set, is where cargo built it.)
export const SERVER_BIN =
  process.env.TETHER_SERVER_BIN || join(process.env.CARGO_TARGET_DIR ? resolve(process.env.CARGO_TARGET_DIR) : join(ROOT, "target"), "debug", "tether-server");
/** The second implementation, written from PROTOCOL.md alone (same flags). */
export const INTEROP_SERVER = join(ROOT, "tests", "interop", "server.mjs");
/** Which servers a scenario that should hold for any implementation runs against. */
export const SERVER_IMPLS = ["reference", "interop"];

const running = new Set();

/**
 * Starts tether-server (or, `impl: "interop"`, tests/interop/server.mjs) on
 * 127.0.0.1:`port` (0: any free port) with these flags:
 * { feedMs, ttlMs, window, protocols: [...], args: [...] }. Resolves, once the server printed
 * `listening on ADDR`, with { port, url(path), pid, stop(signal), exited, output() }.
 */
export async function startServer({ impl = "reference", port = 0, feedMs, ttlMs, window, protocols = [], args = [], timeoutMs = 10_000 } = {}) {
  if (impl === "reference" && !existsSync(SERVER_BIN)) {
    throw new Error(`${SERVER_BIN} not found: build it with \`cargo build -p tether-server\``);
  }
  const argv = ["--listen", `127.0.0.1:${port}`];
  if (feedMs !== undefined) argv.push("--feed-ms", String(feedMs));
  if (ttlMs !== undefined) argv.push("--ttl-ms", String(ttlMs));
  if (window !== undefined) argv.push("--window", String(window));
  for (const p of protocols) argv.push("--protocol", p);
  argv.push(...args);
  const [bin, binArgs] = impl === "interop" ? [process.execPath, [INTEROP_SERVER, ...argv]] : [SERVER_BIN, argv];
  const child = spawn(bin, binArgs, { stdio: ["ignore", "pipe", "pipe"] });
  running.add(child);
  let out = "";
  const keep = (chunk) => {
    // The last 8 KiB are enough to say what went wrong.
    out = (out + chunk.toString()).slice(-8192);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const exited = new Promise((resolve) => {
    child.on("exit", (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    });
  });
  const addr = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      child.kill("SIGKILL");
      reject(new Error(`tether-server did not print "listening on" within ${timeoutMs} ms: ${out}`));
    }, timeoutMs);
    const onData = () => {
      const m = /listening on (\S+)/.exec(out);
      if (m) {
        cleanup();
        resolve(m[1]);
      }
    };
    const onExit = (code, signal) => {
      cleanup();
      reject(new Error(`tether-server exited (${code ?? signal}) before listening: ${out}`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout.off("data", onData);
      child.off("exit", onExit);
    };
    child.stdout.on("data", onData);
    child.on("exit", onExit);
    onData();
  });
  const actualPort = Number(addr.slice(addr.lastIndexOf(":") + 1));
  return {
    port: actualPort,
    pid: child.pid,
    url: (path = "/") => `ws://127.0.0.1:${actualPort}${path}`,
    exited,
    output: () => out,
    /** Sends `signal` (default SIGKILL: the process and its sessions are gone at once) to
     * this server's pid and waits, at most 5 s, for it to exit. */
    async stop(signal = "SIGKILL") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const done = await Promise.race([exited, new Promise((r) => setTimeout(() => r(null), 5000))]);
      if (!done) {
        child.kill("SIGKILL");
        await exited;
      }
      return done;
    },
  };
}

/** Kills (by pid) every server this module started and has not seen exit; for `after` hooks. */
export function killAllStarted() {
  for (const child of running) child.kill("SIGKILL");
}
