// The chaos soak runner behind `bash scripts/soak.sh [seconds]` (see soak-lib.mjs).
//
//   node tests/js/soak/run.mjs [seconds] [--seed N] [--out DIR]
//
// Runs `seconds` of chaos (default 120), prints the report, writes DIR/soak-latest.json
// and DIR/soak-latest.md (DIR defaults to bench-results), and exits 1 on silent losses,
// wasm memory growth beyond the margin, or any other accounting failure (requeue ≠ what
// never left, duplicates, order, the outbox model; see soak-lib.mjs) (2 if the run
// itself could not be carried out).

import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

import { ROOT } from "../harness.mjs";
import { formatReport, runSoak } from "./soak-lib.mjs";

const args = process.argv.slice(2);
let seconds = 120;
let seed;
let out = join(ROOT, "bench-results");
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--seed") seed = Number(args[++i]);
  else if (a === "--out") out = resolve(args[++i]);
  else if (/^\d+(\.\d+)?$/.test(a)) seconds = Number(a);
  else {
    console.error(`soak: unknown argument ${a}\nusage: node tests/js/soak/run.mjs [seconds] [--seed N] [--out DIR]`);
    process.exit(2);
  }
}
if (!(seconds > 0 && seconds <= 1800)) {
  console.error("soak: seconds must be in (0, 1800]");
  process.exit(2);
}
if (seed !== undefined && !Number.isSafeInteger(seed)) {
  console.error("soak: --seed must be an integer");
  process.exit(2);
}

// On Ctrl-C or `timeout`: exit through process.exit, so that the exit hooks stop the server
// (soak-lib.mjs) and Playwright closes Chromium.
process.once("SIGINT", () => process.exit(130));
process.once("SIGTERM", () => process.exit(143));

const started = Date.now();
const log = (line) => console.log(`[soak ${String(Math.round((Date.now() - started) / 1000)).padStart(4)}s] ${line}`);

let result;
try {
  result = await runSoak({ seconds, seed, log });
} catch (e) {
  console.error(`\nsoak: the run failed: ${e.stack || e}`);
  process.exit(2);
}
const md = formatReport(result);
console.log(`\n${md}\n`);
mkdirSync(out, { recursive: true });
writeFileSync(join(out, "soak-latest.json"), `${JSON.stringify(result, null, 2)}\n`);
writeFileSync(join(out, "soak-latest.md"), `# tether-ws chaos soak\n\n${md}\n`);
console.log(`written: ${join(out, "soak-latest.json")}, ${join(out, "soak-latest.md")}`);
process.exit(result.ok ? 0 : 1);
