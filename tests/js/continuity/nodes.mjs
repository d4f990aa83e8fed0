// Several reference servers on one Redis, for the multi-node tests and soak: a redis-server
// of our own on a free 127.0.0.1 port (no persistence), N tether-server nodes started with
// `--store redis://127.0.0.1:PORT/0 --store-prefix P`, each killed (SIGKILL) and restarted on
// its port on command. Everything is started and stopped by the pid it was given here
// (killAllNodes() for `after` hooks and exit handlers). With TETHER_PIDFILE set, each pid is
// also appended to that file ("pid name" a line), so that a script whose runner was itself
// killed can stop what the runner started (scripts/soak.sh).
import { execFileSync, spawn } from "node:child_process";
import { appendFileSync, existsSync } from "node:fs";
import net from "node:net";

import { SERVER_BIN, killAllStarted, startServer } from "./server.mjs";

export const REDIS_BIN = process.env.TETHER_REDIS_BIN || "/usr/bin/redis-server";

const redises = new Set();

/** Notes `pid` in $TETHER_PIDFILE, if set. */
export function notePid(pid, name) {
  const file = process.env.TETHER_PIDFILE;
  if (file && pid) appendFileSync(file, `${pid} ${name}\n`);
}

/** A port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Whether this tether-server binary has the shared store (`--store` in its --help). */
export function storeSupported(bin = SERVER_BIN) {
  if (!existsSync(bin)) return false;
  try {
    return /--store\b/.test(execFileSync(bin, ["--help"], { encoding: "utf8", timeout: 10_000 }));
  } catch {
    return false;
  }
}

/** Checks what the multi-node runs need, throwing with what to do. */
export function checkNodePrerequisites() {
  if (!existsSync(REDIS_BIN)) throw new Error(`${REDIS_BIN} not found: run bash scripts/setup.sh (apt redis-server)`);
  if (!existsSync(SERVER_BIN)) throw new Error(`${SERVER_BIN} not found: build it with \`cargo build -p tether-server\``);
  if (!storeSupported()) {
    throw new Error(`${SERVER_BIN} has no --store flag (its --help does not list it): this build of tether-server cannot share sessions on Redis`);
  }
}

/**
 * Starts redis-server on 127.0.0.1 (a free port, tried up to 3 times), without persistence.
 * Resolves, once it accepts connections, with { port, pid, url, stop(), output() }.
 */
export async function startRedis({ timeoutMs = 10_000 } = {}) {
  let lastError;
  for (let tries = 0; tries < 3; tries++) {
    const port = await freePort();
    try {
      return await startRedisOn(port, timeoutMs);
    } catch (e) {
      lastError = e;
    }
  }
  throw lastError;
}

async function startRedisOn(port, timeoutMs) {
  const child = spawn(
    REDIS_BIN,
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "yes", "--loglevel", "notice"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  redises.add(child);
  notePid(child.pid, "redis-server");
  let out = "";
  const keep = (d) => {
    out = (out + d).slice(-8192);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const exited = new Promise((resolve) =>
    child.on("exit", (code, signal) => {
      redises.delete(child);
      resolve({ code, signal });
    }),
  );
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  };
  // Ready: it says so, and a PING over TCP is answered.
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`redis-server on port ${port} exited: ${out}`);
    if (/Ready to accept connections/.test(out) && (await ping(port))) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`redis-server on port ${port} was not ready within ${timeoutMs} ms: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { port, pid: child.pid, url: `redis://127.0.0.1:${port}/0`, stop, exited, output: () => out };
}

/** Sends PING to 127.0.0.1:`port` with RESP; true on +PONG within 1 s. */
export function ping(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port });
    let buf = "";
    const done = (v) => {
      clearTimeout(timer);
      s.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(false), 1000);
    s.on("connect", () => s.write("*1\r\n$4\r\nPING\r\n"));
    s.on("data", (d) => {
      buf += d;
      if (buf.includes("\r\n")) done(buf.startsWith("+PONG"));
    });
    s.on("error", () => done(false));
  });
}

/**
 * Starts `count` tether-server nodes sharing the store at `redisUrl` (prefix `prefix`), each
 * with `feedMs` and `ttlMs`. Returns { nodes, ports, kill(i), restart(i), stop() }: nodes[i]
 * is the running server (or null while killed), kill(i) SIGKILLs it (and waits for its exit),
 * restart(i) starts it again on the same port.
 */
export async function startNodes({ count = 3, redisUrl, prefix = "tether-test:", feedMs = 25, ttlMs = 60_000, args = [] }) {
  const flags = ["--store", redisUrl, "--store-prefix", prefix, ...args];
  const nodes = [];
  const ports = [];
  // What each node printed, kept across its kills (the last 8 KiB of each run).
  const outputs = [];
  const start = async (port) => {
    // A port just freed by a killed node may still be refused for a moment: a few tries.
    let lastError;
    for (let tries = 0; tries < 5; tries++) {
      try {
        const n = await startServer({ port, feedMs, ttlMs, args: flags });
        notePid(n.pid, "tether-server");
        return n;
      } catch (e) {
        lastError = e;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    throw lastError;
  };
  try {
    for (let i = 0; i < count; i++) {
      const n = await start(0);
      nodes.push(n);
      ports.push(n.port);
      outputs.push([]);
    }
  } catch (e) {
    for (const n of nodes) await n.stop("SIGKILL");
    throw e;
  }
  return {
    nodes,
    ports,
    /** SIGKILLs node `i` (its sessions stay in Redis); resolves once it exited. */
    async kill(i) {
      const n = nodes[i];
      nodes[i] = null;
      if (n) {
        await n.stop("SIGKILL");
        outputs[i].push(n.output());
      }
    },
    /** Starts node `i` again on its port. */
    async restart(i) {
      if (nodes[i]) throw new Error(`node ${i} is running`);
      nodes[i] = await start(ports[i]);
      return nodes[i];
    },
    /** What node `i` printed, each run (killed ones and the current one), oldest first. */
    outputs: (i) => [...outputs[i], ...(nodes[i] ? [nodes[i].output()] : [])],
    async stop() {
      for (let i = 0; i < nodes.length; i++) {
        if (nodes[i]) {
          await nodes[i].stop("SIGKILL");
          outputs[i].push(nodes[i].output());
        }
        nodes[i] = null;
      }
    },
  };
}

/** Kills (by pid) every redis-server and tether-server this process started and has not seen
 * exit; for `after` hooks and exit handlers. */
export function killAllNodes() {
  for (const child of redises) child.kill("SIGKILL");
  killAllStarted();
}
