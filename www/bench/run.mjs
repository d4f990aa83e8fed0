// Runs the tether-ws benchmarks in one headless Chromium against the Rust echo server (and,
// for TetherSocket with continuity on, the continuity reference server) and writes
// bench-results/latest.{json,md,svg}. The same run measures the minimal echo app of
// www/bench/echo built with tether-ws's Rust API, gloo-net and ws_stream_wasm (throughput,
// main-thread time, round trip, size): their own table in latest.md. Started by scripts/bench.sh, which builds everything
// and starts both servers first; by hand:
//
//   node www/bench/run.mjs [--quick] [--readme]
//
// Environment: BENCH_HTTP (default http://127.0.0.1:9790; the server's static + control
// port, serving the repo root), BENCH_WS (default ws://127.0.0.1:9791), BENCH_CONTINUITY_WS
// (the reference server, default ws://127.0.0.1:9793), BENCH_CONTINUITY_PID (its process,
// to read its memory from /proc; optional), BENCH_OUT
// (default bench-results), BENCH_REPS (throughput/flush repetitions, default 3),
// BENCH_SECONDS (target duration of each throughput run for raw WebSocket, default 1.6; the
// slower libraries take longer with the same N), BENCH_BUDGET_MS (the speed phases' budget,
// default 1,300 s), TETHER_CHROMIUM.
// --quick: short runs, to check the harness. --readme: also replace the section between
// <!-- bench:start --> and <!-- bench:end --> in README.md with the new table.

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants as zc, gzipSync } from "node:zlib";
import { chromium } from "playwright-core";

import { CHROMIUM, CHROMIUM_FLAGS as TEST_CHROMIUM_FLAGS } from "../../tests/js/harness.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const QUICK = process.argv.includes("--quick");
const README = process.argv.includes("--readme");
const HTTP = process.env.BENCH_HTTP || "http://127.0.0.1:9790";
const WS = process.env.BENCH_WS || "ws://127.0.0.1:9791";
const CWS = process.env.BENCH_CONTINUITY_WS || "ws://127.0.0.1:9793";
const CPID = Number(process.env.BENCH_CONTINUITY_PID) || null;
const OUT = resolve(ROOT, process.env.BENCH_OUT || "bench-results");
const REPS = Number(process.env.BENCH_REPS || (QUICK ? 1 : 5));
// (1.6 s, not 2.5 as before the three echo apps came in: 11 libraries × 5 repetitions must
// leave time for the other phases; the floors below keep each run ≥ 1.5 s anyway.)
const SECONDS = Number(process.env.BENCH_SECONDS || (QUICK ? 0.4 : 1.6));
// The tests' Chromium and flags, plus one the benchmark page needs:
const CHROMIUM_FLAGS = [
  ...TEST_CHROMIUM_FLAGS,
  // The page is served through a Playwright route (to add COOP/COEP, below); Chromium then
  // treats it as public and its Local Network Access checks block ws://127.0.0.1.
  "--disable-features=LocalNetworkAccessChecks,LocalNetworkAccessChecksWebSockets",
];
/** Speed phases (throughput, latency, flush, reconnect): later ones are skipped, and say so,
 * once this is spent. The memory phase then always runs, bounded per library. */
const BUDGET_MS = Number(process.env.BENCH_BUDGET_MS || (QUICK ? 240_000 : 1_300_000));
/** Per library, for the reconnect cycles of the memory phase. */
const CYCLE_BUDGET_MS = QUICK ? 10_000 : 35_000;
const started = Date.now();
const overBudget = () => Date.now() - started > BUDGET_MS;

/** The minimal echo apps of www/bench/echo (www/bench/bench.mjs loads dist/echo/<dir>/app.js):
 * the Rust API and its anchors, like with like. Throughput and latency only. */
const ECHO_LIBS = ["echo-tether", "echo-gloo", "echo-ws-stream"];
const ECHO_DIR = { "echo-tether": "tether", "echo-gloo": "gloo", "echo-ws-stream": "ws_stream" };
const LIBS = ["raw", "raw-cont", "tether", "tether-cont", "tether-cont-persist", "rust", "rws", "partysocket", ...ECHO_LIBS];
/** The main table's columns; the echo apps have their own table (with raw and the Rust API). */
const MAIN_LIBS = LIBS.filter((l) => !ECHO_LIBS.includes(l));
const RUST_LIBS = ["raw", "rust", ...ECHO_LIBS];
/** Continuity on (a TetherSocket from "tether-ws/continuity" against the reference server)
 * and its "off" baseline: the reference server refuses a client that does not offer tether.v1
 * (HTTP 400), so "off" is the default entry's TetherSocket on the Rust echo server. */
const ON = "tether-cont";
const OFF = "tether";
/** The protocol by hand over a raw WebSocket, against the reference server: the same server
 * as ON, with the least client work the protocol allows (www/bench/bench.mjs). */
const RAW_ON = "raw-cont";
/** ON with the session written through to sessionStorage (`continuity.persist`). */
const PERSIST = "tether-cont-persist";
/** Phases that do not apply to a lib, with the table's footnote mark and why. */
const NOT_APPLICABLE = {
  reconnect: {
    [ON]: "¹",
    [PERSIST]: "¹",
    [RAW_ON]: "¹",
    ...Object.fromEntries(ECHO_LIBS.map((l) => [l, "³"])),
  },
  queueFlush: { [RAW_ON]: "²", ...Object.fromEntries(ECHO_LIBS.map((l) => [l, "³"])) },
  memory: { [RAW_ON]: "²", ...Object.fromEntries(ECHO_LIBS.map((l) => [l, "³"])) },
};
const FOOTNOTES = {
  "¹": "that row stops and starts the test server's WebSocket port (its /down and /up control endpoints); the reference server has no such endpoints, and killing it would end its sessions, which is another scenario (a resume with resumed: false)",
  "²": "the hand-written protocol has no queue before its first connection and no reconnect: it is a floor for the throughput, main-thread time and round trip only",
  "³": "gloo-net and ws_stream_wasm have neither a reconnect nor a queue; the echo apps (the three alike) measure throughput, main-thread time and round trip only",
};
const na = (phase, lib) => NOT_APPLICABLE[phase]?.[lib];
const pkgVersion = (name) => JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8")).version;
/** A crate's version in the echo apps' Cargo.lock. */
const crateVersion = (name) => {
  try {
    const lock = readFileSync(join(ROOT, "www", "bench", "echo", "Cargo.lock"), "utf8");
    return lock.match(new RegExp(`\\[\\[package\\]\\]\\nname = "${name}"\\nversion = "([^"]+)"`))?.[1] ?? "?";
  } catch {
    return "?";
  }
};
const LABEL = {
  raw: "raw WebSocket",
  tether: "TetherSocket (JS)",
  [RAW_ON]: "raw WebSocket, continuity by hand",
  [ON]: "TetherSocket, continuity",
  [PERSIST]: "TetherSocket, continuity + persist",
  rust: "tether-ws Rust API",
  rws: `reconnecting-websocket ${pkgVersion("reconnecting-websocket")}`,
  partysocket: `partysocket ${pkgVersion("partysocket")}`,
  "echo-tether": "echo app: tether-ws Rust API",
  "echo-gloo": `echo app: gloo-net ${crateVersion("gloo-net")}`,
  "echo-ws-stream": `echo app: ws_stream_wasm ${crateVersion("ws_stream_wasm")}`,
};
const CASES = [
  { id: "text64", size: 64, binary: false, label: "64 B text" },
  { id: "bin64", size: 64, binary: true, label: "64 B binary" },
  { id: "text4k", size: 4096, binary: false, label: "4 KiB text" },
  { id: "bin4k", size: 4096, binary: true, label: "4 KiB binary" },
];
/** Messages in flight in the pipelined runs: up to 1 MiB, 1024 at most. */
const windowFor = (size) => Math.max(32, Math.min(1024, Math.floor((1 << 20) / size)));

const log = (...a) => console.log(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(3)}s]`, ...a);
const median = (xs) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (!s.length) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const quantile = (xs, q) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (!s.length) return null;
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
};
const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
const errText = (e) => String((e && e.message) || e).split("\n")[0].slice(0, 300);

// ------------------------------------------------------------------------------- sizes

function gzip9(buf) {
  try {
    return execFileSync("gzip", ["-9", "-c"], { input: buf, maxBuffer: 64 << 20 }).length;
  } catch {
    return gzipSync(buf, { level: 9 }).length;
  }
}
const brotli = (buf) =>
  brotliCompressSync(buf, { params: { [zc.BROTLI_PARAM_QUALITY]: 11, [zc.BROTLI_PARAM_SIZE_HINT]: buf.length } }).length;

function sizeOf(files) {
  const parts = files.map((f) => {
    const b = readFileSync(f);
    return { file: relative(ROOT, f), raw: b.length, gzip: gzip9(b), brotli: brotli(b) };
  });
  const sum = (k) => parts.reduce((a, p) => a + p[k], 0);
  return { raw: sum("raw"), gzip: sum("gzip"), brotli: sum("brotli"), files: parts };
}

function sizes() {
  // The snapshot of pkg/ taken by scripts/bench.sh right after building it (what the page loads).
  const pkg = existsSync(join(ROOT, "www", "bench", "dist", "pkg", "index.js")) ? join(ROOT, "www", "bench", "dist", "pkg") : join(ROOT, "pkg");
  // The default entry: one JS file with the wasm inside.
  const shipped = [join(pkg, "index.js")];
  const dist = join(ROOT, "www", "bench", "dist");
  return {
    // What a user ships: the default entry as scripts/build-pkg.sh built it.
    tether: sizeOf(shipped),
    wasmOnly: sizeOf([join(pkg, "tether_ws_bg.wasm")]),
    // "tether-ws/continuity": one JS file with its own wasm (built with the protocol) inside.
    continuity: sizeOf([join(pkg, "continuity.js")]),
    rws: sizeOf([join(dist, "rws.js")]),
    partysocket: sizeOf([join(dist, "partysocket.js")]),
    // Each minimal echo app as shipped: its wasm (wasm-opt -Oz) and its glue (bundled, minified).
    echo: Object.fromEntries(
      ECHO_LIBS.map((l) => {
        const dir = join(dist, "echo", ECHO_DIR[l]);
        const wasm = join(dir, `echo_${ECHO_DIR[l]}_bg.wasm`);
        const glue = join(dir, "app.js");
        if (!existsSync(wasm) || !existsSync(glue)) return [l, null];
        return [l, { ...sizeOf([wasm, glue]), wasm: sizeOf([wasm]), glue: sizeOf([glue]) }];
      }),
    ),
  };
}

// ----------------------------------------------------------------------------- browser

async function newPage(context) {
  const page = await context.newPage();
  page.fatal = [];
  page.on("pageerror", (e) => {
    page.fatal.push(errText(e));
    log(`[page error] ${errText(e)}`);
  });
  page.on("console", (m) => {
    // Failed connection attempts during the reconnect runs are expected: not shown.
    if (/WebSocket connection to .* failed/.test(m.text())) return;
    if (m.type() === "error" || /panicked|unreachable/.test(m.text())) log(`[page console.${m.type()}] ${m.text().slice(0, 300)}`);
  });
  await page.goto(`${HTTP}/www/bench/index.html?ws=${encodeURIComponent(WS)}&cws=${encodeURIComponent(CWS)}`, { timeout: 30_000 });
  await page.waitForFunction(() => window.ready === true || typeof window.loadError === "string", null, { timeout: 30_000 });
  const loadError = await page.evaluate(() => window.loadError);
  if (loadError) throw new Error(`the bench page did not load: ${loadError}`);
  return page;
}

/** page.evaluate(window.bench[fn](arg)) bounded by `ms`. */
async function call(page, fn, arg, ms) {
  let timer;
  const timeout = new Promise((_, rej) => {
    timer = setTimeout(() => rej(new Error(`${fn} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([page.evaluate(([f, a]) => window.bench[f](a), [fn, arg]), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** JS heap (bytes used) after two forced full GCs, and the page's wasm memory for `lib`. */
async function measureMemory(page, lib) {
  const cdp = await page.context().newCDPSession(page);
  try {
    await cdp.send("HeapProfiler.enable");
    for (let i = 0; i < 3; i++) {
      await cdp.send("HeapProfiler.collectGarbage");
      await new Promise((r) => setTimeout(r, 50));
    }
    const { usedSize } = await cdp.send("Runtime.getHeapUsage");
    const wasm = await page.evaluate((l) => window.bench.wasmMemory({ lib: l }), lib);
    return { jsHeap: usedSize, wasm };
  } finally {
    await cdp.detach().catch(() => {});
  }
}

async function control(path) {
  const r = await fetch(`${HTTP}${path}`, { signal: AbortSignal.timeout(5000) });
  return r.text();
}

// ------------------------------------------------------------------------------ phases

/** The page's main-thread task time so far, ms (CDP Performance metrics). */
async function mainThreadMs(cdp) {
  const { metrics } = await cdp.send("Performance.getMetrics");
  return metrics.find((m) => m.name === "TaskDuration").value * 1000;
}

async function phaseThroughput(page, results) {
  const out = (results.throughput = {});
  // Throughput is bounded by the whole loopback path, so on a loaded machine it varies a lot
  // between runs; the main thread's time per message shows each library's own cost.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Performance.enable");
  for (const c of CASES) {
    if (overBudget()) {
      out[c.id] = { skipped: "time budget spent" };
      continue;
    }
    const windowSize = windowFor(c.size);
    // Calibrate on raw WebSocket: N such that raw takes ~SECONDS (slower libraries take longer).
    const probeN = c.size > 1024 ? 4000 : 20000;
    const probeMs = await call(page, "throughput", { lib: "raw", n: probeN, size: c.size, binary: c.binary, window: windowSize, timeoutMs: 60_000 }, 70_000);
    // On a busy machine the probe can run slower than later runs: a floor keeps runs ≥ 2 s
    // at the rates seen there (check runMs in the JSON).
    const floor = QUICK ? 1000 : c.size > 1024 ? 5000 : 9000;
    const n = Math.max(floor, Math.min(3_000_000, Math.ceil(((probeN / probeMs) * 1000 * SECONDS) / 1000) * 1000));
    const runs = Object.fromEntries(LIBS.map((l) => [l, []]));
    const runMs = Object.fromEntries(LIBS.map((l) => [l, []]));
    const cpuUs = Object.fromEntries(LIBS.map((l) => [l, []]));
    const errors = {};
    for (let rep = 0; rep < REPS; rep++) {
      // Rotate the order so that no library always runs first or last.
      const order = LIBS.map((_, i) => LIBS[(i + rep) % LIBS.length]);
      for (const lib of order) {
        if (errors[lib] || overBudget()) continue;
        try {
          const cpuBefore = await mainThreadMs(cdp);
          const ms = await call(page, "throughput", { lib, n, size: c.size, binary: c.binary, window: windowSize, timeoutMs: 60_000 }, 70_000);
          cpuUs[lib].push(((await mainThreadMs(cdp)) - cpuBefore) * 1000 / n);
          runs[lib].push((n / ms) * 1000);
          runMs[lib].push(Math.round(ms));
        } catch (e) {
          errors[lib] = errText(e);
          log(`throughput ${c.id} ${lib}: ${errors[lib]}`);
        }
      }
    }
    const row = { n, window: windowSize, size: c.size, binary: c.binary, msgsPerSec: {}, mainThreadUsPerMsg: {}, runs, runMs, cpuUs, errors };
    for (const lib of LIBS) {
      row.msgsPerSec[lib] = median(runs[lib]);
      row.mainThreadUsPerMsg[lib] = median(cpuUs[lib]);
    }
    out[c.id] = row;
    log(`throughput ${c.label} (N=${n}): ` + LIBS.map((l) => `${l} ${Math.round(row.msgsPerSec[l] ?? NaN)} (${row.mainThreadUsPerMsg[l]?.toFixed(1)} µs/msg)`).join(", "));
  }
  await cdp.detach().catch(() => {});
}

async function phaseLatency(page, results) {
  const n = QUICK ? 300 : 2000;
  const warmup = QUICK ? 50 : 200;
  const out = (results.latency = { n, warmup, size: 64, ms: {} });
  for (const lib of LIBS) {
    if (overBudget()) {
      out.ms[lib] = { skipped: "time budget spent" };
      continue;
    }
    try {
      const s = await call(page, "latency", { lib, n, warmup, size: 64, timeoutMs: 60_000 }, 70_000);
      out.ms[lib] = { p50: quantile(s, 0.5), p90: quantile(s, 0.9), p99: quantile(s, 0.99), mean: mean(s), max: Math.max(...s) };
    } catch (e) {
      out.ms[lib] = { error: errText(e) };
    }
  }
  log("latency p50/p99 ms: " + LIBS.map((l) => `${l} ${out.ms[l].p50?.toFixed(3)}/${out.ms[l].p99?.toFixed(3)}`).join(", "));
}

async function phaseQueueFlush(page, results) {
  const n = 10_000;
  const out = (results.queueFlush = { n, size: 64, ms: {}, runs: {} });
  for (const lib of LIBS) {
    if (na("queueFlush", lib)) {
      out.runs[lib] = { skipped: "not applicable" };
      out.ms[lib] = null;
      continue;
    }
    out.runs[lib] = [];
    for (let rep = 0; rep < REPS && !overBudget(); rep++) {
      try {
        out.runs[lib].push(await call(page, "queueFlush", { lib, n, size: 64, timeoutMs: 60_000 }, 70_000));
      } catch (e) {
        out.runs[lib].error = errText(e);
        break;
      }
    }
    out.ms[lib] = median(out.runs[lib]);
  }
  log("queue flush 10k ms: " + LIBS.map((l) => `${l} ${out.ms[l]?.toFixed(1)}`).join(", "));
}

async function phaseReconnect(page, results) {
  const reps = QUICK ? 3 : 10;
  const downMs = 350;
  const out = (results.reconnect = { reps, downMs, retryDelayMs: 100, ms: {}, runs: {} });
  for (const lib of LIBS) {
    if (na("reconnect", lib)) {
      // (FOOTNOTES["¹"].)
      out.ms[lib] = null;
      out.runs[lib] = { skipped: "not applicable" };
      continue;
    }
    if (overBudget()) {
      out.ms[lib] = null;
      out.runs[lib] = { skipped: "time budget spent" };
      continue;
    }
    try {
      const s = await call(page, "reconnect", { lib, reps, downMs, timeoutMs: 60_000 }, 70_000);
      out.runs[lib] = s;
      out.ms[lib] = median(s);
    } catch (e) {
      out.runs[lib] = { error: errText(e) };
      out.ms[lib] = null;
    } finally {
      await control("/up").catch(() => {});
    }
  }
  log("reconnect ms (median): " + LIBS.map((l) => `${l} ${out.ms[l]?.toFixed(1)}`).join(", "));
}

async function phaseMemory(context, results) {
  const messages = 10_000;
  const cycles = QUICK ? 200 : 2000;
  const out = (results.memory = { messages, cycles, size: 64, note: "JS heap: CDP Runtime.getHeapUsage().usedSize after forced GC; wasm: memory.buffer.byteLength", byLib: {} });
  for (const lib of LIBS) {
    const r = (out.byLib[lib] = {});
    if (na("memory", lib)) {
      r.skipped = "not applicable";
      continue;
    }
    let page;
    try {
      page = await newPage(context);
      r.baseline = await measureMemory(page, lib);
      await call(page, "memOpen", { lib, timeoutMs: 10_000 }, 15_000);
      await call(page, "memMessages", { lib, n: messages, size: 64, window: windowFor(64), timeoutMs: 60_000 }, 70_000);
      r.afterMessages = await measureMemory(page, lib);
      // A first quarter warms up (JIT code, one-time allocations); the growth over the rest
      // is the per-cycle cost, what a leak would show in.
      const reconnects = (n) => call(page, "memReconnects", { lib, cycles: n, budgetMs: CYCLE_BUDGET_MS }, CYCLE_BUDGET_MS + 30_000);
      r.warmCycles = await reconnects(cycles / 4);
      r.afterWarmReconnects = await measureMemory(page, lib);
      r.cyclesDone = r.warmCycles + (await reconnects(cycles - r.warmCycles));
      r.afterReconnects = await measureMemory(page, lib);
      await call(page, "memClose", { lib }, 10_000);
    } catch (e) {
      r.error = errText(e);
    } finally {
      if (page) await page.close().catch(() => {});
    }
    log(`memory ${lib}: ${JSON.stringify(r)}`);
  }
  if (!CPID) {
    out.server = { skipped: "BENCH_CONTINUITY_PID not set" };
    return;
  }
  // The reference server's resident memory with `sessions` more sessions open, each on its own
  // connection (what one connected client costs it: the session table entry, the connection's
  // task and buffers), after each echoed a few messages (all acknowledged). RSS, so the
  // allocator's rounding is in it; the figure is a size, not an exact count.
  const srv = (out.server = { sessions: Number(process.env.BENCH_SERVER_SESSIONS) || (QUICK ? 50 : 200), messagesEach: 20, pid: CPID });
  let page;
  try {
    page = await newPage(context);
    await new Promise((r) => setTimeout(r, 500));
    srv.rssBefore = rss(CPID);
    srv.opened = await call(page, "sessionsOpen", { n: srv.sessions, messages: srv.messagesEach, timeoutMs: 60_000 }, 70_000);
    await new Promise((r) => setTimeout(r, 500));
    srv.rssOpen = rss(CPID);
    await call(page, "sessionsClose", {}, 10_000);
    await new Promise((r) => setTimeout(r, 1000));
    srv.rssAfterClose = rss(CPID);
    srv.perSessionBytes = (srv.rssOpen - srv.rssBefore) / srv.opened;
  } catch (e) {
    srv.error = errText(e);
  } finally {
    if (page) await page.close().catch(() => {});
  }
  log(`reference server memory: ${JSON.stringify(srv)}`);
}

/** Resident memory of process `pid`, bytes (Linux /proc). */
function rss(pid) {
  const m = readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmRSS:\s+(\d+) kB$/m);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

// ----------------------------------------------------------------------------- reports

const fmtInt = (x) => (x == null ? "–" : Math.round(x).toLocaleString("en-US"));
const fmtMs = (x) => (x == null ? "–" : x < 10 ? x.toFixed(2) : x.toFixed(0));
const fmtKB = (b) => (b == null ? "–" : `${(b / 1024).toFixed(1)} KiB`);
const fmtMB = (b) => (b == null ? "–" : `${(b / 1048576).toFixed(2)} MiB`);
const ratio = (x, base) => (x == null || !base ? "" : ` (${(x / base).toFixed(2)}×)`);

function markdown(r) {
  const head = `| | ${MAIN_LIBS.map((l) => LABEL[l]).join(" | ")} |\n|---|${MAIN_LIBS.map(() => "---:").join("|")}|\n`;
  const rows = [];
  const row = (name, cells) => rows.push(`| ${name} | ${cells.join(" | ")} |`);
  for (const c of CASES) {
    const t = r.throughput?.[c.id];
    if (!t?.msgsPerSec) continue;
    const base = t.msgsPerSec.raw;
    row(`Throughput ${c.label}, msg/s`, MAIN_LIBS.map((l) => (t.msgsPerSec[l] == null ? (t.errors?.[l] ? "error" : "–") : fmtInt(t.msgsPerSec[l]) + ratio(t.msgsPerSec[l], base))));
  }
  for (const c of CASES) {
    const u = r.throughput?.[c.id]?.mainThreadUsPerMsg;
    if (!u) continue;
    row(`Main-thread time per message, ${c.label}, µs`, MAIN_LIBS.map((l) => (u[l] == null ? "–" : u[l].toFixed(1) + ratio(u[l], u.raw))));
  }
  if (r.latency) {
    const m = r.latency.ms;
    row("Round trip p50, ms", MAIN_LIBS.map((l) => fmtMs(m[l]?.p50) + ratio(m[l]?.p50, m.raw?.p50)));
    row("Round trip p99, ms", MAIN_LIBS.map((l) => fmtMs(m[l]?.p99) + ratio(m[l]?.p99, m.raw?.p99)));
  }
  if (r.queueFlush) {
    const m = r.queueFlush.ms;
    row("Flush 10,000 queued, ms", MAIN_LIBS.map((l) => (na("queueFlush", l) ? `n/a ${na("queueFlush", l)}` : fmtMs(m[l]) + ratio(m[l], m.raw))));
  }
  if (r.reconnect) {
    const m = r.reconnect.ms;
    row("Server up → open, ms (median)", MAIN_LIBS.map((l) => (na("reconnect", l) ? `n/a ${na("reconnect", l)}` : fmtMs(m[l]) + ratio(m[l], m.raw))));
  }
  const s = r.sizes;
  if (s) {
    const shipped = (k) => ({
      raw: "–",
      [RAW_ON]: "–",
      tether: `${fmtKB(s.tether[k])} (wasm ${fmtKB(s.wasmOnly[k])})`,
      [ON]: s.continuity ? fmtKB(s.continuity[k]) : "–",
      [PERSIST]: s.continuity ? fmtKB(s.continuity[k]) : "–",
      rust: "(in the app's wasm: the echo app's below)",
      rws: fmtKB(s.rws[k]),
      partysocket: fmtKB(s.partysocket[k]),
    });
    row("Shipped, gzip -9", MAIN_LIBS.map((l) => shipped("gzip")[l]));
    row("Shipped, brotli", MAIN_LIBS.map((l) => shipped("brotli")[l]));
  }
  const mem = r.memory?.byLib;
  if (mem) {
    const heapDelta = (l, k) => (mem[l]?.[k] && mem[l]?.baseline ? mem[l][k].jsHeap - mem[l].baseline.jsHeap : null);
    const kb = (x) => (x == null ? "–" : `${x >= 0 ? "+" : ""}${(x / 1024).toFixed(0)} KiB`);
    const memNa = (l) => (na("memory", l) ? `n/a ${na("memory", l)}` : null);
    row("JS heap after 10,000 messages (Δ)", MAIN_LIBS.map((l) => memNa(l) ?? (mem[l]?.error ? "error" : kb(heapDelta(l, "afterMessages")))));
    row(`JS heap after ${r.memory.cycles.toLocaleString("en-US")} reconnects (Δ)`, MAIN_LIBS.map((l) => memNa(l) ?? (mem[l]?.error ? "error" : kb(heapDelta(l, "afterReconnects")) + (mem[l]?.cyclesDone != null && mem[l].cyclesDone < r.memory.cycles ? ` (${mem[l].cyclesDone} cycles)` : ""))));
    const perCycle = (l) => {
      const x = mem[l];
      if (memNa(l)) return memNa(l);
      if (x?.error) return "error";
      if (!x?.afterWarmReconnects || !x?.afterReconnects || x.cyclesDone <= x.warmCycles) return "–";
      const b = (x.afterReconnects.jsHeap - x.afterWarmReconnects.jsHeap) / (x.cyclesDone - x.warmCycles);
      return `${b >= 0 ? "+" : ""}${b.toFixed(0)} B`;
    };
    row(`JS heap per reconnect, cycles ${r.memory.cycles / 4}–${r.memory.cycles}`, MAIN_LIBS.map(perCycle));
    const w = (l, k) => (l === "tether" || l === ON || l === PERSIST || l === "rust" ? fmtMB(mem[l]?.[k]?.wasm) : "n/a");
    row("wasm memory after 10,000 messages", MAIN_LIBS.map((l) => w(l, "afterMessages")));
    row(`wasm memory after ${r.memory.cycles.toLocaleString("en-US")} reconnects`, MAIN_LIBS.map((l) => w(l, "afterReconnects")));
  }
  const srv = r.memory?.server;
  if (srv?.perSessionBytes != null) {
    row(`Reference server memory per open session (${srv.sessions} sessions), RSS`, MAIN_LIBS.map((l) => (l === ON ? `${(srv.perSessionBytes / 1024).toFixed(1)} KiB` : "n/a")));
  }
  const m = r.machine;
  return (
    `Measured ${r.date.slice(0, 10)} on ${m.cpu} (${m.nproc} CPUs), ${m.os}, ${m.chromium} headless, ` +
    `Node ${m.node}, load average ${m.loadAvgAtStart?.[0]} at start and ${m.loadAvgAtEnd?.[0]} at end` +
    `; echo server: tether-test-server (release) on 127.0.0.1, and for "${LABEL[ON]}" the continuity ` +
    `reference server (tether-server, release, its defaults). Ratios are to raw WebSocket ` +
    `(higher is better for throughput, lower for the rest). Median of ${r.settings.reps} runs for throughput ` +
    `and flush. Command: \`bash scripts/bench.sh${r.settings.quick ? " --quick" : ""}\`` +
    (r.settings.quick ? ` (short runs, ${r.settings.reps} repetition${r.settings.reps === 1 ? "" : "s"}: read the ratios as rough)` : "") +
    `.\n\n` +
    head +
    rows.join("\n") +
    "\n\n" +
    continuityNotes(r) +
    "\n\n" +
    rustTable(r) +
    "\n"
  );
}

/** Continuity on / off: ON's figures over OFF's, for each case (null when one is missing);
 * and, on the reference server alone, the hand-written protocol over raw WebSocket (what the
 * protocol and that server cost with the least client work) and ON over the hand-written
 * protocol (TetherSocket's own cost with continuity, like with like), next to OFF over raw
 * WebSocket (TetherSocket's own cost without it, on the test server). */
function onOff(r) {
  const q = (a, b) => (a == null || b == null || !b ? null : a / b);
  const out = { mainThreadUsPerMsg: {}, msgsPerSec: {}, persistOverOn: {}, persistUsPerMsg: {}, sameServer: { rawOnOverRaw: {}, onOverRawOn: {}, offOverRaw: {} } };
  for (const c of CASES) {
    const t = r.throughput?.[c.id];
    const u = t?.mainThreadUsPerMsg;
    out.mainThreadUsPerMsg[c.id] = q(u?.[ON], u?.[OFF]);
    out.msgsPerSec[c.id] = q(t?.msgsPerSec?.[ON], t?.msgsPerSec?.[OFF]);
    out.sameServer.rawOnOverRaw[c.id] = q(u?.[RAW_ON], u?.raw);
    out.sameServer.onOverRawOn[c.id] = q(u?.[ON], u?.[RAW_ON]);
    out.sameServer.offOverRaw[c.id] = q(u?.[OFF], u?.raw);
    out.persistOverOn[c.id] = q(u?.[PERSIST], u?.[ON]);
    out.persistUsPerMsg[c.id] = u?.[PERSIST] != null && u?.[ON] != null ? u[PERSIST] - u[ON] : null;
  }
  const lat = r.latency?.ms;
  out.roundTripP50 = q(lat?.[ON]?.p50, lat?.[OFF]?.p50);
  out.roundTripP99 = q(lat?.[ON]?.p99, lat?.[OFF]?.p99);
  out.flush = q(r.queueFlush?.ms?.[ON], r.queueFlush?.ms?.[OFF]);
  return out;
}

function continuityNotes(r) {
  const o = r.continuityOnOff ?? onOff(r);
  const x = (v) => (v == null ? "–" : `${v.toFixed(2)}×`);
  const cases = (byCase) => CASES.map((c) => `${c.label} ${x(byCase[c.id])}`).join(", ");
  const mt = CASES.map((c) => o.mainThreadUsPerMsg[c.id]).filter((v) => v != null);
  const verdict =
    mt.length === CASES.length
      ? Math.max(...mt) <= 1.15
        ? "met in every case"
        : `missed in ${mt.filter((v) => v > 1.15).length} of ${mt.length} cases`
      : "not every case measured";
  const s = r.sizes;
  const B = (n) => `${n.toLocaleString("en-US")} B`;
  const sizeLine = s?.continuity
    ? ` Sizes, gzip -9: default entry (\`tether-ws\`, index.js, wasm inside) ${B(s.tether.gzip)}, ` +
      `continuity entry (\`tether-ws/continuity\`, continuity.js, wasm inside) ${B(s.continuity.gzip)} ` +
      `(target ≤ 20,000 B: ${s.continuity.gzip <= 20_000 ? "met" : "missed"}).`
    : "";
  const ss = o.sameServer;
  return [
    `**Continuity on / off**, main-thread time per message ("${LABEL[ON]}" over "${LABEL[OFF]}"; target ≤ 1.15×, ` +
      `${verdict}): ${cases(o.mainThreadUsPerMsg)}. Throughput on / off: ${cases(o.msgsPerSec)}; ` +
      `round trip p50 ${x(o.roundTripP50)}, p99 ${x(o.roundTripP99)}; flush ${x(o.flush)}.${sizeLine}`,
    "",
    `- "${LABEL[ON]}": TetherSocket from \`tether-ws/continuity\` with \`continuity: "required"\` and the ` +
      `protocol's defaults (window 256 messages / 1 MiB, acks delayed up to 250 ms), against the echo of the ` +
      `reference server (tether-server, release). That server refuses a client that does not offer ` +
      `\`tether.v1\` (HTTP 400), so "off" is the "${LABEL[OFF]}" column: the default entry against the test ` +
      `server's echo, another server binary, whose own speed is in the ratios too (the main-thread time is the ` +
      `browser's, but how the echoes arrive, and so how many share one task, depends on the server).`,
    `- "${LABEL[RAW_ON]}": the protocol written by hand over a raw WebSocket (hello, the header on and off, ` +
      `acks riding on the data, the window; no resume, no timers) against the same reference server, the ` +
      `least client work the protocol allows. Main-thread time, it over raw WebSocket (what the protocol and ` +
      `the reference server cost): ${cases(ss.rawOnOverRaw)}. Like with like, "${LABEL[ON]}" over it ` +
      `(TetherSocket's own cost with continuity): ${cases(ss.onOverRawOn)}; "${LABEL[OFF]}" over raw ` +
      `WebSocket (its own cost without): ${cases(ss.offOverRaw)}.`,
    `- "${LABEL[PERSIST]}": the same with \`persist: "session"\` (each message written to ` +
      `sessionStorage at send() and removed at its ack, the session record at the end of each task that ` +
      `changed it). Main-thread time, it over "${LABEL[ON]}": ${cases(o.persistOverOn)}; the cost of ` +
      `persistence per message, µs: ${CASES.map((c) => `${c.label} ${o.persistUsPerMsg[c.id] == null ? "–" : o.persistUsPerMsg[c.id].toFixed(1)}`).join(", ")}.`,
    ...Object.entries(FOOTNOTES)
      .filter(([k]) => k !== "³")
      .map(([k, v]) => `- ${k} Not applicable: ${v}.`),
    `- Memory: for "${LABEL[ON]}" the reconnects are resumes of one session (\`reconnect()\`, then hello and ` +
      `a welcome with resumed: true). The reference server's memory per session is the growth of its ` +
      `resident set (VmRSS) with that many more sessions open, each on its own connection and having echoed ` +
      `${r.memory?.server?.messagesEach ?? "a few"} messages, over their count.`,
  ].join("\n");
}

/** The echo apps like with like: tether-ws's over gloo-net's (issue 18's target: main-thread
 * time per message ≤ gloo-net's), ws_stream_wasm's over gloo-net's; each the ratio of the
 * medians and the range of the per-repetition ratios (repetition k of one over repetition k of
 * the other: they ran in the same round). */
function rustAnchors(r) {
  const T = "echo-tether", G = "echo-gloo", W = "echo-ws-stream";
  const q = (a, b) => (a == null || b == null || !b ? null : a / b);
  const spread = (xs, ys) => {
    const k = Math.min(xs?.length ?? 0, ys?.length ?? 0);
    const each = Array.from({ length: k }, (_, i) => xs[i] / ys[i]).filter(Number.isFinite);
    return each.length ? { min: Math.min(...each), max: Math.max(...each), n: each.length } : null;
  };
  const by = (a, b) => {
    const out = { mainThreadUsPerMsg: {}, msgsPerSec: {} };
    for (const c of CASES) {
      const t = r.throughput?.[c.id];
      out.mainThreadUsPerMsg[c.id] = { ratio: q(t?.mainThreadUsPerMsg?.[a], t?.mainThreadUsPerMsg?.[b]), ...spread(t?.cpuUs?.[a], t?.cpuUs?.[b]) };
      out.msgsPerSec[c.id] = { ratio: q(t?.msgsPerSec?.[a], t?.msgsPerSec?.[b]), ...spread(t?.runs?.[a], t?.runs?.[b]) };
    }
    const lat = r.latency?.ms;
    out.roundTripP50 = q(lat?.[a]?.p50, lat?.[b]?.p50);
    out.roundTripP99 = q(lat?.[a]?.p99, lat?.[b]?.p99);
    const e = r.sizes?.echo;
    out.gzip = q(e?.[a]?.gzip, e?.[b]?.gzip);
    return out;
  };
  return { tetherOverGloo: by(T, G), wsStreamOverGloo: by(W, G), tetherOverWsStream: by(T, W) };
}

function rustTable(r) {
  const cols = RUST_LIBS;
  const head = `| | ${cols.map((l) => (l === "raw" ? `${LABEL.raw} (JS)` : l === "rust" ? `${LABEL.rust} (bench crate)` : LABEL[l])).join(" | ")} |\n|---|${cols.map(() => "---:").join("|")}|\n`;
  const rows = [];
  const row = (name, cells) => rows.push(`| ${name} | ${cells.join(" | ")} |`);
  for (const c of CASES) {
    const t = r.throughput?.[c.id];
    if (!t?.msgsPerSec) continue;
    row(`Throughput ${c.label}, msg/s`, cols.map((l) => (t.msgsPerSec[l] == null ? (t.errors?.[l] ? "error" : "–") : fmtInt(t.msgsPerSec[l]) + ratio(t.msgsPerSec[l], t.msgsPerSec.raw))));
  }
  for (const c of CASES) {
    const u = r.throughput?.[c.id]?.mainThreadUsPerMsg;
    if (!u) continue;
    row(`Main-thread time per message, ${c.label}, µs`, cols.map((l) => (u[l] == null ? "–" : u[l].toFixed(1) + ratio(u[l], u.raw))));
  }
  if (r.latency) {
    const m = r.latency.ms;
    row("Round trip p50, ms", cols.map((l) => fmtMs(m[l]?.p50) + ratio(m[l]?.p50, m.raw?.p50)));
    row("Round trip p99, ms", cols.map((l) => fmtMs(m[l]?.p99) + ratio(m[l]?.p99, m.raw?.p99)));
  }
  const e = r.sizes?.echo;
  if (e) {
    const cell = (l, f) => (l === "raw" ? "–" : l === "rust" ? "(not sized: see the echo app)" : e[l] ? f(e[l]) : "–");
    row("Echo app shipped (wasm + glue), gzip -9", cols.map((l) => cell(l, (x) => `${fmtKB(x.gzip)} (wasm ${fmtKB(x.wasm.gzip)})`)));
    row("Echo app shipped (wasm + glue), brotli", cols.map((l) => cell(l, (x) => `${fmtKB(x.brotli)} (wasm ${fmtKB(x.wasm.brotli)})`)));
    row("Echo app shipped, raw bytes", cols.map((l) => cell(l, (x) => `${fmtKB(x.raw)} (wasm ${fmtKB(x.wasm.raw)})`)));
  }
  const a = r.rustAnchors ?? rustAnchors(r);
  const x = (v) => (v == null ? "–" : `${v.toFixed(2)}×`);
  const withSpread = (o) => (o?.ratio == null ? "–" : `${x(o.ratio)}` + (o.min != null && o.n > 1 ? ` (${o.min.toFixed(2)}–${o.max.toFixed(2)})` : ""));
  const cases = (byCase) => CASES.map((c) => `${c.label} ${withSpread(byCase[c.id])}`).join(", ");
  const t = a.tetherOverGloo;
  const mt = CASES.map((c) => t.mainThreadUsPerMsg[c.id]?.ratio).filter((v) => v != null);
  const verdict =
    mt.length === CASES.length
      ? mt.every((v) => v <= 1)
        ? "met in every case"
        : `missed in ${mt.filter((v) => v > 1).length} of ${mt.length} cases`
      : "not every case measured";
  const B = (l) => (e?.[l] ? `${e[l].gzip.toLocaleString("en-US")} B` : "–");
  return [
    `**The Rust API and its anchors**: the same minimal echo app (www/bench/echo) built with each library, in the same run. ` +
      `Ratios in the table are to raw WebSocket from JS.`,
    "",
    head + rows.join("\n"),
    "",
    `**tether-ws over gloo-net**, the echo apps like with like (target: main-thread time per message ≤ gloo-net's, ${verdict}), ` +
      `the ratio of the medians and, in brackets, the range of the per-repetition ratios: main-thread time per message ${cases(t.mainThreadUsPerMsg)}; ` +
      `throughput ${cases(t.msgsPerSec)}; round trip p50 ${x(t.roundTripP50)}, p99 ${x(t.roundTripP99)}; size gzip -9 ${x(t.gzip)} ` +
      `(${B("echo-tether")} against ${B("echo-gloo")}; ws_stream_wasm ${B("echo-ws-stream")}). ` +
      `ws_stream_wasm over gloo-net: main-thread time ${cases(a.wsStreamOverGloo.mainThreadUsPerMsg)}; throughput ${cases(a.wsStreamOverGloo.msgsPerSec)}.`,
    "",
    `- The echo apps: one workload (www/bench/echo/common.rs: open, then ${"`window`"} messages in flight until N echoes, or one round trip at a time) ` +
      `over each library's own socket, stream of messages and send (tether-ws: ${"`Socket`"} with its defaults, ${"`events()`"}, ${"`send`"}; ` +
      `gloo-net: ${"`gloo_net::websocket::futures::WebSocket`"} as ${"`Stream`"} + ${"`Sink`"}; ws_stream_wasm: ${"`WsMeta::connect`"}, ${"`WsStream`"} as ${"`Stream`"} + ${"`Sink`"}), ` +
      `each its own wasm, built alike: release (opt-level "z", LTO, one codegen unit, panic = abort), wasm-bindgen --target web, wasm-opt -Oz with ` +
      `scripts/build-pkg.sh's flags, the glue bundled and minified by esbuild. The same N, window and message sizes as the other columns; ` +
      `every echo's bytes are read into the app (a String or Vec<u8>), as each library hands them over.`,
    `- "${LABEL.rust} (bench crate)": www/bench/rust, the Rust API driven the same way but built for speed (opt-level 3, no wasm-opt) and with a fixed backoff; ` +
      `it is the "${LABEL.rust}" column of the main table.`,
    `- ³ Not applicable: ${FOOTNOTES["³"]}.`,
  ].join("\n");
}

function svg(r) {
  const colors = {
    raw: "#888888", [RAW_ON]: "#343a40", tether: "#d9480f", [ON]: "#c2255c", [PERSIST]: "#862e9c", rust: "#f08c00", rws: "#1971c2", partysocket: "#2f9e44",
    "echo-tether": "#ffc078", "echo-gloo": "#74c0fc", "echo-ws-stream": "#8ce99a",
  };
  const groups = CASES.filter((c) => r.throughput?.[c.id]?.msgsPerSec);
  const W = 900, H = 360, left = 50, top = 40, bottom = 60, right = 230;
  const plotW = W - left - right, plotH = H - top - bottom;
  const vals = groups.flatMap((c) => LIBS.map((l) => (r.throughput[c.id].msgsPerSec[l] ?? 0) / (r.throughput[c.id].msgsPerSec.raw || 1)));
  const maxV = Math.max(1.1, Math.ceil(Math.max(...vals, 0) * 10) / 10);
  const y = (v) => top + plotH - (v / maxV) * plotH;
  const gw = plotW / Math.max(1, groups.length);
  const bw = (gw * 0.8) / LIBS.length;
  const e = [];
  e.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  e.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  e.push(`<text x="${left}" y="20" font-size="14" font-weight="bold">Throughput relative to raw WebSocket (higher is better)</text>`);
  for (let v = 0; v <= maxV + 1e-9; v += 0.2) {
    const yy = y(v).toFixed(1);
    e.push(`<line x1="${left}" x2="${left + plotW}" y1="${yy}" y2="${yy}" stroke="#e9ecef"/>`);
    e.push(`<text x="${left - 6}" y="${(+yy + 4).toFixed(1)}" text-anchor="end">${v.toFixed(1)}</text>`);
  }
  const t95 = y(0.95).toFixed(1);
  e.push(`<line x1="${left}" x2="${left + plotW}" y1="${t95}" y2="${t95}" stroke="#d9480f" stroke-dasharray="4 3"/>`);
  e.push(`<text x="${left + plotW + 4}" y="${(+t95 + 4).toFixed(1)}" fill="#d9480f">target 0.95×</text>`);
  groups.forEach((c, gi) => {
    const x0 = left + gi * gw + gw * 0.1;
    LIBS.forEach((l, li) => {
      const v = (r.throughput[c.id].msgsPerSec[l] ?? 0) / (r.throughput[c.id].msgsPerSec.raw || 1);
      const x = x0 + li * bw;
      e.push(`<rect x="${x.toFixed(1)}" y="${y(v).toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${(top + plotH - y(v)).toFixed(1)}" fill="${colors[l]}"><title>${LABEL[l]}, ${c.label}: ${v.toFixed(2)}×</title></rect>`);
      e.push(`<text x="${(x + bw / 2 - 1).toFixed(1)}" y="${(y(v) - 3).toFixed(1)}" text-anchor="middle" font-size="9">${v.toFixed(2)}</text>`);
    });
    e.push(`<text x="${(left + gi * gw + gw / 2).toFixed(1)}" y="${top + plotH + 18}" text-anchor="middle">${c.label}</text>`);
  });
  e.push(`<line x1="${left}" x2="${left + plotW}" y1="${top + plotH}" y2="${top + plotH}" stroke="#333"/>`);
  LIBS.forEach((l, i) => {
    const yy = top + 10 + i * 20;
    e.push(`<rect x="${left + plotW + 10}" y="${yy}" width="12" height="12" fill="${colors[l]}"/>`);
    e.push(`<text x="${left + plotW + 28}" y="${yy + 10}">${LABEL[l]}</text>`);
  });
  const m = r.machine;
  e.push(`<text x="${left}" y="${H - 12}" font-size="10" fill="#555">${r.date.slice(0, 10)}, ${m.cpu} (${m.nproc} CPUs), ${m.chromium} headless; messages/s, median of ${r.settings.reps}</text>`);
  e.push(`</svg>`);
  return e.join("\n") + "\n";
}

// -------------------------------------------------------------------------------- main

function machine(browserVersion) {
  let cpu = cpus()[0]?.model || "unknown CPU";
  try {
    const m = readFileSync("/proc/cpuinfo", "utf8").match(/^model name\s*:\s*(.+)$/m);
    if (m) cpu = m[1].trim();
  } catch {}
  let nproc = cpus().length;
  try {
    nproc = Number(execFileSync("nproc").toString().trim()) || nproc;
  } catch {}
  let os = process.platform;
  try {
    os = execFileSync("uname", ["-sr"]).toString().trim();
  } catch {}
  return { cpu, nproc, os, chromium: `Chromium ${browserVersion}`, node: process.versions.node, loadAvgAtStart: loadavg().map((x) => +x.toFixed(2)) };
}

async function main() {
  const health = await control("/health").catch((e) => {
    throw new Error(`bench server not reachable at ${HTTP} (${errText(e)}); run bash scripts/bench.sh`);
  });
  if (health.trim() !== "ok") throw new Error(`unexpected /health answer: ${health}`);
  const results = {
    date: new Date().toISOString(),
    settings: { quick: QUICK, reps: REPS, seconds: SECONDS, http: HTTP, ws: WS, continuityWs: CWS },
    labels: LABEL,
  };
  results.sizes = sizes();
  log(`sizes (gzip): tether ${results.sizes.tether.gzip} (wasm ${results.sizes.wasmOnly.gzip}), continuity entry ${results.sizes.continuity.gzip}, rws ${results.sizes.rws.gzip}, partysocket ${results.sizes.partysocket.gzip}; echo apps ` + ECHO_LIBS.map((l) => `${l} ${results.sizes.echo[l]?.gzip}`).join(", "));

  const userDataDir = mkdtempSync(join(tmpdir(), "tether-bench-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    timeout: 60_000,
  });
  try {
    // Cross-origin isolation (COOP + COEP on every HTTP response) gives performance.now()
    // its fine resolution (5 µs instead of 100 µs) for the latency numbers.
    await context.route("**/*", async (route) => {
      const resp = await route.fetch();
      await route.fulfill({
        response: resp,
        headers: { ...resp.headers(), "cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp" },
      });
    });
    results.machine = machine(context.browser()?.version() ?? "?");
    if (results.machine.chromium === "Chromium ?") {
      try {
        results.machine.chromium = execFileSync(CHROMIUM, ["--version"], { stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
      } catch {}
    }
    const page = await newPage(context);
    results.crossOriginIsolated = await page.evaluate(() => window.bench.crossOriginIsolated);
    for (const [name, phase] of [
      ["throughput", phaseThroughput],
      ["latency", phaseLatency],
      ["queueFlush", phaseQueueFlush],
      ["reconnect", phaseReconnect],
    ]) {
      try {
        await phase(page, results);
      } catch (e) {
        results[name] = { ...(results[name] || {}), error: errText(e) };
        log(`${name} failed: ${errText(e)}`);
      }
    }
    results.pageErrors = page.fatal;
    await page.close();
    try {
      await phaseMemory(context, results);
    } catch (e) {
      results.memory = { error: errText(e) };
    }
  } finally {
    await context.close().catch(() => {});
    rmSync(userDataDir, { recursive: true, force: true });
    await control("/up").catch(() => {});
  }
  results.elapsedSec = Math.round((Date.now() - started) / 1000);
  results.continuityOnOff = onOff(results);
  results.rustAnchors = rustAnchors(results);
  if (results.machine) results.machine.loadAvgAtEnd = loadavg().map((x) => +x.toFixed(2));

  mkdirSync(OUT, { recursive: true });
  const md = markdown(results);
  writeFileSync(join(OUT, "latest.json"), JSON.stringify(results, null, 2) + "\n");
  writeFileSync(join(OUT, "latest.md"), `# tether-ws benchmarks\n\n${md}`);
  writeFileSync(join(OUT, "latest.svg"), svg(results));
  log(`wrote ${relative(ROOT, OUT)}/latest.{json,md,svg} in ${results.elapsedSec} s`);
  console.log("\n" + md);

  if (README) {
    const path = join(ROOT, "README.md");
    const text = readFileSync(path, "utf8");
    const re = /(<!-- bench:start -->\n)[\s\S]*?(<!-- bench:end -->)/;
    if (re.test(text)) {
      writeFileSync(path, text.replace(re, `$1${md}$2`));
      log("README.md benchmark table updated");
    } else {
      log("README.md has no <!-- bench:start --> … <!-- bench:end --> markers: not updated");
    }
  }
}

main().catch((e) => {
  console.error(`bench: ${e.stack || e}`);
  process.exit(1);
});
