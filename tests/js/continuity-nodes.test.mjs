// A slice of the chaos soak across nodes (bash scripts/soak.sh --nodes 3 runs it longer):
// three reference servers sharing their sessions on one Redis of our own (a free port, no
// persistence), our load balancer in front (tests/js/continuity/balancer.mjs: random from a
// seed, skipping a node that refuses), one page with a `tether-ws/continuity` socket sending a
// numbered stream while the servers echo it and feed {"n":k}. For 20 s the node the page is
// on is killed with SIGKILL mid-stream (both streams running) and restarted, and connections
// are cut at random; then both streams are accounted for by number
// (tests/js/continuity/nodes-soak.mjs): 0 lost, 0 duplicated, 0 reordered, both ways, and
// every resume `resumed: true`. Needs /usr/bin/redis-server (scripts/setup.sh),
// target/debug/tether-server with --store, and pkg/continuity.js.

import assert from "node:assert/strict";
import net from "node:net";
import { after, test } from "node:test";

import { browserTest, useBrowser } from "./harness.mjs";
import { crossNodeResumes, startBalancer } from "./continuity/balancer.mjs";
import { killAllNodes } from "./continuity/nodes.mjs";
import { formatNodesReport, runNodesSoak } from "./continuity/nodes-soak.mjs";
import { openContinuityPage } from "./continuity/soak.mjs";

useBrowser();
after(killAllNodes); // (the run stops what it started; this only catches one that threw early)

/** A TCP server on a free port that answers each connection with `tag` and closes. */
async function tagServer(tag) {
  const s = net.createServer((c) => c.end(tag));
  await new Promise((r) => s.listen(0, "127.0.0.1", r));
  return s;
}

/** Connects to `port` and resolves with what it said before closing ("" if reset). */
const hear = (port) =>
  new Promise((resolve) => {
    const c = net.connect({ host: "127.0.0.1", port });
    let got = "";
    c.on("data", (d) => (got += d));
    c.on("close", () => resolve(got));
    c.on("error", () => {});
  });

test("the balancer spreads over its upstreams, skips one that refuses, and reports where sessions moved", async () => {
  const servers = await Promise.all(["a", "b", "c"].map(tagServer));
  const ports = servers.map((s) => s.address().port);
  const rr = await startBalancer({ upstreams: ports, policy: "round-robin" });
  try {
    const heard = [];
    for (let i = 0; i < 6; i++) heard.push(await hear(rr.port));
    assert.deepEqual(heard, ["a", "b", "c", "a", "b", "c"]);
    // b stops listening: its turn goes to c.
    await new Promise((r) => servers[1].close(r));
    const after = [];
    for (let i = 0; i < 3; i++) after.push(await hear(rr.port));
    assert.deepEqual(after, ["a", "c", "c"]);
    assert.ok(rr.stats.refusedBy[1] >= 1, JSON.stringify(rr.stats));
  } finally {
    await rr.close();
  }
  const random = await startBalancer({ upstreams: [ports[0], ports[2]], policy: "random", seed: 7 });
  try {
    const heard = [];
    for (let i = 0; i < 20; i++) heard.push(await hear(random.port));
    assert.ok(heard.includes("a") && heard.includes("c"), `random spreads: ${heard.join("")}`);
    assert.deepEqual(random.stats.perUpstream.reduce((a, b) => a + b), 20);
  } finally {
    await random.close();
    for (const s of [servers[0], servers[2]]) await new Promise((r) => s.close(r));
  }
  // Every upstream refusing: the client's connection is reset, and counted.
  const none = await startBalancer({ upstreams: ports });
  try {
    assert.equal(await hear(none.port), "");
    assert.equal(none.stats.noUpstream, 1);
  } finally {
    await none.close();
  }
  assert.equal(
    crossNodeResumes([
      { sid: "s", upstream: 0, resumed: false },
      { sid: "s", upstream: 0, resumed: true },
      { sid: "s", upstream: 2, resumed: true },
      { sid: "t", upstream: 1, resumed: false },
      { sid: "s", upstream: 1, resumed: true },
    ]),
    2,
  );
});

browserTest(
  "across 3 nodes on one Redis: nodes SIGKILLed mid-stream and connections cut, nothing lost, doubled or reordered, either way, no session lost",
  { timeout: 150_000 },
  async (page) => {
    await openContinuityPage(page);
    const seed = Number(process.env.SOAK_SEED) || Date.now() % 1_000_000;
    const r = await runNodesSoak([page], { seconds: 20, nodes: 3, seed, minKills: 2, log: console.log });
    console.log(`continuity across nodes, seed ${seed}:\n${formatNodesReport(r)}`);
    const { failures, ...rest } = r;
    assert.deepEqual(failures, [], `seed ${seed}: ${JSON.stringify({ ...rest, accounts: undefined })}`);
    assert.ok(r.faults.kills >= 2, `kills: ${r.faults.kills}`);
    assert.ok(r.kills.filter((k) => k.inFlight > 0).length >= 2, `messages in flight at two kills at least: ${JSON.stringify(r.kills)}`);
    assert.ok(r.totals.sent > 1000, `messages sent: ${r.totals.sent}`);
    assert.equal(r.totals.delivered, r.totals.sent);
    assert.ok(r.totals.feedDelivered > 200, `feed messages: ${r.totals.feedDelivered}`);
    assert.equal(r.totals.lost + r.totals.duplicates + r.totals.reordered + r.totals.feedOutOfPlace, 0);
    assert.equal(r.resumes.lost, 0, "no session lost while Redis lives");
    assert.ok(r.resumes.resumed >= r.faults.kills, `resumes: ${JSON.stringify(r.resumes)}`);
    assert.ok(r.crossNodeResumes >= 2, `resumes on another node: ${r.crossNodeResumes}`);
  },
);
