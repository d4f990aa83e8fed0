// The chaos soak across nodes behind `bash scripts/soak.sh --nodes N [seconds]` (see
// nodes-soak.mjs).
//
//   node tests/js/continuity/run-soak-nodes.mjs [seconds] [--nodes N] [--pages P] [--seed S] [--out DIR]
//
// Starts a test server of its own on free ports (to serve the page), Chromium with P pages
// (default 2), a redis-server on a free port, N tether-server nodes on it (default 3,
// `--store redis://127.0.0.1:PORT/0 --feed-ms 25`) and the balancer; runs `seconds` of chaos
// (default 120: nodes SIGKILLed mid-stream and restarted on their port, connections cut at
// random), drains, accounts, prints the report and writes DIR/soak-nodes-latest.{json,md}
// (DIR: bench-results). Exit status 0 if nothing was lost, doubled or reordered either way
// and no session was lost, 1 if not, 2 if the run could not be carried out. Everything it
// started is stopped by pid on every exit (and listed in $TETHER_PIDFILE, if set, for the
// script that runs it).

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";

import { CHROMIUM, CHROMIUM_FLAGS, ROOT } from "../harness.mjs";
import { startServer } from "../soak/soak-lib.mjs";
import { killAllNodes, notePid } from "./nodes.mjs";
import { formatNodesReport, runNodesSoak } from "./nodes-soak.mjs";
import { openContinuityPage } from "./soak.mjs";

const args = process.argv.slice(2);
let seconds = 120;
let nodes = 3;
let pages = 2;
let seed = Date.now() % 1_000_000;
let out = join(ROOT, "bench-results");
const int = (v, lo, hi, name) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < lo || n > hi) {
    console.error(`soak across nodes: ${name} must be a whole number from ${lo} to ${hi} (got ${v})`);
    process.exit(2);
  }
  return n;
};
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--seed") seed = int(args[++i], 0, 2 ** 31, "--seed");
  else if (a === "--nodes") nodes = int(args[++i], 2, 9, "--nodes");
  else if (a === "--pages") pages = int(args[++i], 1, 8, "--pages");
  else if (a === "--out") out = resolve(args[++i]);
  else if (/^\d+$/.test(a)) seconds = int(a, 1, 1800, "seconds");
  else {
    console.error(`soak across nodes: unknown argument ${a}`);
    process.exit(2);
  }
}
process.once("SIGINT", () => process.exit(130));
process.once("SIGTERM", () => process.exit(143));
process.on("exit", killAllNodes);

const started = Date.now();
const log = (line) => console.log(`[soak across nodes ${String(Math.round((Date.now() - started) / 1000)).padStart(4)}s] ${line}`);
let report;
const web = await startServer({ lifetimeSecs: seconds + 300 });
notePid(web.pid, "tether-test-server");
const userDataDir = mkdtempSync(join(tmpdir(), "tether-nodes-soak-"));
process.on("exit", () => rmSync(userDataDir, { recursive: true, force: true }));
let context;
try {
  context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
  const fatal = [];
  const opened = [];
  for (let i = 0; i < pages; i++) {
    const page = i === 0 && context.pages().length ? context.pages()[0] : await context.newPage();
    page.on("pageerror", (e) => fatal.push(`page ${i + 1}: ${e.stack || e}`));
    page.on("crash", () => fatal.push(`page ${i + 1} crashed`));
    await openContinuityPage(page, web.http);
    opened.push(page);
  }
  log(`${nodes} nodes, ${pages} page(s), ${seconds} s of chaos, seed ${seed}`);
  report = await runNodesSoak(opened, { seconds, nodes, seed, minKills: 1, log });
  report.fatal = fatal;
  report.failures.push(...fatal);
} catch (e) {
  console.error(`soak across nodes: the run failed: ${e.stack || e}`);
  process.exit(2);
} finally {
  await context?.close().catch(() => {});
  rmSync(userDataDir, { recursive: true, force: true });
  await web.stop();
}
const md = formatNodesReport(report);
console.log(`\n${md}\n`);
mkdirSync(out, { recursive: true });
writeFileSync(join(out, "soak-nodes-latest.json"), `${JSON.stringify(report, null, 2)}\n`);
writeFileSync(
  join(out, "soak-nodes-latest.md"),
  `# tether-ws continuity chaos soak across ${report.nodes} nodes on one Redis\n\n` +
    `\`bash scripts/soak.sh --nodes ${report.nodes} ${seconds}\` (seed ${seed}, ${new Date().toISOString().slice(0, 10)})\n\n${md}\n` +
    (report.failures.length ? `\nFailures:\n\n${report.failures.map((f) => `- ${f}`).join("\n")}\n` : ""),
);
console.log(report.failures.length ? `FAILED:\n  ${report.failures.join("\n  ")}` : "PASS");
process.exit(report.failures.length ? 1 : 0);
