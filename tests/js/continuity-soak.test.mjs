// A slice of the continuity chaos soak (bash scripts/soak.sh runs 2 minutes of it): ~15 s of
// cuts, stalls, refusals and frames lost in flight between a page and the reference server,
// then a server restart without its state. Both numbered streams are accounted for by
// number (tests/js/continuity/soak.mjs): 0 lost, 0 duplicated, 0 reordered, both ways; the
// lost session reported (each feed message {"n":k} must be the k-th message of its session's
// server → client stream, echoes included). Needs target/debug/tether-server and
// pkg/continuity.js.

import assert from "node:assert/strict";
import { test } from "node:test";

import { browserTest, useBrowser } from "./harness.mjs";
import { account, openContinuityPage, runContinuitySoak } from "./continuity/soak.mjs";

useBrowser();

test("continuity soak accounting: each rule has a case that breaks it", () => {
  // The page's record of a session: c1 (message 1), {"n":2}, c2 (3), {"n":4}; then a new
  // session: {"n":1}, c3, c4, {"n":4}.
  const feed = [[2, 2], [4, 4], "session", [1, 1], [4, 4]];
  const ok = account({ sent: 4, echoes: [1, 2, 3, 4], feed });
  assert.deepEqual(ok.failures, []);
  assert.equal(ok.feedDelivered, 4);
  assert.equal(account({ sent: 4, echoes: [1, 2, 2, 3, 4], feed: [] }).duplicates, 1);
  assert.equal(account({ sent: 4, echoes: [1, 3, 2, 4], feed: [] }).reordered, 1);
  assert.equal(account({ sent: 4, echoes: [1, 2, 4], feed: [] }).lost, 1);
  // A message of the server's stream lost before a feed message: {"n":3} as the 2nd message
  // (an echo or a feed message, whichever went missing); one that came twice: as the 4th.
  assert.equal(account({ sent: 1, echoes: [1], feed: [[1, 1], [3, 2]] }).feedOutOfPlace, 1);
  assert.equal(account({ sent: 1, echoes: [1], feed: [[2, 2], [3, 4]] }).feedOutOfPlace, 1);
  assert.equal(account({ sent: 1, echoes: [1], feed: [[1, 1], [1, 2]] }).feedOutOfPlace, 1);
  // A new session's stream begins at 1.
  assert.equal(account({ sent: 1, echoes: [1], feed: [[1, 1], "session", [3, 1]] }).feedOutOfPlace, 1);
  // In doubt after a lost session: may come back twice, and first in the new session.
  assert.deepEqual(account({ sent: 3, echoes: [1, 2, 3, 2, 3], feed: [], inDoubt: new Set([2, 3]) }).failures, []);
});

browserTest("continuity chaos soak (15 s): nothing lost, doubled or reordered, either way", { timeout: 120_000 }, async (page) => {
  await openContinuityPage(page);
  const seed = Number(process.env.SOAK_SEED) || Date.now() % 1_000_000;
  const r = await runContinuitySoak(page, { seconds: 15, seed, log: console.log });
  console.log(`continuity soak report: ${JSON.stringify(r)}`);
  const faults = r.faults.cuts + r.faults.stalls + r.faults.refusals + r.faults.discards;
  assert.ok(faults >= 10, `faults injected: ${JSON.stringify(r.faults)}`);
  assert.ok(r.chaos.sent > 1000, `messages sent: ${r.chaos.sent}`);
  assert.deepEqual(r.chaos.failures, [], `seed ${seed}`);
  assert.equal(r.chaos.lost + r.chaos.duplicates + r.chaos.reordered + r.chaos.feedOutOfPlace, 0);
  assert.ok(r.resumes.filter((e) => e.resumed).length >= 5, `resumes: ${JSON.stringify(r.resumes.slice(0, 20))}`);
  assert.deepEqual(r.resumes.filter((e) => !e.resumed).map((e) => e.reason), ["new"], "no session lost during the chaos");
  // The restart without state: reported, with what was in doubt sent again.
  assert.equal(r.restart.resume.resumed, false);
  assert.equal(r.restart.resume.reason, "unknown");
  assert.deepEqual(r.restart.failures, [], "after the restart");
  assert.equal(r.restart.lost, 0);
});
