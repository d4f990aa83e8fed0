// The cursor-sharing demo (www/ + the relay in www/relay), end to end in Debian Chromium:
// two pages see each other's cursor; the relay is stopped and restarted and both pages
// reconnect by themselves; cursor moves made while the relay is down are conflated into
// one queued message (`send(data, { key: "cursor" })`); a closed page's cursor leaves.
// Writes www/screenshot.png (shown in the README). The "Delivery (continuity)" panel (the
// page's second socket, with the continuity protocol, on the relay's /live): across a
// network cut (a TCP proxy in front of the relay cuts and refuses for 2 s) its session
// resumes with nothing lost, repeated or out of order; across a relay restart the session
// is lost, and the panel says so (resume: resumed false, "unknown"). Across page reloads
// (`persist: "session"`; the panel keeps its counts in sessionStorage), mid-stream and while
// a gate in front of the relay refuses the page's WebSockets, the session is restored and
// resumed and the counts carry over with nothing lost or repeated; a copy of the tab gets a
// session of its own and counts from 0.
//
// Needs pkg/ and a built relay (`cargo build -p tether-relay`; the newest of
// target/{debug,release}/tether-relay is used, or $TETHER_RELAY_BIN). Starts its own relay
// on 127.0.0.1:$TETHER_DEMO_PORT (default 8095) and stops it whatever happens. It does not
// use the test server.

import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { CHROMIUM, CHROMIUM_FLAGS, ROOT, sleep, waitFor } from "./harness.mjs";
import { startProxy } from "./continuity/proxy.mjs";

const PORT = Number(process.env.TETHER_DEMO_PORT || 8095);
const ORIGIN = `http://127.0.0.1:${PORT}`;
const SCREENSHOT = join(ROOT, "www", "screenshot.png");
// 960×540 CSS pixels at 2× (a sharp 1920×1080 screenshot).
const VIEWPORT = { width: 960, height: 540 };

function relayBinary() {
  if (process.env.TETHER_RELAY_BIN) return process.env.TETHER_RELAY_BIN;
  const candidates = ["release", "debug"]
    .map((p) => join(process.env.CARGO_TARGET_DIR || join(ROOT, "target"), p, "tether-relay"))
    .filter((p) => existsSync(p))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (!candidates.length) {
    throw new Error("tether-relay is not built: run `cargo build -p tether-relay` (scripts/test.sh does)");
  }
  return candidates[0];
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function portBusy(port) {
  return new Promise((resolve) => {
    const s = createConnection({ host: "127.0.0.1", port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
    s.setTimeout(1000, () => {
      s.destroy();
      resolve(false);
    });
  });
}

// ------------------------------------------------------------------------------ the relay

let relay = null; // { proc, output: string[], exited: Promise<{code, signal}> }

async function startRelay() {
  if (await portBusy(PORT)) {
    throw new Error(`127.0.0.1:${PORT} is in use (set TETHER_DEMO_PORT to run the demo test on another port)`);
  }
  const bin = relayBinary();
  const proc = spawn(bin, ["--addr", `127.0.0.1:${PORT}`, "--root", ROOT], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output = [];
  const exited = new Promise((resolve) => proc.once("exit", (code, signal) => resolve({ code, signal })));
  let ready = false;
  const onData = (chunk) => {
    for (const line of String(chunk).split("\n").filter(Boolean)) {
      output.push(line);
      if (line.startsWith(`open ${ORIGIN}/`)) ready = true;
    }
  };
  proc.stdout.on("data", onData);
  proc.stderr.on("data", onData);
  relay = { proc, output, exited };
  let gone = false;
  exited.then(() => (gone = true));
  await waitFor(() => ready || gone, 15_000, `${bin} to print "open ${ORIGIN}/"`);
  if (!ready) throw new Error(`the relay exited at start:\n${output.join("\n")}`);
  return relay;
}

/** SIGTERM (a clean shutdown is expected), SIGKILL after 5 s. Returns how it exited. */
async function stopRelay() {
  const r = relay;
  relay = null;
  if (!r) return null;
  if (r.proc.exitCode === null && r.proc.signalCode === null) r.proc.kill("SIGTERM");
  const result = await Promise.race([r.exited, sleep(5000).then(() => null)]);
  if (result) return result;
  r.proc.kill("SIGKILL");
  await Promise.race([r.exited, sleep(2000)]);
  return { code: null, signal: "SIGKILL (did not stop within 5 s of SIGTERM)" };
}

after(async () => {
  await stopRelay();
});

// ------------------------------------------------------------------------------ pages

/** A page of the demo (from `origin`, the relay's by default), with its errors collected. */
async function openDemo(context, label, origin = ORIGIN) {
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(`${label}: uncaught ${e.message}`));
  page.on("console", (m) => {
    const text = m.text();
    // "Refused to ..." is a CSP violation; panics and traps are library bugs.
    if (/Refused to|unreachable|panicked at|RuntimeError/i.test(text)) problems.push(`${label}: ${text}`);
  });
  page.problems = problems;
  const resp = await page.goto(`${origin}/`, { timeout: 20_000 });
  assert.equal(resp.status(), 200);
  await page.waitForFunction(() => window.demo?.ws?.state === "open" && window.demo.me, null, {
    timeout: 20_000,
  });
  return page;
}

const stateText = (page) => page.$eval("#state", (el) => el.textContent);
const me = (page) => page.evaluate(() => window.demo.me);

/** Where page B draws the cursor of client `id` (the arrow's tip), or null. */
function cursorIn(page, id) {
  return page.evaluate((id) => {
    const c = window.demo.cursors.get(id);
    if (!c || !c.el.isConnected) return null;
    const svg = c.el.querySelector("svg").getBoundingClientRect();
    return {
      // The tip is at (2, 1.5) of the 22×22 arrow.
      x: svg.left + 2,
      y: svg.top + 1.5,
      name: c.el.querySelector(".label").textContent,
      stale: c.el.parentElement.classList.contains("stale"),
    };
  }, id);
}

async function waitCursorAt(page, id, x, y, what) {
  return waitFor(
    async () => {
      const c = await cursorIn(page, id);
      return c && Math.abs(c.x - x) <= 3 && Math.abs(c.y - y) <= 3 ? c : null;
    },
    10_000,
    what,
  );
}

// ------------------------------------------------------------------------------ the test

test("demo: cursors are shared live and survive a relay restart", { timeout: 150_000 }, async () => {
  assert.ok(existsSync(join(ROOT, "pkg", "index.js")), "pkg/ is built (bash scripts/build-pkg.sh)");
  await startRelay();
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    timeout: 60_000,
  });
  try {
    const context = await browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 2 });
    const a = await openDemo(context, "page A");
    const b = await openDemo(context, "page B");

    // The page is served with the strict CSP and works under it (no inline script).
    const head = await fetch(`${ORIGIN}/`, { signal: AbortSignal.timeout(5000) });
    assert.equal(head.headers.get("content-security-policy"), "script-src 'self' 'wasm-unsafe-eval'");

    // 1. A moves; B sees A's cursor where A's pointer is, with A's name.
    const meA = await me(a);
    assert.ok(meA.name && /^#[0-9a-f]{6}$/.test(meA.color), JSON.stringify(meA));
    await a.mouse.move(300, 200);
    await a.mouse.move(480, 270, { steps: 8 });
    const seen = await waitCursorAt(b, meA.id, 480, 270, "A's cursor at (480, 270) in B");
    assert.equal(seen.name, meA.name);
    assert.equal(await stateText(a), "open");

    // 2. The relay goes away (SIGTERM: it closes every socket with 1001 and exits 0).
    const exit = await stopRelay();
    assert.deepEqual(exit, { code: 0, signal: null }, "the relay shuts down cleanly on SIGTERM");
    for (const [label, page] of [["A", a], ["B", b]]) {
      await waitFor(async () => /reconnecting/.test(await stateText(page)), 10_000, `page ${label} shows reconnecting`);
    }
    assert.ok((await cursorIn(b, meA.id)).stale, "B greys out cursors while disconnected");

    // 3. A keeps moving while the relay is down: each move replaces the queued one.
    const replacedBefore = await a.evaluate(() => window.demo.replaced);
    const path = [
      [200, 480],
      [350, 450],
      [500, 420],
      [650, 400],
      [760, 380],
    ];
    for (const [x, y] of path) {
      await a.mouse.move(x, y);
      // Let an animation frame pass so that every position is a separate send().
      await a.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0))));
    }
    await waitFor(
      () => a.evaluate(() => window.demo.movesSent >= 1 && window.demo.ws.queuedMessages === 1),
      5000,
      "A's outbox to hold exactly one cursor message",
    );
    const queued = await a.evaluate(() => ({
      queuedMessages: window.demo.ws.queuedMessages,
      replaced: window.demo.replaced,
      panel: document.querySelector("#queued").textContent,
    }));
    assert.equal(queued.queuedMessages, 1, "only the latest position is queued");
    assert.ok(queued.replaced - replacedBefore >= path.length - 1, `moves were replaced: ${JSON.stringify(queued)}`);
    await waitFor(async () => (await a.$eval("#queued", (el) => el.textContent)) === "1", 2000, "panel shows 1 queued");
    const retriesWhileDown = await a.evaluate(() => window.demo.ws.retryCount);
    assert.ok(retriesWhileDown >= 1, `A counts retries (${retriesWhileDown})`);

    // 4. The relay comes back: both pages reconnect without a reload.
    await startRelay();
    for (const [label, page] of [["A", a], ["B", b]]) {
      await waitFor(async () => (await stateText(page)) === "open", 20_000, `page ${label} shows open again`);
    }
    const meA2 = await me(a);
    assert.equal(meA2.name, meA.name, "A keeps its name across the reconnect");
    assert.equal(meA2.color, meA.color, "A keeps its colour across the reconnect");
    assert.equal(await a.evaluate(() => window.demo.ws.queuedMessages), 0, "the queued move was sent");
    // B sees A's latest position (the one queued while the relay was down).
    const back = await waitCursorAt(b, meA2.id, 760, 380, "A's latest position (760, 380) in B after the restart");
    assert.equal(back.name, meA.name);
    assert.equal(back.stale, false);
    assert.equal(await b.evaluate(() => window.demo.cursors.size), 1, "B shows only A (no stale cursors)");

    // 5. The screenshot for the README: B with A's cursor and two more visitors.
    const more = [];
    for (const [label, x, y] of [
      ["C", 420, 430],
      ["D", 800, 160],
    ]) {
      const p = await openDemo(context, `page ${label}`);
      await p.mouse.move(x - 40, y - 30);
      await p.mouse.move(x, y, { steps: 4 });
      const m = await me(p);
      await waitCursorAt(b, m.id, x, y, `page ${label}'s cursor in B`);
      more.push(p);
    }
    // (Clear of the delivery panel, bottom right, so that A's label shows.)
    await a.mouse.move(590, 270);
    await a.mouse.move(560, 240, { steps: 3 });
    await waitCursorAt(b, meA2.id, 560, 240, "A's cursor settles in B");
    await sleep(300); // CSS transitions and the entry animation
    await b.screenshot({ path: SCREENSHOT });
    for (const p of more) await p.close();

    // 6. A leaves: its cursor leaves B.
    await a.close();
    await waitFor(async () => (await cursorIn(b, meA2.id)) === null, 5000, "A's cursor to leave B");
    await waitFor(() => b.evaluate(() => window.demo.cursors.size === 0), 5000, "B to show no cursors");

    // 7. The browser goes offline and the relay goes away: the panel says "offline" and
    // the library does not retry while offline; back online (relay up again), B reconnects
    // at once instead of waiting for its backoff timer.
    await context.setOffline(true);
    await stopRelay();
    await waitFor(async () => (await stateText(b)) === "offline", 10_000, "page B shows offline");
    const retriesOffline = await b.evaluate(() => window.demo.ws.retryCount);
    await sleep(1500);
    assert.equal(await b.evaluate(() => window.demo.ws.retryCount), retriesOffline, "no retries while offline");
    await startRelay();
    const onlineAt = Date.now();
    await context.setOffline(false);
    await waitFor(async () => (await stateText(b)) === "open", 10_000, "page B shows open after going online");
    console.log(`page B reopened ${Date.now() - onlineAt} ms after the browser went back online`);

    const problems = [...a.problems, ...b.problems, ...more.flatMap((p) => p.problems)];
    assert.deepEqual(problems, [], "no page errors, CSP violations or wasm panics");
  } finally {
    await browser.close().catch(() => {});
    const exit = await stopRelay();
    if (exit && exit.code !== 0) console.log(`relay exit: ${JSON.stringify(exit)}`);
  }
});

// ------------------------------------------------------------------------------ the delivery panel

/** The delivery panel as the page counts it, and as it shows it. */
function delivery(page) {
  return page.evaluate(() => {
    const L = window.demo.live;
    const text = (id) => document.getElementById(id).textContent;
    return {
      state: L.ws.state,
      feed: { received: L.feed.received, gaps: L.feed.gaps, duplicates: L.feed.duplicates, next: L.feed.next },
      msg: { sent: L.msg.sent, echoed: L.msg.echoed, lost: L.msg.holes, duplicated: L.msg.duplicated },
      resumes: L.resumes,
      reloads: L.reloads,
      resumesHere: L.resumesHere,
      notKept: L.notKept,
      panel: {
        state: text("live-state"),
        feed: [text("feed-received"), text("feed-gaps"), text("feed-dups")].map(Number),
        msg: [text("msg-sent"), text("msg-echoed"), text("msg-lost"), text("msg-dups")].map(Number),
        resume: text("live-resume"),
        note: document.getElementById("live-note").hidden ? "" : text("live-note"),
      },
    };
  });
}

/** Waits until the panel shows what the page counted (it renders on events and every 500 ms). */
async function deliveryShown(page, what) {
  return waitFor(
    async () => {
      const d = await delivery(page);
      const same =
        d.panel.feed.join() === [d.feed.received, d.feed.gaps, d.feed.duplicates].join() &&
        d.panel.msg.join() === [d.msg.sent, d.msg.echoed, d.msg.lost, d.msg.duplicated].join();
      return same ? d : null;
    },
    5000,
    what,
  );
}

test("demo: the delivery panel (continuity on /live) across a network cut and a relay restart", { timeout: 120_000 }, async () => {
  await startRelay();
  // The page is loaded through a TCP proxy in front of the relay: the proxy is the network
  // that gets cut; the relay and its sessions stay.
  const proxy = await startProxy({ upstreamPort: PORT });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    timeout: 60_000,
  });
  try {
    const context = await browser.newContext({ viewport: VIEWPORT });
    const page = await openDemo(context, "page L", `http://127.0.0.1:${proxy.port}`);

    // 1. The live socket opens a new session, gets the feed and its messages' echoes.
    await waitFor(
      async () => {
        const d = await delivery(page);
        return d.state === "open" && d.feed.received >= 4 && d.msg.echoed >= 2 ? d : null;
      },
      15_000,
      "the live socket to get 4 feed messages and 2 echoes",
    );
    let d = await delivery(page);
    assert.deepEqual(d.resumes, [{ resumed: false, reason: "new", resent: 0, dropped: 0, restored: false }], "a new session first");
    assert.equal(page.url().includes(String(proxy.port)), true);

    // 2. A network cut of 2 s: every connection reset, new ones refused meanwhile.
    const before = await delivery(page);
    proxy.refuse(true);
    const cut = proxy.cutAll();
    assert.ok(cut >= 2, `the proxy cut the page's connections (${cut})`);
    await waitFor(async () => (await delivery(page)).state !== "open", 5000, "the live socket to notice the cut");
    await sleep(2000);
    proxy.refuse(false);
    d = await waitFor(
      async () => {
        const d = await delivery(page);
        return d.state === "open" && d.resumes.length === 2 ? d : null;
      },
      20_000,
      "the live socket to reconnect after the cut",
    );
    assert.deepEqual(d.resumes[1], { resumed: true, reason: null, resent: 0, dropped: 0, restored: false }, "the session resumed");
    // Everything sent so far, the messages queued during the cut included, comes back once,
    // and the feed goes on from where it was.
    const sentBy = d.msg.sent;
    d = await waitFor(
      async () => {
        const d = await delivery(page);
        return d.msg.echoed >= sentBy && d.feed.received >= before.feed.received + 8 ? d : null;
      },
      15_000,
      `every message up to ${sentBy} echoed back after the cut`,
    );
    assert.ok(sentBy >= before.msg.sent + 2, `messages were sent during the cut (${before.msg.sent} → ${sentBy})`);
    d = await deliveryShown(page, "the panel to show the counts after the cut");
    assert.equal(d.feed.gaps, 0, `no feed gaps across the cut: ${JSON.stringify(d)}`);
    assert.equal(d.feed.duplicates, 0, "no feed duplicates across the cut");
    assert.equal(d.feed.received, d.feed.next - 1, "the feed: every number once, in order");
    assert.equal(d.msg.lost, 0, "no message lost across the cut");
    assert.equal(d.msg.duplicated, 0, "no message duplicated across the cut");
    assert.match(d.panel.resume, /^resumed/);
    assert.equal(d.panel.state, "open");
    console.log(`network cut of 2 s: ${JSON.stringify({ feed: d.feed, msg: d.msg })}`);

    // 3. The relay restarts: its sessions were in memory, so this one is gone, and the
    // panel says so instead of pretending.
    const exit = await stopRelay();
    assert.deepEqual(exit, { code: 0, signal: null }, "the relay shuts down cleanly on SIGTERM");
    await sleep(1500); // a message or two waits in the outbox meanwhile
    await startRelay();
    d = await waitFor(
      async () => {
        const d = await delivery(page);
        return d.state === "open" && d.resumes.length === 3 ? d : null;
      },
      20_000,
      "the live socket to reconnect after the relay restart",
    );
    const lost = d.resumes[2];
    assert.equal(lost.resumed, false, `the session did not survive the restart: ${JSON.stringify(lost)}`);
    assert.equal(lost.reason, "unknown");
    d = await waitFor(
      async () => {
        const d = await delivery(page);
        return /^session lost \(unknown\)/.test(d.panel.resume) ? d : null;
      },
      5000,
      "the panel to show the lost session",
    );
    assert.match(d.panel.resume, new RegExp(`resent ${lost.resent}, dropped ${lost.dropped}$`));
    // The new session's feed starts at 1 (not a gap: the resume event said why), and the
    // page's messages are echoed again.
    const sentAfter = d.msg.sent;
    d = await waitFor(
      async () => {
        const d = await delivery(page);
        return d.feed.next >= 4 && d.msg.echoed >= sentAfter - d.msg.lost ? d : null;
      },
      15_000,
      "the new session's feed and echoes",
    );
    d = await deliveryShown(page, "the panel to show the counts after the restart");
    assert.equal(d.feed.gaps, 0, `the new session's feed has no gap: ${JSON.stringify(d)}`);
    assert.equal(d.feed.duplicates, 0);
    // Honest counts: what the lost session had echoed and not delivered is "lost", never
    // silently missing; every message is echoed, lost, or still on its way.
    assert.ok(d.msg.echoed + d.msg.lost <= d.msg.sent, JSON.stringify(d.msg));
    console.log(`relay restart: resume ${JSON.stringify(lost)}; ${JSON.stringify({ feed: d.feed, msg: d.msg })}`);
    assert.deepEqual(page.problems, [], "no page errors, CSP violations or wasm panics");
  } finally {
    await browser.close().catch(() => {});
    await proxy.close().catch(() => {});
    await stopRelay();
  }
});

/**
 * A TCP front for the relay that cuts WebSockets only: `cut(true)` resets every WebSocket
 * connection through it (returns how many) and, until `cut(false)`, resets every new one
 * as soon as its handshake request arrives; HTTP requests go through all along, so that a
 * page can be reloaded while its sockets are cut off. (Chromium sends a request's head in
 * one write: the first chunk says which kind a connection is.)
 */
async function startWsGate(upstreamPort) {
  const live = new Set(); // [client, upstream] of each WebSocket connection
  const all = new Set(); // every socket, to close
  let cutting = false;
  const reset = (s) =>
    typeof s.resetAndDestroy === "function" && !s.destroyed && s.readyState !== "opening" ? s.resetAndDestroy() : s.destroy();
  const server = createServer((client) => {
    client.on("error", () => {});
    all.add(client);
    client.on("close", () => all.delete(client));
    client.once("data", (head) => {
      const ws = /^upgrade:\s*websocket\s*$/im.test(head.toString("latin1"));
      if (ws && cutting) return reset(client);
      const upstream = createConnection({ host: "127.0.0.1", port: upstreamPort });
      upstream.on("error", () => {});
      all.add(upstream);
      upstream.on("close", () => all.delete(upstream));
      const pair = [client, upstream];
      if (ws) live.add(pair);
      const end = () => {
        live.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      client.on("close", end);
      upstream.on("close", end);
      upstream.write(head);
      client.pipe(upstream);
      upstream.pipe(client);
    });
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  return {
    port: server.address().port,
    cut(on) {
      cutting = on;
      if (!on) return 0;
      const n = live.size;
      for (const pair of [...live]) {
        live.delete(pair);
        pair.forEach(reset);
      }
      return n;
    },
    close() {
      for (const s of all) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Checks that every count of trouble is 0 and the panel shows the counts: every feed
 * number from 1 to `next - 1` received once and in order, every echo once. */
function assertNoLoss(d, when) {
  const all = JSON.stringify({ feed: d.feed, msg: d.msg, resumes: d.resumes });
  assert.equal(d.feed.gaps, 0, `no feed gaps ${when}: ${all}`);
  assert.equal(d.feed.duplicates, 0, `no feed duplicates ${when}: ${all}`);
  assert.equal(d.feed.received, d.feed.next - 1, `the feed ${when}: every number once, in order: ${all}`);
  assert.equal(d.msg.lost, 0, `no message lost ${when}: ${all}`);
  assert.equal(d.msg.duplicated, 0, `no message duplicated ${when}: ${all}`);
  assert.ok(d.msg.echoed <= d.msg.sent, `no more echoes than messages ${when}: ${all}`);
  assert.deepEqual(d.panel.feed, [d.feed.received, d.feed.gaps, d.feed.duplicates], `the panel's feed ${when}`);
  assert.deepEqual(d.panel.msg, [d.msg.sent, d.msg.echoed, d.msg.lost, d.msg.duplicated], `the panel's messages ${when}`);
}

/** Reloads `page` and waits until the new page's delivery panel runs, with the counts it
 * took up from storage (`reloads`: how many loads before this one did). */
async function reloadDemo(page, reloads) {
  await page.reload({ timeout: 20_000, waitUntil: "load" });
  await page.waitForFunction((n) => window.demo?.live?.ws && window.demo.live.reloads === n, reloads, { timeout: 10_000 });
  return delivery(page);
}

test("demo: the delivery panel keeps its session and its counts across page reloads", { timeout: 120_000 }, async () => {
  await startRelay();
  // Through a gate that can cut the page's WebSockets, with the relay (and its sessions)
  // left alone, and still let the page itself load.
  const gate = await startWsGate(PORT);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    timeout: 60_000,
  });
  const t0 = Date.now();
  try {
    const context = await browser.newContext({ viewport: VIEWPORT });
    const page = await openDemo(context, "page R", `http://127.0.0.1:${gate.port}`);
    await waitFor(
      async () => {
        const d = await delivery(page);
        return d.state === "open" && d.feed.received >= 4 && d.msg.echoed >= 2 ? d : null;
      },
      15_000,
      "the live socket to get 4 feed messages and 2 echoes",
    );
    let d = await deliveryShown(page, "the panel to show the first counts");
    assert.equal(d.reloads, 0, "a first load counts from 0");
    assertNoLoss(d, "before any reload");
    const sid0 = await page.evaluate(() => JSON.parse(sessionStorage.getItem("tether-ws:demo-live")).sid);

    // 1. A reload mid-stream, the link up: the feed goes on while the page is away, and the
    // page's latest message may not be acknowledged yet.
    const before1 = await delivery(page);
    d = await reloadDemo(page, 1);
    assert.ok(d.feed.received >= before1.feed.received, `the feed count carried over: ${before1.feed.received} → ${d.feed.received}`);
    assert.ok(d.msg.sent >= before1.msg.sent && d.msg.echoed >= before1.msg.echoed, `the message counts carried over: ${JSON.stringify([before1.msg, d.msg])}`);
    assert.deepEqual(d.resumes.slice(0, before1.resumes.length), before1.resumes, "the resume history carried over");
    d = await waitFor(
      async () => {
        const d = await delivery(page);
        return d.state === "open" && d.resumesHere === 1 ? d : null;
      },
      15_000,
      "the reloaded page's live socket to resume",
    );
    const r1 = d.resumes.at(-1);
    assert.deepEqual({ ...r1, resent: 0 }, { resumed: true, reason: null, resent: 0, dropped: 0, restored: true }, `the session was restored and resumed: ${JSON.stringify(r1)}`);
    assert.equal(await page.evaluate(() => JSON.parse(sessionStorage.getItem("tether-ws:demo-live")).sid), sid0, "the same session");
    const sent1 = d.msg.sent;
    d = await waitFor(
      async () => {
        const d = await delivery(page);
        return d.msg.echoed >= sent1 + 2 && d.feed.received >= before1.feed.received + 6 ? d : null;
      },
      15_000,
      `every message up to ${sent1 + 2} echoed and the feed going on after the reload`,
    );
    d = await deliveryShown(page, "the panel to show the counts after the reload");
    assertNoLoss(d, "across a reload");
    assert.match(d.panel.resume, /^resumed after reload · resent \d+, dropped 0$/);
    console.log(`reload: resume ${JSON.stringify(r1)}; ${JSON.stringify({ feed: d.feed, msg: d.msg })}`);

    // 2. The link is cut, messages queue (in the outbox and in sessionStorage), and the page
    // is reloaded before the link is back (the page loads; its sockets are refused).
    const before2 = await delivery(page);
    assert.ok(gate.cut(true) >= 2, "the gate cut the page's WebSockets");
    await waitFor(async () => (await delivery(page)).state !== "open", 5000, "the live socket to notice the cut");
    await sleep(1500);
    const cutSent = (await delivery(page)).msg.sent;
    assert.ok(cutSent > before2.msg.sent, "messages were sent while the link was cut");
    d = await reloadDemo(page, 2);
    assert.ok(d.msg.sent >= cutSent, `the messages sent during the cut are counted after the reload: ${cutSent} → ${d.msg.sent}`);
    assert.ok(d.feed.received >= before2.feed.received);
    await sleep(1500); // the new page sends a message or two into the cut as well
    d = await delivery(page);
    assert.notEqual(d.state, "open", "the link is still cut");
    assert.equal(d.resumesHere, 0);
    assert.equal(d.panel.resume, "reloaded · resuming…");
    assert.ok(d.msg.sent > cutSent, `the reloaded page sent messages into the cut too (${cutSent} → ${d.msg.sent})`);
    gate.cut(false);
    d = await waitFor(
      async () => {
        const d = await delivery(page);
        return d.state === "open" && d.resumesHere === 1 ? d : null;
      },
      20_000,
      "the live socket to resume once the link is back",
    );
    const r2 = d.resumes.at(-1);
    assert.deepEqual({ ...r2, resent: 0 }, { resumed: true, reason: null, resent: 0, dropped: 0, restored: true }, `restored and resumed after a reload during a cut: ${JSON.stringify(r2)}`);
    const sent2 = d.msg.sent;
    d = await waitFor(
      async () => {
        const d = await delivery(page);
        return d.msg.echoed >= sent2 && d.feed.received >= before2.feed.received + 10 ? d : null;
      },
      15_000,
      `every message up to ${sent2} (those of the cut, from both pages, included) echoed after the reload`,
    );
    d = await deliveryShown(page, "the panel to show the counts after the reload during the cut");
    assertNoLoss(d, "across a reload during a cut");
    assert.match(d.panel.resume, /^resumed after reload · /);
    assert.equal(d.panel.note, "", "persistence stayed on");
    assert.equal(await page.evaluate(() => JSON.parse(sessionStorage.getItem("tether-ws:demo-live")).sid), sid0, "still the first session");
    // Two reloads, two resumes of the same session, nothing else: a new session first, then
    // the two restored resumes.
    assert.deepEqual(
      d.resumes.map((r) => [r.resumed, r.reason, r.restored]),
      [[false, "new", false], [true, null, true], [true, null, true]],
    );
    console.log(`reload during a 3 s cut: resume ${JSON.stringify(r2)}; ${JSON.stringify({ feed: d.feed, msg: d.msg })}`);

    // 3. A copy of the tab (window.open copies the opener's sessionStorage, as "duplicate
    // tab" does): it must not take the session over, and its panel must not pass the
    // original's counts off as its own. It says "duplicated tab", counts afresh, and the
    // original goes on undisturbed.
    const [copy] = await Promise.all([
      context.waitForEvent("page", { timeout: 10_000 }),
      page.evaluate(() => void window.open(location.href)),
    ]);
    copy.problems = [];
    copy.on("pageerror", (e) => copy.problems.push(`copy: uncaught ${e.message}`));
    let c = await waitFor(
      async () => {
        const c = await copy.evaluate(() => window.demo?.live?.resumesHere === 1).catch(() => false);
        return c && delivery(copy);
      },
      15_000,
      "the copied tab's live socket to begin",
    );
    assert.deepEqual(c.resumes, [{ resumed: false, reason: "duplicated", resent: 0, dropped: 0, restored: false }], `the copy has a session of its own: ${JSON.stringify(c.resumes)}`);
    assert.equal(c.reloads, 0);
    const copySid = await copy.evaluate(() => JSON.parse(sessionStorage.getItem("tether-ws:demo-live")).sid);
    assert.notEqual(copySid, sid0, "the copy's session is not the original's");
    c = await waitFor(
      async () => {
        const c = await delivery(copy);
        return c.feed.received >= 4 && c.msg.echoed >= 2 ? c : null;
      },
      15_000,
      "the copy's feed and echoes",
    );
    c = await deliveryShown(copy, "the copy's panel to show its counts");
    assertNoLoss(c, "in the copied tab");
    assert.match(c.panel.resume, /^duplicated tab: new session/);
    assert.ok(c.feed.received < d.feed.received, `the copy counts its own feed from 1: ${JSON.stringify([c.feed, d.feed])}`);
    const sent3 = (await delivery(page)).msg.sent;
    d = await waitFor(
      async () => {
        const d = await delivery(page);
        return d.msg.echoed >= sent3 + 1 ? d : null;
      },
      10_000,
      "the original to go on beside its copy",
    );
    d = await deliveryShown(page, "the original's panel beside the copy");
    assertNoLoss(d, "in the original beside its copy");
    assert.equal(d.resumes.length, 3, "the original was not disturbed (no new resume)");
    assert.equal(d.state, "open");
    console.log(`copied tab: ${JSON.stringify({ feed: c.feed, msg: c.msg })}; original: ${JSON.stringify({ feed: d.feed, msg: d.msg })}; ${Date.now() - t0} ms in all`);
    assert.deepEqual([...page.problems, ...copy.problems], [], "no page errors, CSP violations or wasm panics");
  } finally {
    await browser.close().catch(() => {});
    await gate.close().catch(() => {});
    await stopRelay();
  }
});

test("demo: 50 clients (one page + 49 sockets) all drawn, then all gone", { timeout: 90_000 }, async () => {
  await startRelay();
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    timeout: 60_000,
  });
  try {
    const context = await browser.newContext({ viewport: VIEWPORT });
    const b = await openDemo(context, "page B");
    // 49 more clients: plain WebSockets in a second page, each sending MOVES moves at 60 Hz
    // and ending at its own spot ((i + 1) / 50, 0.5). (That one page receives the moves of
    // all 49: 49 × 48 × 60 messages per second, which is what limits MOVES here.)
    const MOVES = 10;
    // A separate context, so that the bots' renderer (which receives 49 × 48 moves per
    // tick) does not share a main thread with page B.
    const bots = await (await browser.newContext()).newPage();
    await bots.goto(`${ORIGIN}/`, { timeout: 20_000 });
    const t0 = Date.now();
    const received0 = await b.evaluate(() => window.demo.received);
    const timing = await bots.evaluate(
      async ([url, MOVES]) => {
        const t0 = performance.now();
        window.bots = await Promise.all(
          Array.from(
            { length: 49 },
            (_, i) =>
              new Promise((resolve, reject) => {
                const s = new WebSocket(url);
                s.onerror = () => reject(new Error(`bot ${i} could not connect`));
                s.onopen = () => resolve(s);
              }),
          ),
        );
        const t1 = performance.now();
        await new Promise((resolve) => {
          let k = 0;
          const timer = setInterval(() => {
            k += 1;
            window.bots.forEach((s, i) => {
              const last = k === MOVES;
              s.send(JSON.stringify({ type: "move", x: last ? (i + 1) / 50 : Math.random(), y: last ? 0.5 : Math.random() }));
            });
            if (k === MOVES) {
              clearInterval(timer);
              resolve();
            }
          }, 1000 / 60);
        });
        return { connectMs: Math.round(t1 - t0), sendMs: Math.round(performance.now() - t1) };
      },
      [`ws://127.0.0.1:${PORT}/ws`, MOVES],
    );
    const drawn = await waitFor(
      () =>
        b.evaluate(() => {
          const cs = [...window.demo.cursors.values()];
          const settled = cs.filter((c) => c.y === 0.5 && c.el.isConnected).length;
          return cs.length === 49 && settled === 49 && document.querySelectorAll(".cursor").length === 49
            ? settled
            : false;
        }),
      15_000,
      "B to draw the 49 other cursors at their final positions",
    );
    assert.equal(drawn, 49);
    assert.equal(await b.$eval("#peers", (el) => el.textContent), "50");
    const got = (await b.evaluate(() => window.demo.received)) - received0;
    console.log(
      `50 clients: 49 sockets connected in ${timing.connectMs} ms, 49 × ${MOVES} moves at 60 Hz ` +
        `sent in ${timing.sendMs} ms (one page hosting 49 clients); page B got ${got} of ` +
        `${49 * MOVES} cursor messages (the relay conflates for slow readers) and drew all 49 ` +
        `final positions ${Date.now() - t0} ms after the first connect`,
    );
    await bots.close();
    await waitFor(() => b.evaluate(() => window.demo.cursors.size === 0), 10_000, "every bot cursor to leave B");
    assert.deepEqual(b.problems, []);
  } finally {
    await browser.close().catch(() => {});
    await stopRelay();
  }
});

test("demo: a page restored from the back/forward cache resumes its delivery session at once", { timeout: 60_000 }, async () => {
  await startRelay();
  // Playwright turns the cache off by default; here it is on, as in a user's browser. (The
  // relay serves the demo without `Cache-Control: no-store`, so Chromium may keep it; the
  // test server's pages, served with no-store, it does not keep.)
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    ignoreDefaultArgs: ["--disable-back-forward-cache"],
    timeout: 60_000,
  });
  try {
    const context = await browser.newContext({ viewport: VIEWPORT });
    const page = await openDemo(context, "page");
    const cdp = await context.newCDPSession(page);
    await cdp.send("Page.enable");
    const notCached = [];
    cdp.on("Page.backForwardCacheNotUsed", (e) => notCached.push(e.notRestoredExplanations.map((x) => x.reason)));
    const live = () => page.evaluate(() => ({ ...window.demo.live.feed, resumes: window.demo.live.resumes.length, state: window.demo.live.ws.state }));
    await waitFor(async () => (await live()).received >= 5, 15_000, "5 feed messages");
    await page.evaluate(() => {
      window.sameDocument = true;
      addEventListener("pageshow", (e) => (window.shownFromCache = e.persisted));
    });
    const before = await live();
    // Away (another page of the same origin) for longer than the feed's period, and back.
    await page.goto(`${ORIGIN}/pkg/package.json`);
    await sleep(1500);
    await page.goBack({ waitUntil: "commit" });
    await waitFor(() => page.evaluate(() => window.shownFromCache === true).catch(() => false), 10_000, "a pageshow from the cache");
    assert.deepEqual(notCached, [], "Chromium kept the page");
    assert.equal(await page.evaluate(() => window.sameDocument), true, "the same document, not a new load");
    await waitFor(async () => {
      const l = await live();
      return l.resumes > before.resumes && l.state === "open" && l.received >= before.received + 5 ? l : null;
    }, 10_000, "a resume and 5 more feed messages after the restore");
    const after = await page.evaluate(() => ({ feed: window.demo.live.feed, msg: window.demo.live.msg, last: window.demo.live.resumes.at(-1) }));
    assert.deepEqual({ resumed: after.last.resumed, reason: after.last.reason }, { resumed: true, reason: null });
    assert.deepEqual(
      { gaps: after.feed.gaps, duplicates: after.feed.duplicates, lost: after.msg.holes, duplicated: after.msg.duplicated },
      { gaps: 0, duplicates: 0, lost: 0, duplicated: 0 },
    );
    assert.equal(after.feed.received, after.feed.next - 1, "every feed number once, in order");
    assert.deepEqual(page.problems, []);
  } finally {
    await browser.close().catch(() => {});
    await stopRelay();
  }
});
