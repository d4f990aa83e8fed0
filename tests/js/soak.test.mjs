// A short slice of the chaos soak (bash scripts/soak.sh runs 2 minutes): ~18 s of faults
// injected by the test server's chaos mode (drops, random close codes, delays, refusals,
// restarts) while a page sends a numbered stream through a TetherSocket; afterwards every
// message must be accounted for (see tests/js/soak/soak-lib.mjs). Starts its own test
// server on free ports (chaos affects the whole WebSocket port), so it needs
// target/debug/tether-test-server (built by scripts/test.sh) and pkg/.

import assert from "node:assert/strict";
import { test } from "node:test";

import { formatReport, MAX_MEMORY_GROWTH, runSoak } from "./soak/soak-lib.mjs";

test("chaos soak slice: no silent loss, many reconnects, queue empty, wasm memory flat", { timeout: 240_000 }, async () => {
  const r = await runSoak({
    seconds: 18,
    seed: 20261201,
    rate: 60,
    burstSize: 150,
    burstEveryMs: 4000,
    // The third burst (around 12 s) is a big one (1,500 × 4 KiB), which backs up into the
    // browser's send buffer: a fault then may requeue messages (the `requeue` event).
    bigBurstEvery: 3,
    // Faults closer together than in the full soak, so that a short run sees plenty.
    minGap: 200,
    maxGap: 1200,
    progressEveryMs: 6000,
    command: "node --test tests/js/soak.test.mjs",
    log: (line) => console.log(`[soak] ${line}`),
  });
  console.log(formatReport(r));
  assert.equal(r.silentLosses, 0, `silent losses: ${JSON.stringify(r.silentExamples)}`);
  assert.deepEqual(r.modelMismatches, [], "the page's model of the outbox disagreed with the library");
  assert.equal(r.queuedAtEnd, 0, "messages left in the queue after the final flush");
  assert.equal(r.unexplainedDuplicates, 0, "duplicates of messages that were never requeued");
  assert.equal(r.droppedButDelivered, 0, "messages reported dropped yet delivered");
  assert.ok(r.reconnects >= 3, `only ${r.reconnects} reconnects in the slice`);
  assert.ok(r.faultTotal >= 5, `only ${r.faultTotal} faults injected`);
  assert.ok(r.delivered > 0, "nothing delivered");
  assert.ok(r.wasmMemory.growth <= MAX_MEMORY_GROWTH, `wasm memory grew by ${r.wasmMemory.growth} bytes`);
  assert.ok(r.ok, r.failures.join("; "));
});
