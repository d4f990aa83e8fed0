// The continuity chaos soak behind `bash scripts/soak.sh [seconds]` (see soak.mjs).
//
//   node tests/js/continuity/run-soak.mjs [seconds] [--seed N] [--out DIR]
//
// Starts a test server of its own on free ports (to serve the page), Chromium, the reference
// server and the chaos proxy; runs `seconds` of chaos (default 120), prints the report and
// writes DIR/soak-continuity-latest.json (DIR: bench-results). Exit status 0 if nothing was
// lost, doubled or reordered either way and the restart without state was reported, 1 if
// not, 2 if the run could not be carried out.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";

import { CHROMIUM, CHROMIUM_FLAGS, ROOT } from "../harness.mjs";
import { startServer } from "../soak/soak-lib.mjs";
import { killAllStarted } from "./server.mjs";
import { openContinuityPage, runContinuitySoak } from "./soak.mjs";

const args = process.argv.slice(2);
let seconds = 120;
let seed = Date.now() % 1_000_000;
let out = join(ROOT, "bench-results");
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--seed") seed = Number(args[++i]);
  else if (a === "--out") out = resolve(args[++i]);
  else if (/^\d+$/.test(a)) seconds = Number(a);
  else {
    console.error(`continuity soak: unknown argument ${a}`);
    process.exit(2);
  }
}
process.once("SIGINT", () => process.exit(130));
process.once("SIGTERM", () => process.exit(143));
process.on("exit", killAllStarted);

const started = Date.now();
const log = (line) => console.log(`[continuity soak ${String(Math.round((Date.now() - started) / 1000)).padStart(4)}s] ${line}`);
let report;
const web = await startServer({ lifetimeSecs: seconds + 300 });
const userDataDir = mkdtempSync(join(tmpdir(), "tether-continuity-soak-"));
let context;
try {
  context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
  const page = await context.newPage();
  const fatal = [];
  page.on("pageerror", (e) => fatal.push(String(e.stack || e)));
  page.on("crash", () => fatal.push("the page crashed"));
  await openContinuityPage(page, web.http);
  report = await runContinuitySoak(page, { seconds, seed, log });
  report.fatal = fatal;
} catch (e) {
  console.error(`continuity soak: the run failed: ${e.stack || e}`);
  process.exit(2);
} finally {
  await context?.close().catch(() => {});
  rmSync(userDataDir, { recursive: true, force: true });
  await web.stop();
}
const c = report.chaos;
const table = [
  "| figure | value |",
  "|---|---:|",
  ["seconds of chaos", seconds],
  ["seed", seed],
  ["faults (cuts / stalls / refusals / frames lost in flight)", `${report.faults.cuts} / ${report.faults.stalls} / ${report.faults.refusals} / ${report.faults.discards}`],
  ["sessions resumed", report.resumes.filter((r) => r.resumed).length],
  ["client → server: sent", c.sent],
  ["client → server: delivered once, in order", c.delivered],
  ["server → client: delivered (echoes + feed), each feed message at its place", c.delivered + c.feedDelivered],
  ["lost / duplicated / reordered (both ways; a feed message out of place counts as reordered)", `${c.lost} / ${c.duplicates} / ${c.reordered + c.feedOutOfPlace}`],
  ["restart without state: reported", `${report.restart.resume.reason}, ${report.restart.resume.resent} resent`],
].map((r) => (Array.isArray(r) ? `| ${r[0]} | ${r[1]} |` : r));
const md = table.join("\n");
console.log(`\n${md}\n`);
mkdirSync(out, { recursive: true });
writeFileSync(join(out, "soak-continuity-latest.json"), `${JSON.stringify(report, null, 2)}\n`);
writeFileSync(join(out, "soak-continuity-latest.md"), `# tether-ws continuity chaos soak\n\n${md}\n`);
const failures = [...c.failures, ...report.restart.failures, ...report.fatal];
if (report.restart.resume.resumed !== false) failures.push("the restart without state was not reported");
console.log(failures.length ? `FAILED:\n  ${failures.join("\n  ")}` : "PASS");
process.exit(failures.length ? 1 : 0);
