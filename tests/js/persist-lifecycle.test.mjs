// The page lifecycle with continuity (README "Across page reloads", PROTOCOL.md "Keeping a
// session across page loads"), in real Chromium against the reference server: a page shown
// again from the back/forward cache resumes at once, and a tab frozen by the browser (CDP
// Page.setWebLifecycleState, what Chromium does to background tabs) resumes without
// duplicate delivery.
//
// Chromium keeps no page of the test server's in the cache (it sends `Cache-Control:
// no-store`, and a page served so that used a WebSocket is not kept: "WebSocketUsedWithCCNS"
// through CDP), so here the test gives the socket the event the browser gives a page
// restored from the cache, a `pageshow` with `persisted: true`, after its connection died,
// with the next retry 30 s away: only the lifecycle can bring it back in time. A real
// restore from the cache, of the demo page served by the relay, is in demo.test.mjs.
//
// Needs: pkg/ built, `cargo build -p tether-server`, the test server (tests/js/harness.mjs).
import assert from "node:assert/strict";
import { after } from "node:test";

import { browserTest, evalInPage, sleep, useBrowser, waitFor } from "./harness.mjs";
import { startProxy } from "./continuity/proxy.mjs";
import { killAllStarted, startServer } from "./continuity/server.mjs";
import { openContinuityPage } from "./continuity/soak.mjs";

useBrowser();
after(killAllStarted);

/** In the page: a persisted continuity socket recording the feed, echoes and resumes. A
 * retry waits 30 s, so only the lifecycle can bring a lost connection back quickly. */
function start(url) {
  // `got`: messages received (one session); each feed message is kept as [n, its place].
  const s = (window.L = { got: 0, feed: [], echoes: [], resumes: [], closes: [] });
  const ws = new window.TetherSocket(url, [], {
    continuity: { mode: "required", persist: "session", persistKey: "lifecycle" },
    minReconnectionDelay: 30_000,
    maxReconnectionDelay: 30_000,
    heartbeat: { intervalMs: 300, timeoutMs: 600 },
  });
  s.ws = ws;
  ws.addEventListener("resume", (e) => s.resumes.push({ resumed: e.resumed, reason: e.reason, at: performance.now() }));
  ws.addEventListener("close", (e) => s.closes.push(e.code));
  ws.addEventListener("message", (e) => {
    s.got += 1;
    if (e.data.startsWith("{")) s.feed.push([JSON.parse(e.data).n, s.got]);
    else s.echoes.push(e.data);
  });
}

/** Each feed message [n, at] is where its number says: the server numbers {"n":k} with its
 * place in everything it sent the session (echoes too), so it must be the k-th message the
 * page received (one session): nothing before it lost, doubled or reordered. */
function assertInPlace(feed, what) {
  assert.ok(feed.length > 0, `${what}: nothing arrived`);
  feed.forEach(([n, at], i) =>
    assert.equal(n, at, `${what}: {"n":${n}} arrived as message ${at} ([n, place] around it: ${JSON.stringify(feed.slice(Math.max(0, i - 3), i + 3))})`),
  );
}

browserTest("a page shown from the back/forward cache resumes at once, nothing lost or doubled", async (page) => {
  const server = await startServer({ feedMs: 50 });
  const proxy = await startProxy({ upstreamPort: server.port });
  try {
    await openContinuityPage(page);
    await evalInPage(page, start, `ws://127.0.0.1:${proxy.port}/`);
    await waitFor(() => evalInPage(page, () => window.L.feed.length >= 10), 10_000, "10 feed messages");
    // The page sat in the cache: messages sent just before went nowhere, and its connection
    // died meanwhile (the next retry is 30 s away).
    proxy.stall(true);
    await evalInPage(page, () => ["a", "b", "c"].forEach((m) => window.L.ws.send(m)));
    await sleep(300);
    proxy.cutAll();
    proxy.stall(false);
    await waitFor(() => evalInPage(page, () => window.L.closes.length > 0), 5_000, "the connection to close");
    const before = await evalInPage(page, () => ({ resumes: window.L.resumes.length, now: performance.now() }));
    await evalInPage(page, () => window.dispatchEvent(new PageTransitionEvent("pageshow", { persisted: true })));
    await waitFor(() => evalInPage(page, (n) => window.L.resumes.length > n, before.resumes), 5_000, "a resume after pageshow");
    const r = await evalInPage(page, () => window.L.resumes.at(-1));
    assert.deepEqual({ resumed: r.resumed, reason: r.reason }, { resumed: true, reason: null });
    assert.ok(r.at - before.now < 3_000, `resumed ${Math.round(r.at - before.now)} ms after pageshow (a retry waits 30 s)`);
    await waitFor(() => evalInPage(page, () => window.L.echoes.length === 3), 5_000, "the three echoes");
    const s = await evalInPage(page, () => ({ feed: window.L.feed, echoes: window.L.echoes }));
    assert.deepEqual(s.echoes, ["a", "b", "c"]);
    assertInPlace(s.feed, "feed");
    // A pageshow of a fresh load (persisted: false) changes nothing.
    const resumes = await evalInPage(page, () => window.L.resumes.length);
    await evalInPage(page, () => window.dispatchEvent(new PageTransitionEvent("pageshow", { persisted: false })));
    await sleep(300);
    assert.equal(await evalInPage(page, () => window.L.resumes.length), resumes);
  } finally {
    await proxy.close();
    await server.stop();
  }
});

browserTest("a frozen tab resumes without duplicate delivery", async (page) => {
  const server = await startServer({ feedMs: 50 });
  try {
    await openContinuityPage(page);
    await evalInPage(page, start, server.url("/"));
    await waitFor(() => evalInPage(page, () => window.L.feed.length >= 10), 10_000, "10 feed messages");
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Page.setWebLifecycleState", { state: "frozen" });
    await sleep(2_000); // past the heartbeat's timeout: the frozen page answered nothing
    await cdp.send("Page.setWebLifecycleState", { state: "active" });
    await evalInPage(page, () => window.L.ws.send("after"));
    await waitFor(() => evalInPage(page, () => window.L.echoes.includes("after") && window.L.ws.state === "open"), 10_000, "the echo after the freeze");
    const frozenAt = await evalInPage(page, () => window.L.feed.length);
    await waitFor(() => evalInPage(page, (n) => window.L.feed.length >= n + 10, frozenAt), 10_000, "10 more feed messages");
    const s = await evalInPage(page, () => ({ feed: window.L.feed, echoes: window.L.echoes, resumes: window.L.resumes }));
    assertInPlace(s.feed, "feed across the freeze");
    assert.deepEqual(s.echoes, ["after"]);
    assert.ok(s.resumes.slice(1).every((r) => r.resumed), `every later session start is a resume: ${JSON.stringify(s.resumes)}`);
  } finally {
    await server.stop();
  }
});
