// The chaos soak, shared by scripts/soak.sh (tests/js/soak/run.mjs, 2 minutes by default)
// and its short slice in the tests (tests/js/soak.test.mjs).
//
// It starts a test server of its own on free loopback ports (chaos affects the whole
// WebSocket port, so it must not share one), opens tests/js/soak/page.html in headless
// Chromium, lets the page send a numbered stream through a TetherSocket to /soak while the
// server's chaos mode drops, closes, delays, refuses and restarts, then stops the chaos,
// lets the socket flush, runs the deterministic phases (a forced requeue, writes while the
// socket is closing, reconnect() / a too-big message / free() with a burst still buffered),
// and accounts for every message (see `analyze` and accounting.mjs).

import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";

import { CHROMIUM, CHROMIUM_FLAGS, ROOT } from "../harness.mjs";
import { accountStream } from "./accounting.mjs";

// (CARGO_TARGET_DIR, when set, is where cargo built it.)
export const SERVER_BIN = join(process.env.CARGO_TARGET_DIR ? resolve(process.env.CARGO_TARGET_DIR) : join(ROOT, "target"), "debug", "tether-test-server");

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The page's TetherSocket options: short delays, so that many reconnects happen. */
export const SOCKET_OPTIONS = {
  minReconnectionDelay: 50,
  maxReconnectionDelay: 1000,
  reconnectionDelayGrowFactor: 1.5,
  connectionTimeout: 3000,
  maxEnqueuedMessages: 1000,
  overflow: "drop-oldest",
  heartbeat: { intervalMs: 1000, timeoutMs: 2000, message: "ping" },
  // The too-big phase has the server answer with a bigger message.
  maxMessageBytes: 64 * 1024,
};

/** The deterministic phases after the chaos (see page.mjs). */
export const PHASES = {
  forcedRequeue: { stallMs: 3000, burstCount: 1500, burstBytes: 4096, maxBursts: 6, minBuffered: 512 * 1024 },
  closingTimeout: { stallMs: 9000, burstCount: 1500, burstBytes: 4096, maxBursts: 6, minBuffered: 24 * 1024 * 1024, queued: 20 },
  heartbeatAbandon: { stallMs: 4000, burstCount: 1500, burstBytes: 4096 },
  closingWrites: { holdMs: 600, code: 4000 },
  reconnect: { count: 1500, bytes: 4096 },
  tooBig: { count: 300, bytes: 4096, bigBytes: 100_000 },
  free: { count: 1500, bytes: 4096 },
};

/** Wasm memory may grow by at most this much over a run (it holds no payloads). */
export const MAX_MEMORY_GROWTH = 1024 * 1024;

/**
 * Starts the test server on free loopback ports; resolves with {http, ws, stop()}.
 * The server also exits by itself after `lifetimeSecs`.
 */
export async function startServer({ bin = SERVER_BIN, lifetimeSecs = 600, log = () => {} } = {}) {
  if (!existsSync(bin)) throw new Error(`${bin} not found: cargo build -p tether-test-server`);
  const child = spawn(
    bin,
    ["--root", ROOT, "--http", "127.0.0.1:0", "--ws", "127.0.0.1:0", "--blackhole", "127.0.0.1:0",
      "--max-lifetime-secs", String(lifetimeSecs)],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const stderr = [];
  child.stderr.on("data", (d) => {
    for (const line of String(d).split("\n")) {
      if (line.trim() && stderr.length < 200) stderr.push(line);
      if (line.trim()) log(`[server] ${line}`);
    }
  });
  const ready = await new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error("the test server printed no ready line in 15 s")), 15_000);
    child.stdout.on("data", (d) => {
      out += d;
      const line = out.split("\n").find((l) => l.startsWith("ready "));
      if (line) {
        clearTimeout(timer);
        resolve(line);
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the test server exited (${code}) before it was ready: ${stderr.join(" | ")}`));
    });
  });
  const addr = (name) => ready.match(new RegExp(`${name}=(\\S+)`))[1];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await Promise.race([exited, sleep(3000)]);
    if (child.exitCode === null) child.kill("SIGKILL");
  };
  // A runner that dies must not leave the server behind.
  process.once("exit", () => {
    if (!stopped && child.exitCode === null) child.kill("SIGKILL");
  });
  return { http: `http://${addr("http")}`, ws: `ws://${addr("ws")}`, stop, stderr, pid: child.pid };
}

async function getJson(base, path, timeoutMs = 15_000) {
  const res = await fetch(base + path, { signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  if (!res.ok) throw new Error(`GET ${path} → HTTP ${res.status}: ${text}`);
  return JSON.parse(text);
}

/** Evaluates in the page, never waiting longer than `timeoutMs`. */
async function inPage(page, fn, arg, timeoutMs) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`page code did not finish within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([page.evaluate(fn, arg), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs one soak. Options: seconds (chaos duration), seed, rate (steady msg/s), burstSize,
 * burstBytes, burstEveryMs (a burst every 0.5–1.5× that), bigBurstEvery/bigBurstSize/
 * bigBurstBytes (every n-th burst is a big one), minGap/maxGap (ms between faults), faults
 * (kinds), log (progress lines), serverLog (the server's stderr lines), progressEveryMs,
 * command (for the report), pkg (the package entry the page imports, default /pkg/index.js:
 * a scratch copy with a planted bug, for instance), extraPhases ({name: config} of page
 * phases run after the usual ones, e.g. heartbeatAbandon). Resolves with the analysis (see `analyze`); throws only when the run
 * itself could not be carried out.
 */
export async function runSoak(opts = {}) {
  const o = {
    seconds: 120,
    seed: Date.now() % 1_000_000_007,
    rate: 100,
    burstSize: 200,
    burstBytes: 1024,
    burstEveryMs: 5000,
    bigBurstEvery: 4,
    bigBurstSize: 1500,
    bigBurstBytes: 4096,
    minGap: 300,
    maxGap: 2500,
    /** Fault kinds, comma-separated ("" = all: drop, close, delay, refuse, restart). */
    faults: "",
    log: () => {},
    progressEveryMs: 10_000,
    ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)),
  };
  const log = o.log;
  const t0 = Date.now();
  const server = await startServer({ lifetimeSecs: Math.ceil(o.seconds) + 300, log: o.serverLog });
  const userDataDir = mkdtempSync(join(tmpdir(), "tether-soak-"));
  let context = null;
  const fatal = [];
  try {
    log(`server ${server.http} / ${server.ws} (pid ${server.pid}); Chromium ${CHROMIUM}`);
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
      timeout: 60_000,
    });
    const page = await context.newPage();
    page.on("pageerror", (e) => fatal.push(`uncaught page error: ${e.stack || e.message || e}`));
    page.on("crash", () => fatal.push("the page crashed"));
    page.on("console", (m) => {
      const text = m.text();
      if (/unreachable|panicked at|RuntimeError|memory access out of bounds/i.test(text)) {
        fatal.push(`console.${m.type()}: ${text}`);
      }
    });
    const query = o.pkg ? `?pkg=${encodeURIComponent(o.pkg)}` : "";
    await page.goto(`${server.http}/tests/js/soak/page.html${query}`, { timeout: 30_000 });
    await page.waitForFunction(() => window.ready === true || typeof window.loadError === "string", null, {
      timeout: 30_000,
    });
    const loadError = await page.evaluate(() => window.loadError);
    if (loadError) throw new Error(`the soak page could not load /pkg/index.js: ${loadError}`);

    const key = `soak-${process.pid}-${Date.now().toString(36)}`;
    const cfg = {
      url: `${server.ws}/soak?key=${key}`,
      options: SOCKET_OPTIONS,
      rate: o.rate,
      burstSize: o.burstSize,
      burstBytes: o.burstBytes,
      burstEveryMs: o.burstEveryMs,
      bigBurstEvery: o.bigBurstEvery,
      bigBurstSize: o.bigBurstSize,
      bigBurstBytes: o.bigBurstBytes,
      tickMs: 10,
      openTimeoutMs: 30_000,
    };
    await inPage(page, (c) => window.soak.start(c), cfg, 40_000);
    const chaos = await getJson(
      server.http,
      `/chaos?seed=${o.seed}&ms=${Math.round(o.seconds * 1000)}&minGap=${o.minGap}&maxGap=${o.maxGap}` +
        `&faults=${encodeURIComponent(o.faults)}`,
    );
    log(`chaos: seed ${chaos.seed}, ${chaos.ms} ms; sending ${o.rate} msg/s + bursts of ${o.burstSize}`);
    const chaosStart = Date.now();
    const end = chaosStart + o.seconds * 1000;
    let nextProgress = chaosStart + o.progressEveryMs;
    while (Date.now() < end) {
      await sleep(Math.min(500, Math.max(0, end - Date.now())));
      if (fatal.length) throw new Error(`the page failed: ${fatal.join("; ")}`);
      if (Date.now() >= nextProgress) {
        nextProgress += o.progressEveryMs;
        const p = await inPage(page, () => window.soak.progress(), null, 20_000);
        const r = await getJson(server.http, "/chaos/report");
        const faults = Object.entries(r.counts).map(([k, v]) => `${k} ${v}`).join(", ");
        log(
          `${((Date.now() - chaosStart) / 1000).toFixed(0)}s: sent ${p.sent}, opens ${p.opens}, ` +
            `state ${p.state}, queued ${p.queued} (model ${p.modelQueued}, max ${p.maxQueued}), requeued ${p.requeued}, dropped ${p.drops}, wasm ${(p.memory / 1048576).toFixed(2)} MiB; ` +
            `faults: ${faults}`,
        );
      }
    }
    const stopReport = await getJson(server.http, "/chaos/stop");
    const chaosEnd = Date.now();
    await inPage(page, () => window.soak.stopSending(), null, 20_000);
    log("chaos stopped; waiting for the socket to reconnect and flush");
    await inPage(page, (ms) => window.soak.settle(ms), 60_000, 70_000);

    // The deterministic phases, each on a settled socket.
    const phases = {};
    phases.forcedRequeue = await inPage(page, (c) => window.soak.forceRequeue(c), { http: server.http, ...PHASES.forcedRequeue }, 120_000);
    log(`forced requeue: ${JSON.stringify(phases.forcedRequeue)}`);
    phases.closingTimeout = await inPage(page, (c) => window.soak.closingTimeout(c), { http: server.http, ...PHASES.closingTimeout }, 120_000);
    log(`closing-handshake timeout with a burst buffered: ${JSON.stringify(phases.closingTimeout)}`);
    phases.closingWrites = await inPage(page, (c) => window.soak.closingWrites(c), PHASES.closingWrites, 120_000);
    log(`writes while closing: ${JSON.stringify(phases.closingWrites)}`);
    phases.reconnect = await inPage(page, (c) => window.soak.reconnectBuffered(c), PHASES.reconnect, 120_000);
    log(`reconnect() with a burst buffered: ${JSON.stringify(phases.reconnect)}`);
    phases.tooBig = await inPage(page, (c) => window.soak.tooBigBuffered(c), PHASES.tooBig, 120_000);
    log(`too-big message with a burst buffered: ${JSON.stringify(phases.tooBig)}`);
    phases.heartbeatAbandon = await inPage(page, (c) => window.soak.heartbeatAbandon(c), PHASES.heartbeatAbandon, 120_000);
    log(`heartbeat timeout on a stalled connection: ${JSON.stringify(phases.heartbeatAbandon)}`);
    // Extra phases asked for by name (not part of the soak: see page.mjs).
    for (const [name, cfg] of Object.entries(o.extraPhases || {})) {
      phases[name] = await inPage(page, ([n, c]) => window.soak[n](c), [name, cfg], 120_000);
      log(`${name}: ${JSON.stringify(phases[name])}`);
    }
    const model = await inPage(page, (c) => window.soak.finish(c), PHASES.free, 120_000);
    log(`free() with a burst buffered: ${JSON.stringify(model.phases.free)}`);

    // The server has caught up once everything written to the last socket has arrived.
    const last = model.socks[model.socks.length - 1];
    const writes = [];
    for (let i = 0; i < last.writes.length; i += 3) if (last.writes[i] >= 0) writes.push(last.writes[i]);
    const deadline = Date.now() + 30_000;
    let report;
    for (;;) {
      report = await getJson(server.http, `/chaos/report?key=${key}`);
      const got = new Set(report.soak.arrivals.map((a) => a[0]));
      const missing = writes.filter((s) => !got.has(s)).length;
      if (missing === 0) break;
      if (Date.now() > deadline) {
        log(`server still misses ${missing} of the ${writes.length} messages written to the last socket`);
        break;
      }
      await sleep(100);
    }
    await sleep(300);
    report = await getJson(server.http, `/chaos/report?key=${key}`);
    if (fatal.length) throw new Error(`the page failed: ${fatal.join("; ")}`);
    const chromiumVersion = context.browser()?.version() ?? "";
    return analyze({
      model,
      report,
      faults: stopReport,
      meta: {
        seed: chaos.seed,
        chaosSeconds: o.seconds,
        chaosStartedAt: chaosStart,
        chaosEndedAt: chaosEnd,
        wallSeconds: (Date.now() - t0) / 1000,
        rate: o.rate,
        burst: {
          size: o.burstSize,
          bytes: o.burstBytes,
          everyMs: o.burstEveryMs,
          bigEvery: o.bigBurstEvery,
          bigSize: o.bigBurstSize,
          bigBytes: o.bigBurstBytes,
        },
        faultGapMs: [o.minGap, o.maxGap],
        faultKinds: o.faults || "all",
        command: o.command || `bash scripts/soak.sh ${o.seconds}`,
        pkg: o.pkg || "/pkg/index.js",
        phases: PHASES,
        options: SOCKET_OPTIONS,
        chromium: chromiumVersion,
        cpus: cpus().length,
        loadavg: loadavg().map((x) => Number(x.toFixed(2))),
        date: new Date().toISOString(),
      },
    });
  } finally {
    if (context) await context.close().catch(() => {});
    rmSync(userDataDir, { recursive: true, force: true });
    await server.stop();
  }
}

const quantile = (sorted, q) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] : null;

/**
 * How each page socket ended, as accounting.mjs needs it, from the server's side: "open"
 * (never closed), "clean" (the client's close frame came first: everything that left the
 * browser arrived before it), "peer-closed" (the server closed it: the browser discards
 * what reaches its network stack after the server's close frame, even if the page still saw
 * the socket OPEN when it wrote) or "cut" (no close frame: the tail may be lost on the way).
 */
function socketEnd(sock, serverConn) {
  if (sock.closedAt == null) return "open";
  const end = serverConn?.end ?? "";
  if (end.startsWith("client close")) return "clean";
  if (end.startsWith("chaos close")) return "peer-closed";
  return "cut";
}

/**
 * Accounts for every message of the run, from the page's native-socket log and the server's
 * arrivals (accounting.mjs: what never left each dead socket, the library's requeues against
 * it, lost in flight only when the bytes had left, order per connection and overall,
 * duplicates), plus what only the page can check: its outbox model, the queue at the end,
 * wasm memory, and that the forced fault did requeue.
 */
export function analyze({ model, report, faults, meta }) {
  const soak = report.soak;
  const failures = [];
  // Pair the server's connections with the page's sockets by the tag in the key.
  const serverBySock = new Map();
  const sockOfConn = soak.connections.map((c) => {
    const k = c.tag == null ? -1 : Number(c.tag);
    if (k >= 0) serverBySock.set(k, c);
    return Number.isInteger(k) ? k : -1;
  });
  const sockets = model.socks.map((sock) => ({
    writes: sock.writes,
    bufferedAtClose: sock.bufferedAtClose,
    end: socketEnd(sock, serverBySock.get(sock.index)),
    letGo: sock.letGo,
    abandoned: sock.abandoned,
  }));
  const acc = accountStream({
    name: "client → server",
    count: model.sent,
    sockets,
    requeues: model.requeues,
    dropped: model.dropped,
    arrivals: soak.arrivals.map(([seq, t, conn]) => [seq, t, sockOfConn[conn] ?? -1]),
  });
  failures.push(...acc.failures);
  if (soak.truncated) failures.push("the server's arrival log was truncated");

  // Longest stretch without a new message at the server, while chaos ran (and until the
  // last message arrived).
  const firsts = [...acc.firstAt].filter((t) => !Number.isNaN(t)).sort((a, b) => a - b);
  let maxGapMs = 0;
  let maxGapAtS = 0;
  let prev = meta.chaosStartedAt;
  for (const t of firsts) {
    if (t < meta.chaosStartedAt) continue;
    if (t - prev > maxGapMs) {
      maxGapMs = t - prev;
      maxGapAtS = (prev - meta.chaosStartedAt) / 1000;
    }
    prev = t;
    if (t > meta.chaosEndedAt) break;
  }
  const latencies = [];
  for (let seq = 0; seq < model.sent; seq++) {
    const t = acc.firstAt[seq];
    if (!Number.isNaN(t) && model.sentAt[seq] <= meta.chaosEndedAt) latencies.push(t - model.sentAt[seq]);
  }
  latencies.sort((a, b) => a - b);
  let maxSeqHole = 0;
  let run = 0;
  for (let seq = 0; seq < model.sent; seq++) {
    run = acc.copies[seq] > 0 ? 0 : run + 1;
    maxSeqHole = Math.max(maxSeqHole, run);
  }
  const closes = {};
  for (const c of model.socks) {
    if (c.closedAt == null || c.openedAt == null) continue;
    const k = c.wasClean ? `${c.code}` : `${c.code} (abrupt${c.reason ? `, ${c.reason}` : ""})`;
    closes[k] = (closes[k] || 0) + 1;
  }
  const rel = (t) => (t == null ? null : Number(((t - meta.chaosStartedAt) / 1000).toFixed(3)));

  // What only the page can tell.
  const ph = model.phases;
  const forced = ph.forcedRequeue;
  if (!forced || !forced.closed || !forced.reopened) failures.push("the forced fault did not cut the socket and reconnect");
  else if (!(forced.requeued > 0)) {
    failures.push(`the forced fault requeued nothing (bufferedAmount ${forced.bufferedAtClose} at the close)`);
  }
  // (Chromium lets a few MiB, sometimes all, of the buffer go into its network stack after
  // close(): when nothing is left at the timeout, nothing can be requeued; the accounting
  // still checks that the library requeued exactly what was left.)
  const ct = ph.closingTimeout;
  if (!ct || !ct.closedByLibrary || !ct.reopened || !(ct.queuedAfterClose > 0)) {
    failures.push(`the closing-timeout phase did not run as planned: ${JSON.stringify(ct)}`);
  } else if (ct.requeued > 0) {
    failures.push(`the closing timeout requeued ${ct.requeued} messages of a socket the browser may still send from`);
  }
  const hb = ph.heartbeatAbandon;
  if (!hb || !hb.abandoned) failures.push(`the heartbeat-timeout phase did not run as planned: ${JSON.stringify(hb)}`);
  else if (hb.requeued > 0) failures.push(`the heartbeat timeout requeued ${hb.requeued} messages of a socket the browser may still send from`);
  for (const name of ["reconnect", "too-big", "free"]) {
    const p = ph[name];
    if (!p || !p.closed || !p.reopened) failures.push(`the ${name} phase did not close its socket (and reconnect)`);
    else if (p.requeueEvents > 0) failures.push(`the ${name} phase requeued (${p.requeueEvents} events)`);
  }
  const mem = model.memory;
  // Over the chaos (the phases after it fill the browser's buffers on purpose, and the
  // in-flight log holds an entry per buffered message).
  const memoryGrowth = mem.chaosEnd - mem.start;
  if (memoryGrowth > MAX_MEMORY_GROWTH) failures.push(`wasm memory grew by ${memoryGrowth} bytes (limit ${MAX_MEMORY_GROWTH})`);
  if (model.queuedAtEnd > 0) failures.push(`${model.queuedAtEnd} messages still queued at the end`);
  if (model.mismatches.length) failures.push(`${model.mismatches.length} outbox model mismatches`);
  if (acc.delivered === 0) failures.push("nothing was delivered");

  const result = {
    meta,
    sent: acc.sent,
    delivered: acc.delivered,
    resent: acc.resent,
    requeueEvents: acc.requeueEvents,
    neverLeft: acc.neverLeft,
    neverLeftBytes: acc.neverLeftBytes,
    requeueMismatches: acc.requeueMismatches,
    droppedByPolicy: acc.droppedByPolicy,
    duplicates: acc.duplicates,
    droppedButDelivered: acc.droppedButDelivered,
    lostInFlight: acc.lostInFlight,
    lostWithAbandoned: acc.lostWithAbandoned,
    lostAtServerClose: acc.lostAtPeerClose,
    silentLosses: acc.silentLosses,
    silentKinds: acc.silentKinds,
    silentExamples: acc.silentExamples,
    perConnectionOrderViolations: acc.perConnectionViolations,
    perConnectionOrderExamples: acc.perConnectionExamples,
    globalOrderViolations: acc.globalOrderViolations,
    globalOrderExamples: acc.globalOrderExamples,
    arrivedUnsent: acc.arrivedUnsent,
    nonOpenWritesLeft: acc.nonOpenWritesLeft,
    unknownSeqsAtServer: acc.unknownIds,
    unpairedArrivals: acc.unknownSock,
    nativeWrites: model.counters.nativeWrites,
    heartbeatWrites: model.counters.heartbeatWrites,
    sockets: model.socks.length,
    reconnects: Math.max(0, model.counters.opens - 1),
    reconnectAttempts: model.counters.reconnecting,
    closes,
    phases: ph,
    maxDeliveryGapMs: Math.round(maxGapMs),
    maxDeliveryGapAtS: Number(maxGapAtS.toFixed(1)),
    maxSeqHole,
    latencyMs: {
      p50: Math.round(quantile(latencies, 0.5) ?? 0),
      p99: Math.round(quantile(latencies, 0.99) ?? 0),
      max: Math.round(latencies.at(-1) ?? 0),
    },
    lostInFlightBySocket: acc.lostInFlightBySocket,
    // Every socket, as the page logged it and the accounting judged it (times: s since chaos start).
    pageSockets: model.socks.map((c, i) => ({
      ...acc.sockets[i],
      createdS: rel(c.createdAt),
      openedS: rel(c.openedAt),
      closedS: rel(c.closedAt),
      code: c.code,
      wasClean: c.wasClean,
      reason: c.reason,
      maxBuffered: c.maxBuffered,
      serverEnd: serverBySock.get(i)?.end ?? null,
    })),
    serverConnections: soak.connections.map((c, i) => ({
      conn: i,
      sock: sockOfConn[i],
      openedS: rel(c.openedAtMs),
      endedS: rel(c.endedAtMs),
      end: c.end,
      messages: c.messages,
    })),
    requeues: model.requeues.map(({ seqs, ...r }) => ({ ...r, first: seqs[0], last: seqs.at(-1) })),
    faultLog: faults.faults.map(({ tMs, ...f }) => ({ tS: Number((tMs / 1000).toFixed(3)), ...f })),
    faults: faults.counts,
    faultTotal: faults.faults.length,
    wasmMemory: { start: mem.start, chaosEnd: mem.chaosEnd, end: mem.end, peak: mem.peak, afterFree: mem.afterFree, growth: memoryGrowth },
    queuedAtEnd: model.queuedAtEnd,
    modelMismatches: model.mismatches,
    counters: model.counters,
  };
  result.failures = failures;
  result.ok = failures.length === 0;
  return result;
}

const MiB = (b) => `${(b / 1024 / 1024).toFixed(2)} MiB`;
const int = (x) => Number(x).toLocaleString("en-US");

/** The report as Markdown (also what the runner prints). */
export function formatReport(r) {
  const m = r.meta;
  const faults = Object.entries(r.faults).map(([k, v]) => `${k} ${v}`).join(", ");
  const closes = Object.entries(r.closes)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k}: ${v}`)
    .join(", ");
  const f = r.phases.forcedRequeue || {};
  const lines = [
    `Chaos soak, ${m.date}: ${m.chaosSeconds} s of chaos (seed ${m.seed}, a fault every ` +
      `${m.faultGapMs[0]}–${m.faultGapMs[1]} ms${m.faultKinds === "all" ? "" : `, only ${m.faultKinds}`}); ` +
      `the page sends ${m.rate} msg/s plus a burst of ${m.burst.size} × ${m.burst.bytes} B every ` +
      `~${m.burst.everyMs / 1000} s, every ${m.burst.bigEvery}th burst ${m.burst.bigSize} × ${m.burst.bigBytes} B; ` +
      `then the deterministic phases. Chromium ${m.chromium}, ${m.cpus} CPUs, load ${m.loadavg.join(" ")}. ` +
      `Command: \`${m.command}\`${m.pkg === "/pkg/index.js" ? "" : ` (package ${m.pkg})`}.`,
    "",
    "| | |",
    "|---|---:|",
    `| messages sent | ${int(r.sent)} |`,
    `| native writes logged (heartbeats among them) | ${int(r.nativeWrites)} (${int(r.heartbeatWrites)}) |`,
    `| delivered (unique at the server) | ${int(r.delivered)} |`,
    `| never left a dead socket (its last \`bufferedAmount\` bytes) | ${int(r.neverLeft)} (${int(r.neverLeftBytes)} B) |`,
    `| re-sent (\`requeue\`) | ${int(r.resent)} (${r.requeueEvents} events) |`,
    `| sockets whose requeue ≠ what never left | ${r.requeueMismatches.length} |`,
    `| dropped by policy (\`drop\` event, outbox of ${m.options.maxEnqueuedMessages}) | ${int(r.droppedByPolicy)} |`,
    `| duplicates at the server | ${int(r.duplicates)} |`,
    `| lost in flight (left the browser, connection cut or closed by the server) | ${int(r.lostInFlight)} (${int(r.lostAtServerClose)} at a server close) |`,
    `| lost with a socket the library gave up on (a timeout; never left by its close) | ${int(r.lostWithAbandoned)} |`,
    `| **silent losses** | **${int(r.silentLosses)}** |`,
    `| arrival order ≠ write order (connections) / first arrivals out of send order | ${r.perConnectionOrderViolations} / ${r.globalOrderViolations} |`,
    `| outbox model mismatches | ${r.modelMismatches.length} |`,
    `| forced fault: bufferedAmount at the cut → requeued | ${int(f.bufferedAtClose ?? 0)} B → ${int(f.requeued ?? 0)} |`,
    `| sockets / reconnects (opens after the first) / attempts | ${int(r.sockets)} / ${int(r.reconnects)} / ${int(r.reconnectAttempts)} |`,
    `| faults injected | ${r.faultTotal} (${faults}) |`,
    `| max delivery gap (longest time with no new message at the server) | ${int(r.maxDeliveryGapMs)} ms (at ${r.maxDeliveryGapAtS} s) |`,
    `| longest run of consecutive seqs never delivered | ${int(r.maxSeqHole)} |`,
    `| send → first arrival (during the chaos), p50 / p99 / max | ${r.latencyMs.p50} / ${int(r.latencyMs.p99)} / ${int(r.latencyMs.max)} ms |`,
    `| wasm memory start → end of the chaos → after the phases | ${MiB(r.wasmMemory.start)} → ${MiB(r.wasmMemory.chaosEnd)} → ${MiB(r.wasmMemory.end)} |`,
    "",
    `Connection ends seen by the page: ${closes}.`,
    `Phases: ${Object.entries(r.phases).map(([k, v]) => `${k} ${JSON.stringify(v)}`).join("; ")}.`,
  ];
  if (Object.keys(r.silentKinds).length) {
    lines.push("", `Silent losses by kind: ${JSON.stringify(r.silentKinds)}; examples: ${JSON.stringify(r.silentExamples)}`);
  }
  if (r.requeueMismatches.length) lines.push("", `Requeue mismatches: ${JSON.stringify(r.requeueMismatches.slice(0, 5))}`);
  if (r.perConnectionOrderViolations) lines.push("", `Order per connection: ${JSON.stringify(r.perConnectionOrderExamples.slice(0, 3))}`);
  if (r.globalOrderViolations) lines.push("", `Global order: ${JSON.stringify(r.globalOrderExamples.slice(0, 5))}`);
  if (r.modelMismatches.length) lines.push("", `Model mismatches: ${r.modelMismatches.slice(0, 10).join("; ")}`);
  lines.push("", r.ok ? "Result: PASS" : `Result: FAIL (${r.failures.join("; ")})`);
  return lines.join("\n");
}
