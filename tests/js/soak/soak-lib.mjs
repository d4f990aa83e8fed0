// The chaos soak, shared by scripts/soak.sh (tests/js/soak/run.mjs, 2 minutes by default)
// and its short slice in the tests (tests/js/soak.test.mjs).
//
// It starts a test server of its own on free loopback ports (chaos affects the whole
// WebSocket port, so it must not share one), opens tests/js/soak/page.html in headless
// Chromium, lets the page send a numbered stream through a TetherSocket to /soak while the
// server's chaos mode drops, closes, delays, refuses and restarts, then stops the chaos,
// lets the socket flush, and accounts for every message (see `analyze`).

import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

import { CHROMIUM, CHROMIUM_FLAGS, ROOT } from "../harness.mjs";

export const SERVER_BIN = join(ROOT, "target", "debug", "tether-test-server");

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
 * command (for the report). Resolves with the analysis (see `analyze`); throws only when the run
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
    await page.goto(`${server.http}/tests/js/soak/page.html`, { timeout: 30_000 });
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

    // The server has caught up once everything written to the open connection has arrived.
    const writes = await inPage(page, () => window.soak.currentWrites(), null, 20_000);
    const deadline = Date.now() + 30_000;
    let report;
    for (;;) {
      report = await getJson(server.http, `/chaos/report?key=${key}`);
      const got = new Set(report.soak.arrivals.map((a) => a[0]));
      const missing = writes.filter((s) => !got.has(s)).length;
      if (missing === 0) break;
      if (Date.now() > deadline) {
        log(`server still misses ${missing} of the ${writes.length} messages written to the open connection`);
        break;
      }
      await sleep(100);
    }
    const model = await inPage(page, () => window.soak.finish(), null, 30_000);
    await sleep(200);
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
 * Accounts for every message. Per seq, from the server's arrivals and the page's model:
 *
 * - delivered: the server received it (once or more; extra copies are duplicates);
 * - dropped by policy: the page got a `drop` event for it (outbox overflow);
 * - lost in flight: not delivered, last written to a connection that the server or the
 *   network then ended (cut without a close frame, a timeout of the library, or a close
 *   frame from the server: the page never closes a connection before the end of the run),
 *   and nothing written after it on that connection arrived (TCP keeps order, so a loss can
 *   only be the tail of what was written). For a connection the server closed cleanly that
 *   is a message the page wrote while the server's close frame was on its way, which the
 *   browser may drop without any signal (no client can tell without acknowledgements);
 *   counted apart as `lostAtServerClose`;
 * - silent loss: anything else not delivered: still queued at the end, written to the
 *   connection still open or to the one the page closed itself at the end (the browser
 *   sends everything before its own close frame), or a hole before a message that arrived
 *   on the same connection.
 *
 * Duplicates are expected only for messages that were requeued (`requeue` event), whose
 * bytes the browser may in fact have sent; others are counted as unexplained duplicates.
 */
export function analyze({ model, report, faults, meta }) {
  const n = model.sent;
  const soak = report.soak;
  const copies = new Uint32Array(n);
  const firstAt = new Float64Array(n).fill(NaN);
  let outOfRange = 0;
  for (const [seq, t] of soak.arrivals) {
    if (seq >= n) {
      outOfRange += 1;
      continue;
    }
    copies[seq] += 1;
    if (Number.isNaN(firstAt[seq])) firstAt[seq] = t;
  }
  const dropped = new Map(model.dropped);
  const conns = model.conns;
  // For "lost in flight": the last delivered position in each connection's writes.
  const lastDeliveredPos = conns.map((c) => {
    let last = -1;
    c.written.forEach((seq, i) => {
      if (copies[seq] > 0) last = i;
    });
    return last;
  });
  const posInConn = new Map();
  conns.forEach((c) => c.written.forEach((seq, i) => posInConn.set(seq, i)));

  let delivered = 0;
  let duplicates = 0;
  let unexplainedDuplicates = 0;
  let droppedByPolicy = 0;
  let droppedButDelivered = 0;
  let lostInFlight = 0;
  let lostAtServerClose = 0;
  const closeExamples = [];
  const silent = [];
  const silentKinds = {};
  const latencies = [];
  const lostPerConn = new Map();
  for (let seq = 0; seq < n; seq++) {
    if (copies[seq] > 0) {
      delivered += 1;
      duplicates += copies[seq] - 1;
      if (copies[seq] - 1 > (model.requeuedTimes[seq] || 0)) unexplainedDuplicates += copies[seq] - 1;
      if (dropped.has(seq)) droppedButDelivered += 1;
      latencies.push(firstAt[seq] - model.sentAt[seq]);
      continue;
    }
    if (dropped.has(seq)) {
      droppedByPolicy += 1;
      continue;
    }
    const c = model.connOf[seq];
    let kind;
    if (c == null || c < 0) kind = "still queued at the end";
    else if (conns[c].closedAt == null) kind = "written to the connection still open at the end";
    else if (conns[c].closedByUs) kind = "written to the connection the page closed itself";
    else if (posInConn.get(seq) < lastDeliveredPos[c]) kind = "hole before a delivered message";
    if (!kind) {
      // The server (or the network) ended that connection with this message in its tail.
      lostInFlight += 1;
      if (conns[c].wasClean) {
        lostAtServerClose += 1;
        if (closeExamples.length < 10) {
          closeExamples.push({
            seq,
            conn: c,
            code: conns[c].code,
            sentS: Number(((model.sentAt[seq] - meta.chaosStartedAt) / 1000).toFixed(3)),
            closedS: Number(((conns[c].closedAt - meta.chaosStartedAt) / 1000).toFixed(3)),
          });
        }
      }
      lostPerConn.set(c, (lostPerConn.get(c) || 0) + 1);
      continue;
    }
    silentKinds[kind] = (silentKinds[kind] || 0) + 1;
    if (silent.length < 20) silent.push({ seq, kind, conn: c });
  }

  // Longest stretch without a new message at the server, while chaos ran (and until the
  // last message arrived).
  const firsts = [...firstAt].filter((t) => !Number.isNaN(t)).sort((a, b) => a - b);
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
  // Longest run of consecutive seqs the server never received (dropped or lost).
  let maxSeqHole = 0;
  let run = 0;
  for (let seq = 0; seq < n; seq++) {
    run = copies[seq] > 0 ? 0 : run + 1;
    maxSeqHole = Math.max(maxSeqHole, run);
  }
  latencies.sort((a, b) => a - b);
  const closes = {};
  for (const c of conns) {
    if (c.closedAt == null) continue;
    const k = c.wasClean ? `${c.code}` : `${c.code} (abrupt${c.reason ? `, ${c.reason}` : ""})`;
    closes[k] = (closes[k] || 0) + 1;
  }
  const mem = model.memory;
  const memoryGrowth = mem.end - mem.start;
  const result = {
    meta,
    sent: n,
    delivered,
    resent: model.counters.requeued,
    requeueEvents: model.counters.requeueEvents,
    droppedByPolicy,
    duplicates,
    unexplainedDuplicates,
    lostInFlight,
    lostAtServerClose,
    lostAtServerCloseExamples: closeExamples,
    silentLosses: Object.values(silentKinds).reduce((a, b) => a + b, 0),
    silentKinds,
    silentExamples: silent,
    droppedButDelivered,
    unknownSeqsAtServer: outOfRange,
    reconnects: Math.max(0, model.counters.opens - 1),
    reconnectAttempts: model.counters.reconnecting,
    closes,
    maxDeliveryGapMs: Math.round(maxGapMs),
    maxDeliveryGapAtS: Number(maxGapAtS.toFixed(1)),
    maxSeqHole,
    latencyMs: {
      p50: Math.round(quantile(latencies, 0.5) ?? 0),
      p99: Math.round(quantile(latencies, 0.99) ?? 0),
      max: Math.round(latencies.at(-1) ?? 0),
    },
    lostInFlightByConnection: [...lostPerConn.entries()].map(([c, lost]) => ({
      conn: c,
      lost,
      written: conns[c].written.length,
      code: conns[c].code,
      reason: conns[c].reason,
      bufferedAtClose: conns[c].bufferedAtClose,
      openMs: Math.round(conns[c].closedAt - conns[c].openedAt),
    })),
    // Every connection, as the page saw it and as the server saw it (times: s since chaos start).
    pageConnections: conns.map((c, i) => ({
      conn: i,
      openedS: Number(((c.openedAt - meta.chaosStartedAt) / 1000).toFixed(3)),
      closedS: c.closedAt == null ? null : Number(((c.closedAt - meta.chaosStartedAt) / 1000).toFixed(3)),
      code: c.code,
      wasClean: c.wasClean,
      reason: c.reason,
      written: c.written.length,
      delivered: c.written.filter((s) => copies[s] > 0).length,
      bufferedAtClose: c.bufferedAtClose,
    })),
    serverConnections: soak.connections.map((c, i) => ({
      conn: i,
      openedS: Number(((c.openedAtMs - meta.chaosStartedAt) / 1000).toFixed(3)),
      endedS: c.endedAtMs == null ? null : Number(((c.endedAtMs - meta.chaosStartedAt) / 1000).toFixed(3)),
      end: c.end,
      messages: c.messages,
    })),
    faultLog: faults.faults.map(({ tMs, ...f }) => ({ tS: Number((tMs / 1000).toFixed(3)), ...f })),
    faults: faults.counts,
    faultTotal: faults.faults.length,
    wasmMemory: { start: mem.start, end: mem.end, peak: mem.peak, afterFree: mem.afterFree, growth: memoryGrowth },
    queuedAtEnd: model.queuedAtEnd,
    modelMismatches: model.mismatches,
    counters: model.counters,
  };
  const failures = [];
  if (result.silentLosses > 0) failures.push(`${result.silentLosses} silent losses`);
  if (memoryGrowth > MAX_MEMORY_GROWTH) {
    failures.push(`wasm memory grew by ${memoryGrowth} bytes (limit ${MAX_MEMORY_GROWTH})`);
  }
  if (unexplainedDuplicates > 0) failures.push(`${unexplainedDuplicates} duplicates of messages never requeued`);
  if (droppedButDelivered > 0) failures.push(`${droppedButDelivered} messages reported dropped yet delivered`);
  if (outOfRange > 0) failures.push(`${outOfRange} unknown seqs arrived`);
  if (model.queuedAtEnd > 0) failures.push(`${model.queuedAtEnd} messages still queued at the end`);
  if (model.mismatches.length) failures.push(`${model.mismatches.length} model mismatches`);
  if (delivered === 0) failures.push("nothing was delivered");
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
  const lines = [
    `Chaos soak, ${m.date}: ${m.chaosSeconds} s of chaos (seed ${m.seed}, a fault every ` +
      `${m.faultGapMs[0]}–${m.faultGapMs[1]} ms${m.faultKinds === "all" ? "" : `, only ${m.faultKinds}`}); ` +
      `the page sends ${m.rate} msg/s plus a burst of ${m.burst.size} × ${m.burst.bytes} B every ` +
      `~${m.burst.everyMs / 1000} s, every ${m.burst.bigEvery}th burst ${m.burst.bigSize} × ${m.burst.bigBytes} B. ` +
      `Chromium ${m.chromium}, ${m.cpus} CPUs, load ${m.loadavg.join(" ")}. Command: \`${m.command}\`.`,
    "",
    "| | |",
    "|---|---:|",
    `| messages sent | ${int(r.sent)} |`,
    `| delivered (unique at the server) | ${int(r.delivered)} |`,
    `| re-sent (\`requeue\`: never left the browser, sent again) | ${int(r.resent)} (${r.requeueEvents} events) |`,
    `| dropped by policy (\`drop\` event, outbox of ${m.options.maxEnqueuedMessages}) | ${int(r.droppedByPolicy)} |`,
    `| duplicates at the server | ${int(r.duplicates)} |`,
    `| lost in flight (written to a connection the server then cut or closed) | ${int(r.lostInFlight)} (of which ${int(r.lostAtServerClose)} crossed a server close frame) |`,
    `| **silent losses** | **${int(r.silentLosses)}** |`,
    `| reconnects (opens after the first) / attempts | ${int(r.reconnects)} / ${int(r.reconnectAttempts)} |`,
    `| faults injected | ${r.faultTotal} (${faults}) |`,
    `| max delivery gap (longest time with no new message at the server) | ${int(r.maxDeliveryGapMs)} ms (at ${r.maxDeliveryGapAtS} s) |`,
    `| longest run of consecutive seqs never delivered | ${int(r.maxSeqHole)} |`,
    `| send → first arrival, p50 / p99 / max | ${r.latencyMs.p50} / ${int(r.latencyMs.p99)} / ${int(r.latencyMs.max)} ms |`,
    `| wasm memory start → end (peak) | ${MiB(r.wasmMemory.start)} → ${MiB(r.wasmMemory.end)} (${MiB(r.wasmMemory.peak)}) |`,
    "",
    `Connection ends seen by the page: ${closes}.`,
  ];
  if (Object.keys(r.silentKinds).length) {
    lines.push("", `Silent losses by kind: ${JSON.stringify(r.silentKinds)}; examples: ${JSON.stringify(r.silentExamples)}`);
  }
  if (r.modelMismatches.length) lines.push("", `Model mismatches: ${r.modelMismatches.slice(0, 10).join("; ")}`);
  lines.push("", r.ok ? "Result: PASS" : `Result: FAIL (${r.failures.join("; ")})`);
  return lines.join("\n");
}
