// tether-ws/react from the packed tarball (issue 12, item 5): useTetherSocket under React 19
// StrictMode in jsdom with @testing-library/react, Fast Refresh, <Activity>, and a server
// render, against the test server.
//
//   node --test tests/pkg/react.test.mjs        (with the test server up on 127.0.0.1)
//
// The fixture (tests/pkg/react, committed lock) runs its own node:test files, each in its own
// process: test/hook.test.mjs and test/refresh.test.mjs on a jsdom window set up the way
// global-jsdom does it (jsdom's WebSocket as the global one, no option needed), and
// test/ssr.test.cjs, the CommonJS entry in plain Node with no WebSocket at all.

import { before, test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { HTTP, PKG_TESTS, WS, installFixture, run } from "./lib.mjs";

const DIR = join(PKG_TESTS, "react");

before(async () => {
  const health = await fetch(`${HTTP}/health`).catch(() => null);
  if (!health?.ok) throw new Error(`the test server does not answer at ${HTTP}/health (start tests/server first)`);
  const started = Date.now();
  await installFixture(DIR);
  console.log(`# react fixture installed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

test("react: useTetherSocket (StrictMode, handlers, url, enabled, Activity, Fast Refresh, SSR)", async () => {
  const files = readdirSync(join(DIR, "test")).filter((f) => /\.test\.c?js$|\.test\.mjs$/.test(f)).map((f) => join("test", f));
  assert.ok(files.length >= 3, `test files: ${files}`);
  // Under `node --test` this process is a test-runner child; the fixture's runner must not
  // think it is one too (it would report to us instead of running its files).
  delete process.env.NODE_TEST_CONTEXT;
  const started = Date.now();
  const r = await run(
    process.execPath,
    ["--test", "--test-concurrency=2", "--test-timeout=30000", "--test-force-exit", "--test-reporter=spec", ...files],
    { cwd: DIR, env: { TETHER_HTTP: HTTP, TETHER_WS: WS, NODE_ENV: "development" }, timeoutMs: 120000 },
  );
  console.log(`# react fixture tests ran in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  assert.equal(r.code, 0, `exit ${r.code}\n--- stdout\n${r.stdout.slice(-6000)}\n--- stderr\n${r.stderr.slice(-3000)}`);
});
