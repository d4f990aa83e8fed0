// The chaos soak across nodes: N reference servers sharing their sessions on one Redis
// (nodes.mjs), our own load balancer in front of them (balancer.mjs, random from the seed,
// skipping a node that refuses), and one or more pages, each with a `tether-ws/continuity`
// socket that sends a numbered stream (`c<k>` every `everyMs`) while the servers echo it and
// feed {"n":k} (k: the message's place in the session's whole server → client stream, so that
// the numbering goes on from node to node). For `seconds`, at random from the seed: the node
// a page is connected to is killed with SIGKILL mid-stream (both streams running) and
// started again on its port after a while; connections are cut at random, all of them, or
// all those to one node. Then the chaos stops, everything drains, and both streams are
// accounted for by number (soak.mjs's account()): every client message echoed exactly once
// and in order, every feed message at its place in its session's stream (so no echo or feed
// message lost, doubled or reordered either), and no session lost (every resume after the
// first `resumed: true`) while Redis lives.
//
// Used by tests/js/continuity-nodes.test.mjs (a slice) and scripts/soak.sh --nodes N
// (run-soak-nodes.mjs).

import { crossNodeResumes, rng, startBalancer } from "./balancer.mjs";
import { checkNodePrerequisites, ping, startNodes, startRedis } from "./nodes.mjs";
import { account, pageStart } from "./soak.mjs";
import { evalInPage, sleep, waitFor } from "../harness.mjs";

/** A plain copy of a page's record (no socket, no function). */
const snapshot = (page) => evalInPage(page, () => ({ ...window.soak, ws: undefined, stop: undefined, state: window.soak.ws.state }), undefined, 20_000);

/** In the page: how far its streams are (cheap). */
const progress = (page) =>
  evalInPage(page, () => {
    const s = window.soak;
    return { sent: s.sent, echoed: new Set(s.echoes).size, fed: s.feed.length, state: s.ws.state, queued: s.ws.queuedMessages };
  });

/**
 * Runs the soak with `pages` (each already showing the continuity page: openContinuityPage)
 * for `seconds` of chaos. Options: nodes (3), seed, everyMs (4), feedMs (25), minKills (a
 * run with fewer kills fails; one step in three kills, and some others at random), log.
 * Returns the report (see the end of this function); `report.failures` empty is a pass.
 */
export async function runNodesSoak(pages, { seconds, nodes: count = 3, seed = 1, everyMs = 4, feedMs = 25, minKills = 0, log = () => {} }) {
  checkNodePrerequisites();
  const t0 = Date.now();
  const random = rng(seed);
  const pick = (n) => Math.floor(random() * n);
  const redis = await startRedis();
  let cluster = null;
  let balancer = null;
  const faults = { kills: 0, cutRandom: 0, cutNode: 0, cutAll: 0, connectionsCut: 0 };
  const kills = []; // { node, inFlight: client messages not yet echoed, downMs }
  try {
    cluster = await startNodes({ count, redisUrl: redis.url, prefix: `tether-soak-${seed}:`, feedMs, ttlMs: 120_000 });
    balancer = await startBalancer({ upstreams: cluster.ports, policy: "random", seed, sniff: true });
    log(`redis on ${redis.port} (pid ${redis.pid}); nodes on ${cluster.ports.join(", ")} (pids ${cluster.nodes.map((n) => n.pid).join(", ")}); balancer on ${balancer.port}`);
    // One page after the other, so that the sessions' first welcomes come in page order.
    for (const page of pages) {
      await evalInPage(page, pageStart, { url: balancer.url("/"), everyMs });
      await waitFor(() => evalInPage(page, () => window.soak.resumes.length > 0 && window.soak.ws.state === "open"), 15_000, "the first welcome");
    }
    const sids = balancer.welcomes.filter((w) => w.reason === "new").map((w) => w.sid);

    // Waits until every page is open and both its streams moved since `since` (bounded):
    // a kill then lands mid-stream, both ways.
    const flowing = async (since) => {
      const now = await Promise.all(pages.map(progress));
      if (!since) return now;
      return waitFor(
        async () => {
          const ps = await Promise.all(pages.map(progress));
          return ps.every((p, i) => p.state === "open" && p.echoed > since[i].echoed && p.fed > since[i].fed) && ps;
        },
        15_000,
        "every page open, with echoes and feed arriving",
      );
    };
    let mark = await flowing(null);
    const end = t0 + seconds * 1000;
    let step = 0;
    while (Date.now() < end) {
      await sleep(500 + random() * 1000);
      step += 1;
      const r = random();
      if (step % 3 === 1 || r < 0.15) {
        // Kill the node a page is on, once its streams are moving.
        mark = await flowing(mark);
        const live = balancer.live();
        const node = live.length ? live[pick(live.length)].upstream : pick(count);
        // At a moment with client messages in flight (sent, not echoed yet): a few reads.
        let before;
        let inFlight = 0;
        for (let tries = 0; tries < 20 && inFlight === 0; tries++) {
          before = await Promise.all(pages.map(progress));
          inFlight = before.reduce((a, p) => a + (p.sent - p.echoed), 0);
        }
        const at = Date.now();
        await cluster.kill(node);
        faults.kills += 1;
        const downMs = Math.round(200 + random() * 1300);
        await sleep(downMs);
        await cluster.restart(node);
        // (sent / echoed: each page's counts just before the kill, to place a loss.)
        kills.push({ node, inFlight, downMs, t: at - t0, sent: before.map((p) => p.sent), echoed: before.map((p) => p.echoed) });
        log(`killed node ${node} (SIGKILL) with ${inFlight} client messages in flight; restarted after ${downMs} ms`);
      } else if (r < 0.55) {
        faults.cutRandom += 1;
        faults.connectionsCut += balancer.cutRandom(0.5);
      } else if (r < 0.8) {
        faults.cutNode += 1;
        faults.connectionsCut += balancer.cutUpstream(pick(count));
      } else {
        faults.cutAll += 1;
        faults.connectionsCut += balancer.cutAll();
      }
    }
    // Calm: stop sending, let everything come back.
    for (const page of pages) await evalInPage(page, () => window.soak.stop());
    const drained = await waitFor(
      async () => {
        const ps = await Promise.all(pages.map(progress));
        return ps.every((p) => p.state === "open" && p.queued === 0 && p.echoed >= p.sent) && ps;
      },
      30_000,
      "every echo back after the chaos",
    ).catch((e) => ({ error: e.message }));
    await sleep(500); // the feed goes on a little over calm connections
    const records = await Promise.all(pages.map(snapshot));
    const accounts = records.map((rec) => account(rec));
    const failures = [];
    if (drained.error) failures.push(`drain: ${drained.error}`);
    records.forEach((rec, i) => {
      const a = accounts[i];
      failures.push(...a.failures.map((f) => `page ${i + 1}: ${f}`));
      const [first, ...rest] = rec.resumes;
      if (!first || first.resumed !== false || first.reason !== "new") failures.push(`page ${i + 1}: the first resume event is ${JSON.stringify(first)}`);
      const lost = rest.filter((e) => !e.resumed);
      if (lost.length) failures.push(`page ${i + 1}: ${lost.length} session(s) lost: ${JSON.stringify(lost.slice(0, 5))}`);
      const protocolErrors = rec.errors.filter((m) => /protocol/i.test(m));
      if (protocolErrors.length) failures.push(`page ${i + 1}: ${protocolErrors.length} protocol error(s)`);
    });
    if (faults.kills < minKills) failures.push(`only ${faults.kills} kills (at least ${minKills} wanted)`);
    // Where each client message that never came back was lost: the kill it was in flight at,
    // and whether a server said it had delivered it (a welcome's rx at or above it: then the
    // server took it and its echo was never sent), per page.
    const lostWhere = [];
    records.forEach((rec, i) => {
      const seen = new Set(rec.echoes);
      const sid = sids[i];
      for (let n = 1; n <= rec.sent && lostWhere.length < 20; n++) {
        if (seen.has(n)) continue;
        // (A kill's counts are read just before it: a message sent meanwhile is its too.)
        const kill = kills.findLast((k) => k.echoed[i] < n && n <= k.sent[i] + 25);
        const taken = balancer.welcomes.find((w) => (sid === undefined || w.sid === sid) && w.resumed && w.rx >= n);
        lostWhere.push({ page: i + 1, c: n, inFlightAtKill: kill ? { node: kill.node, t: kill.t, sent: kill.sent[i], echoed: kill.echoed[i] } : null, deliveredPerWelcome: taken ? { upstream: taken.upstream, rx: taken.rx, t: taken.t - t0 } : null });
      }
    });
    for (let i = 0; i < count; i++) {
      const bad = cluster.outputs(i).join("\n").match(/.*panicked.*/);
      if (bad) failures.push(`node ${i} printed: ${bad[0].slice(0, 300)}`);
    }
    if (!(await ping(redis.port))) failures.push("redis-server did not answer PING after the run");
    const sum = (f) => accounts.reduce((a, x) => a + f(x), 0);
    const resumes = records.flatMap((r) => r.resumes);
    const report = {
      seed,
      seconds,
      nodes: count,
      pages: pages.length,
      durationMs: Date.now() - t0,
      faults,
      kills,
      balancer: { ...balancer.stats, welcomes: balancer.welcomesSeen() },
      crossNodeResumes: crossNodeResumes(balancer.welcomes),
      resumes: { total: resumes.length, resumed: resumes.filter((e) => e.resumed).length, lost: records.reduce((a, r) => a + r.resumes.slice(1).filter((e) => !e.resumed).length, 0) },
      totals: {
        sent: sum((a) => a.sent),
        delivered: sum((a) => a.delivered),
        // Server → client: echoes and feed, each once (the feed's places check the rest).
        downDelivered: sum((a) => a.delivered + a.feedDelivered),
        feedDelivered: sum((a) => a.feedDelivered),
        lost: sum((a) => a.lost),
        duplicates: sum((a) => a.duplicates),
        reordered: sum((a) => a.reordered),
        feedOutOfPlace: sum((a) => a.feedOutOfPlace),
      },
      accounts: accounts.map(({ failures: f, ...a }) => ({ ...a, failures: f.length })),
      errors: records.map((r) => r.errors.length),
      lostWhere,
      // The last lines of each node's runs, when something failed.
      nodeOutputs: failures.length ? cluster.ports.map((_, i) => cluster.outputs(i).map((o) => o.slice(-600))) : undefined,
      failures,
    };
    return report;
  } finally {
    for (const page of pages) await evalInPage(page, () => window.soak?.ws?.free(), undefined, 5000).catch(() => {});
    if (balancer) await balancer.close();
    if (cluster) await cluster.stop();
    await redis.stop();
  }
}

/** The report as a Markdown table. */
export function formatNodesReport(r) {
  const t = r.totals;
  const rows = [
    ["seconds of chaos (whole run)", `${r.seconds} (${(r.durationMs / 1000).toFixed(1)} s)`],
    ["seed", r.seed],
    ["nodes / pages", `${r.nodes} / ${r.pages}`],
    ["nodes killed (SIGKILL, mid-stream) and restarted", r.faults.kills],
    ["client messages in flight at the kills (min / max)", r.kills.length ? `${Math.min(...r.kills.map((k) => k.inFlight))} / ${Math.max(...r.kills.map((k) => k.inFlight))}` : "-"],
    ["cuts (random half / one node / all), connections cut", `${r.faults.cutRandom} / ${r.faults.cutNode} / ${r.faults.cutAll}, ${r.faults.connectionsCut}`],
    ["connections through the balancer (per node)", `${r.balancer.perUpstream.reduce((a, b) => a + b, 0)} (${r.balancer.perUpstream.join(" / ")})`],
    ["attempts refused by a dead node, skipped", r.balancer.refusedBy.reduce((a, b) => a + b, 0)],
    ["resumes: resumed / lost sessions", `${r.resumes.resumed} / ${r.resumes.lost}`],
    ["resumes on another node than the session's previous one", r.crossNodeResumes],
    ["client → server: sent / delivered once, in order", `${t.sent} / ${t.delivered}`],
    ["server → client: delivered (echoes + feed), in place", `${t.downDelivered} (${t.feedDelivered} feed)`],
    ["lost / duplicated / reordered (both ways)", `${t.lost} / ${t.duplicates} / ${t.reordered + t.feedOutOfPlace}`],
    ["result", r.failures.length ? `FAILED (${r.failures.length})` : "PASS"],
  ];
  return ["| figure | value |", "|---|---:|", ...rows.map(([k, v]) => `| ${k} | ${v} |`)].join("\n");
}
