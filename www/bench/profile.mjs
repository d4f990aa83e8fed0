// CPU profile of one throughput run in the bench page (Chromium CDP Profiler), printed as
// self time by function. Needs the bench server (scripts/bench.sh starts one; or start
// target/release/tether-test-server on 9790/9791/9792 by hand) and www/bench/dist built;
// for lib=tether-cont or raw-cont also the reference server (target/release/tether-server
// --listen 127.0.0.1:9793, or BENCH_CONTINUITY_WS).
//
//   node www/bench/profile.mjs [lib=tether] [size=64] [binary=0] [n=20000] [pkg=/www/bench/dist/pkg/index.js]
//                              [echo=./dist/echo-names] [top=30] [by=function|file|crate] [json=out.json]
//
// lib= any of www/bench/bench.mjs's, e.g. echo-tether, echo-gloo, echo-ws-stream (the minimal
// echo apps); with echo=./dist/echo-names their builds that kept wasm function names and an
// unminified glue (scripts/bench.sh makes both). by=file sums self time per script or wasm
// module instead; by=crate per Rust crate (module, for tether_ws) inside the wasm, the glue's
// import shims apart from the rest of it, the browser's builtins by name: what share is the
// library's, the glue's, the browser's. Each row also as µs per echo. json= writes the rows.
//
// For wasm function names, point pkg= at a build that kept its name section, e.g.
//   CARGO_TARGET_DIR=/tmp/tprof cargo build --release --target wasm32-unknown-unknown --lib
//   wasm-bindgen --target web --out-dir www/bench/dist/pkg-names /tmp/tprof/wasm32-unknown-unknown/release/tether_ws.wasm

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const arg = Object.fromEntries(process.argv.slice(2).map((a) => a.split("=")));
const lib = arg.lib || "tether";
const size = Number(arg.size || 64);
const binary = arg.binary === "1";
const n = Number(arg.n || 20000);
const HTTP = process.env.BENCH_HTTP || "http://127.0.0.1:9790";
const WS = process.env.BENCH_WS || "ws://127.0.0.1:9791";
const CWS = process.env.BENCH_CONTINUITY_WS || "ws://127.0.0.1:9793";

/** by=crate: a wasm function's crate (tether_ws: crate::module), the glue's import shims
 * (`__wbg_*`, calls out to the browser) apart from its other code, builtins by name. */
function crateOf(fn, file) {
  if (file.endsWith(".wasm")) {
    if (/^(js-to-wasm|wasm-to-js)/.test(fn)) return `wasm: ${fn.split(":")[0]} boundary`;
    const path = fn.replace(/^<+/, "").split(/[\s<>]/)[0];
    const seg = path.split("::");
    const crate = seg[0].replace(/\[[0-9a-f]+\]$/, "");
    if (crate === "tether_ws" && seg.length > 2) return `wasm: tether_ws::${seg[1]}`;
    if (!path.includes("::")) return `wasm: ${/^__wbindgen|^__externref/.test(crate) ? "wasm-bindgen runtime" : crate}`;
    return `wasm: ${crate}`;
  }
  if (file === "app.js" || /^echo_|tether_bench/.test(file)) return fn.startsWith("__wbg_") ? "glue: __wbg_* imports" : "glue: other";
  return file ? `${file}` : fn;
}

const dir = mkdtempSync(join(tmpdir(), "tether-prof-"));
const ctx = await chromium.launchPersistentContext(dir, {
  executablePath: process.env.TETHER_CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
});
try {
  const page = await ctx.newPage();
  const q = new URLSearchParams({ ws: WS, cws: CWS, ...(arg.pkg ? { pkg: arg.pkg } : {}), ...(arg.echo ? { echo: arg.echo } : {}) });
  await page.goto(`${HTTP}/www/bench/index.html?${q}`);
  await page.waitForFunction(() => window.ready || window.loadError, null, { timeout: 30_000 });
  const err = await page.evaluate(() => window.loadError);
  if (err) throw new Error(err);
  const run = () => page.evaluate((a) => window.bench.throughput(a), { lib, n, size, binary, window: Math.min(1024, Math.max(32, (1 << 20) / size)), timeoutMs: 120_000 });
  await run(); // warm up (JIT, wasm tier-up)
  const cdp = await ctx.newCDPSession(page);
  await cdp.send("Profiler.enable");
  await cdp.send("Profiler.setSamplingInterval", { interval: 100 });
  await cdp.send("Profiler.start");
  const ms = await run();
  const { profile } = await cdp.send("Profiler.stop");
  console.log(`${lib} ${size} B ${binary ? "binary" : "text"}: ${n} echoes in ${ms.toFixed(0)} ms = ${Math.round((n / ms) * 1000)} msg/s`);
  // Self time per node from the sample deltas, summed per function.
  const byId = new Map(profile.nodes.map((nd) => [nd.id, nd]));
  const self = new Map();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] || 0;
    total += dt;
    const cf = byId.get(id).callFrame;
    const file = cf.url ? cf.url.replace(/^.*\//, "") : "";
    const key =
      arg.by === "file"
        ? file || cf.functionName || "(anonymous)"
        : arg.by === "crate"
          ? crateOf(cf.functionName || "(anonymous)", file)
          : `${cf.functionName || "(anonymous)"}  ${file}${cf.url ? `:${cf.lineNumber + 1}` : ""}`;
    self.set(key, (self.get(key) || 0) + dt);
  });
  const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(arg.top || 30));
  console.log(`self time, top ${rows.length} (total sampled ${(total / 1000).toFixed(0)} ms):`);
  for (const [k, us] of rows) console.log(`${(us / 1000).toFixed(1).padStart(8)} ms ${((100 * us) / total).toFixed(1).padStart(5)}% ${(us / n).toFixed(2).padStart(7)} µs/echo  ${k}`);
  if (arg.json) writeFileSync(arg.json, JSON.stringify({ lib, size, binary, n, ms, totalUs: total, selfUs: Object.fromEntries(self) }, null, 1) + "\n");
} finally {
  await ctx.close();
  rmSync(dir, { recursive: true, force: true });
}
