// A short slice of the chaos soak (bash scripts/soak.sh runs 2 minutes): ~18 s of faults
// injected by the test server's chaos mode (drops, random close codes, delays, refusals,
// restarts) while a page sends a numbered stream through a TetherSocket, then the
// deterministic phases (a forced requeue, writes while the socket is closing, reconnect() /
// a too-big message / free() with a burst still buffered). Every message is accounted for
// from the page's log of native writes and the server's arrivals (tests/js/soak/
// accounting.mjs), not from what the library says. Starts its own test server on free
// ports (chaos affects the whole WebSocket port), so it needs target/debug/tether-test-server
// (built by scripts/test.sh) and pkg/.
//
// TETHER_SOAK_PKG=/path/under/the/repo/index.js runs it against another build of the package
// (how the planted bugs of README's "Chaos soak" section were shown to turn it red).

import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { ROOT } from "./harness.mjs";
import { accountStream, unsentWrites } from "./soak/accounting.mjs";
import { formatReport, MAX_MEMORY_GROWTH, runSoak } from "./soak/soak-lib.mjs";

// The accounting on its own, on hand-made logs: each rule has a case that breaks it.
test("soak accounting: what never left, requeues, losses, order and duplicates", () => {
  // Writes [id, bytes, readyState]: 10, 20, a 4-byte heartbeat, 30, 40 bytes. 45 unsent:
  // 40 whole and 30 partly, writes 3 and 4; 71 reaches into the heartbeat (bytes, not a
  // message) and 75 into message 1.
  const w = [0, 10, 1, 1, 20, 1, -1, 4, 1, 2, 30, 1, 3, 40, 1];
  assert.deepEqual(unsentWrites(w, 45), [3, 4]);
  assert.deepEqual(unsentWrites(w, 40), [4]);
  assert.deepEqual(unsentWrites(w, 41), [3, 4]);
  assert.deepEqual(unsentWrites(w, 71), [2, 3, 4]);
  assert.deepEqual(unsentWrites(w, 75), [1, 2, 3, 4]);
  assert.deepEqual(unsentWrites(w, 0), []);
  const base = () => ({
    name: "t",
    count: 6,
    sockets: [
      // Socket 0 was cut with 70 bytes unsent (ids 2 and 3), after 0 and 1 arrived.
      { writes: w.slice(), bufferedAtClose: 70, end: "cut", letGo: null },
      // Socket 1 took the requeued 2, 3 and then 4, 5.
      { writes: [2, 30, 1, 3, 40, 1, 4, 10, 1, 5, 10, 1], bufferedAtClose: null, end: "open", letGo: null },
    ],
    requeues: [{ sock: 0, count: 2, bytes: 70, seqs: [2, 3] }],
    dropped: [],
    arrivals: [[0, 1, 0], [1, 2, 0], [2, 3, 1], [3, 4, 1], [4, 5, 1], [5, 6, 1]],
  });
  const ok = accountStream(base());
  assert.deepEqual(ok.failures, []);
  assert.equal(ok.delivered, 6);
  assert.equal(ok.neverLeft, 2);
  assert.equal(ok.resent, 2);

  // No requeue, too few, too many: the requeue differs from what never left.
  for (const requeues of [[], [{ sock: 0, count: 1, bytes: 40, seqs: [3] }], [{ sock: 0, count: 3, bytes: 90, seqs: [1, 2, 3] }]]) {
    const l = base();
    l.requeues = requeues;
    assert.equal(accountStream(l).requeueMismatches.length, 1, JSON.stringify(requeues));
  }
  // A socket the library let go, or gave up on, must requeue nothing.
  {
    const l = base();
    l.sockets[0].letGo = "reconnect";
    assert.equal(accountStream(l).requeueMismatches.length, 1);
  }
  {
    // Given up on (a timeout) with 2 and 3 still buffered: not requeued, not delivered, and
    // lost with the socket (at-most-once), not a silent loss.
    const l = base();
    l.sockets[0].abandoned = true;
    l.requeues = [];
    l.sockets[1].writes = [4, 10, 1, 5, 10, 1];
    l.arrivals = l.arrivals.filter(([id]) => id !== 2 && id !== 3);
    const r = accountStream(l);
    assert.deepEqual(r.failures, []);
    assert.equal(r.lostWithAbandoned, 2);
    assert.equal(r.silentLosses, 0);
    l.requeues = [{ sock: 0, count: 2, bytes: 70, seqs: [2, 3] }];
    assert.equal(accountStream(l).requeueMismatches.length, 1, "a requeue for a socket given up on");
  }
  // Lost in flight only if it had left and the socket was cut; else silent.
  {
    const l = base();
    l.arrivals = l.arrivals.filter(([id]) => id !== 1);
    const r = accountStream(l);
    assert.equal(r.lostInFlight, 1);
    assert.equal(r.silentLosses, 0);
    l.sockets[0].end = "clean";
    assert.equal(accountStream(l).silentLosses, 1);
    l.sockets[0].end = "peer-closed";
    assert.equal(accountStream(l).lostAtPeerClose, 1);
  }
  // A requeued message never sent again, a queued one never written: silent.
  {
    const l = base();
    l.sockets[1].writes = l.sockets[1].writes.slice(3);
    l.arrivals = l.arrivals.filter(([id]) => id !== 2);
    assert.deepEqual(accountStream(l).silentKinds, { "requeued, never written again": 1 });
    l.requeues = [];
    assert.deepEqual(accountStream(l).silentKinds, { "never left, not requeued": 1 });
  }
  // A hole in a connection, a reordering, a duplicate, a global reordering.
  {
    const l = base();
    l.arrivals = l.arrivals.filter(([id]) => id !== 0);
    const r = accountStream(l);
    assert.equal(r.perConnectionViolations, 1);
    assert.equal(r.silentLosses, 1);
  }
  {
    const l = base();
    [l.arrivals[4], l.arrivals[5]] = [l.arrivals[5], l.arrivals[4]];
    const r = accountStream(l);
    assert.equal(r.perConnectionViolations, 1);
    assert.equal(r.globalOrderViolations, 1);
  }
  {
    const l = base();
    l.arrivals.push([5, 7, 1]);
    assert.equal(accountStream(l).duplicates, 1);
  }
  {
    // 4 and 5 written (and arriving) on socket 1 before 1 arrives on socket 0.
    const l = base();
    l.sockets[0].writes = [0, 10, 1, 1, 20, 1];
    l.sockets[0].bufferedAtClose = 0;
    l.sockets[0].end = "clean";
    l.sockets[1].writes = [2, 30, 1, 3, 40, 1, 4, 10, 1, 5, 10, 1];
    l.requeues = [];
    l.arrivals = [[0, 1, 0], [2, 2, 1], [3, 3, 1], [1, 4, 0], [4, 5, 1], [5, 6, 1]];
    const r = accountStream(l);
    assert.equal(r.perConnectionViolations, 0);
    assert.equal(r.globalOrderViolations, 1);
  }
  // A message that never left cannot arrive; a write to a closing socket can only be unsent.
  {
    const l = base();
    l.arrivals.splice(2, 0, [3, 2.5, 0]);
    assert.equal(accountStream(l).arrivedUnsent.length, 1);
    const m = base();
    m.sockets[0].writes[2] = 2; // id 0 written while CLOSING, yet counted as having left
    assert.equal(accountStream(m).nonOpenWritesLeft.length, 1);
  }
});

test("chaos soak slice: every message accounted for from the native writes, a forced requeue, no duplicate, order kept", { timeout: 300_000 }, async () => {
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
    pkg: process.env.TETHER_SOAK_PKG || undefined,
    command: "node --test tests/js/soak.test.mjs",
    log: (line) => console.log(`[soak] ${line}`),
  });
  console.log(formatReport(r));
  // The whole result, for a look at a failure (bench-results/tmp is not committed).
  const out = join(ROOT, "bench-results", "tmp");
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, "soak-slice.json"), `${JSON.stringify(r, null, 2)}\n`);
  assert.equal(r.silentLosses, 0, `silent losses: ${JSON.stringify(r.silentKinds)} ${JSON.stringify(r.silentExamples)}`);
  assert.deepEqual(r.requeueMismatches, [], "the library's requeue differs from the messages that never left their socket");
  assert.equal(r.duplicates, 0, "duplicates at the server");
  assert.equal(r.perConnectionOrderViolations, 0, `arrival order differs from write order: ${JSON.stringify(r.perConnectionOrderExamples)}`);
  assert.equal(r.globalOrderViolations, 0, `first arrivals out of send order: ${JSON.stringify(r.globalOrderExamples)}`);
  assert.deepEqual(r.arrivedUnsent, [], "messages arrived that never left their socket (the byte rule is wrong)");
  assert.deepEqual(r.nonOpenWritesLeft, [], "writes to a non-open socket outside its unsent bytes");
  assert.deepEqual(r.modelMismatches, [], "the outbox did not behave as a FIFO with requeued messages first");
  assert.equal(r.queuedAtEnd, 0, "messages left in the queue after the final flush");
  assert.equal(r.droppedButDelivered, 0, "messages reported dropped yet delivered");
  assert.equal(r.unpairedArrivals, 0, "arrivals on a server connection paired with no page socket");
  // The forced fault: the socket died with bytes in bufferedAmount, and they were requeued.
  const forced = r.phases.forcedRequeue;
  assert.ok(forced.bufferedAtClose > 0, `the forced fault found nothing buffered: ${JSON.stringify(forced)}`);
  assert.ok(forced.requeued > 0 && r.resent >= forced.requeued, `the forced fault requeued nothing: ${JSON.stringify(forced)}`);
  assert.ok(r.neverLeft >= forced.requeued, "the accounting saw fewer unsent messages than the forced requeue");
  // (Under drop-oldest with an outbox of 1,000, the 20 may push out the oldest requeued ones.)
  assert.ok(forced.queuedAtClose > 20, `nothing was queued behind the requeued messages: ${JSON.stringify(forced)}`);
  // A closing-handshake timeout, and a heartbeat timeout on a connection that was only
  // stalled: the library gives up on the socket and requeues nothing (the browser may still
  // send that buffer; on the stalled connection it does, so a requeue would duplicate). The
  // messages queued after close() go out after reconnect(), in order (the outbox model).
  const ct = r.phases.closingTimeout;
  assert.ok(ct.closedByLibrary && ct.queuedAfterClose > 0, `the closing-timeout phase did not run: ${JSON.stringify(ct)}`);
  assert.equal(ct.requeued, 0, `the closing timeout requeued: ${JSON.stringify(ct)}`);
  const hb = r.phases.heartbeatAbandon;
  assert.ok(hb.abandoned, `the heartbeat timeout did not happen: ${JSON.stringify(hb)}`);
  assert.equal(hb.requeued, 0, `the heartbeat timeout requeued: ${JSON.stringify(hb)}`);
  // The library let these go while healthy with a burst buffered: nothing requeued, and
  // (silent losses 0) everything arrived.
  for (const name of ["reconnect", "too-big", "free"]) {
    const p = r.phases[name];
    assert.ok(p.closed && p.reopened, `${name}: ${JSON.stringify(p)}`);
    assert.equal(p.requeueEvents, 0, `${name} requeued: ${JSON.stringify(p)}`);
  }
  assert.ok(r.phases.reconnect.bufferedAtLetGo > 0, "reconnect() found nothing buffered: the phase proved nothing");
  // The server closed and kept the connection in CLOSING while the page sent.
  assert.ok(r.phases.closingWrites.sentWhileClosing > 0, `no send while the socket was closing: ${JSON.stringify(r.phases.closingWrites)}`);
  assert.ok(r.reconnects >= 3, `only ${r.reconnects} reconnects in the slice`);
  assert.ok(r.faultTotal >= 5, `only ${r.faultTotal} faults injected`);
  assert.ok(r.delivered > 0, "nothing delivered");
  assert.ok(r.wasmMemory.growth <= MAX_MEMORY_GROWTH, `wasm memory grew by ${r.wasmMemory.growth} bytes`);
  assert.ok(r.ok, r.failures.join("; "));
});
