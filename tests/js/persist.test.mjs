// Continuity sessions kept across page reloads (`continuity: { persist: "session" }` in the
// npm entry `tether-ws/continuity`), in real Chromium: a page (tests/js/persist/page.html)
// streams numbered messages through the reference server (target/debug/tether-server, which
// echoes each message back to its session and feeds its own numbered {"n":k}), behind a chaos
// proxy (tests/js/continuity/proxy.mjs) that stalls and cuts connections. The page records,
// synchronously in its listeners, every echo and feed number into its own sessionStorage keys,
// which outlive its reloads; after the reloads the test reads that log and accounts for every
// message by number: each one sent comes back exactly once, in order, and each feed message
// {"n":k} is the k-th message of its session's server → client stream (the server numbers it
// so, echoes included) across the loads, whatever the reloads (or a crash) cut in the middle.
// No mocked WebSocket.
//
// Needs: pkg/ built (bash scripts/build-pkg.sh), `cargo build -p tether-server`, and the
// test server on 127.0.0.1:8790/8791/8792 (see tests/js/harness.mjs).
import assert from "node:assert/strict";
import { after, test } from "node:test";

import { browserTest, evalInPage, HTTP, sleep, uniqueKey, useBrowser, waitFor } from "./harness.mjs";
import { startProxy } from "./continuity/proxy.mjs";
import { killAllStarted, startServer } from "./continuity/server.mjs";

useBrowser();
after(killAllStarted); // (each test stops its own; this only catches a test that threw early)

const PAGE = `${HTTP}/tests/js/persist/page.html`;

/** Runs `fn(add)`; what was passed to `add` (servers, proxies) is stopped afterwards. */
async function withResources(fn) {
  const started = [];
  const add = (r) => {
    started.push(r);
    return r;
  };
  try {
    return await fn(add);
  } finally {
    for (const r of started.reverse()) await (r.stop ? r.stop() : r.close()).catch(() => {});
  }
}

/** The persistence page's URL with these settings (see tests/js/persist/page.mjs). */
const pageUrl = (params) => `${PAGE}?${new URLSearchParams(params)}`;

/** Waits for the persistence page in `page` to have made its sockets. */
async function pageReady(page, timeoutMs = 20_000) {
  await page
    .waitForFunction(() => window.P?.ready === true || typeof window.P?.loadError === "string", null, { timeout: timeoutMs })
    .catch((e) => {
      throw new Error(`the persistence page did not get ready within ${timeoutMs} ms: ${e.message}`);
    });
  const err = await page.evaluate(() => window.P.loadError);
  if (err) throw new Error(`the persistence page failed: ${err}`);
}

/** Loads the persistence page into `page` (the harness's page: its error checks stay on). */
async function loadPage(page, params) {
  await page.goto(pageUrl(params), { timeout: 20_000 });
  await pageReady(page);
}

/** Reloads `page` (pagehide and unload run) and waits for the new load's sockets. */
async function reload(page) {
  await page.reload({ timeout: 20_000 });
  await pageReady(page);
}

/** Runs `fn(arg)` in the page: a Playwright page, or a crashed-and-renavigated tab (below). */
const call = (target, fn, arg) => (target.cdpEval ? target.cdpEval(fn, arg) : evalInPage(target, fn, arg));
const progress = (page) => call(page, () => window.P.progress());
const dump = (page) => call(page, () => window.P.dump());
const storage = (page) => call(page, () => window.P.storage());

/** Waits until every socket of this load is open after its first resume event. */
function waitOpen(page, timeoutMs = 15_000, what = "every socket open after a resume event") {
  return waitFor(
    async () => {
      const ps = await progress(page);
      return ps.every((p) => p.state === "open" && p.resumes >= 1) && ps;
    },
    timeoutMs,
    what,
  );
}

/** Waits until each socket has `n` more echoes (all loads) than it had. */
async function waitEchoes(page, more, timeoutMs = 15_000) {
  const start = await progress(page);
  return waitFor(
    async () => {
      const ps = await progress(page);
      return ps.every((p, i) => p.echoed >= start[i].echoed + more) && ps;
    },
    timeoutMs,
    `${more} more echoes`,
  );
}

/** Waits until each socket's echoes (all loads) number at least `n`. */
function waitEchoed(page, n, timeoutMs = 15_000) {
  return waitFor(
    async () => {
      const ps = await progress(page);
      return ps.every((p) => p.echoed >= n) && ps;
    },
    timeoutMs,
    `${n} echoes in all`,
  );
}

/** Stops the stream and waits until every message sent came back (or throws, with where);
 * with `all: false` (a run expected to lose some), only until the outbox is empty, then 1 s. */
async function drain(page, { timeoutMs = 30_000, all = true } = {}) {
  await call(page, () => window.P.stop());
  await waitFor(
    async () => {
      const ps = await progress(page);
      return ps.every((p) => p.state === "open" && (!all || p.echoed >= p.post) && p.queued === 0) && ps;
    },
    timeoutMs,
    "every message sent to come back",
  );
  await sleep(all ? 300 : 1000); // the feed goes on a little, and a duplicate would show up by now
}

/**
 * Accounts for socket `sock` of a dump over all its loads: every number sent (≤ meta.post,
 * but those whose send() threw) must come back exactly once and in order, one given to send()
 * while the page died (in (post, pre]) at most once, those in `inDoubt` at least once; each
 * feed message {"n":k} must be the k-th message of its session's server → client stream
 * (echoes and feed, counted across the loads that went on with the session; a resume with
 * resumed: false starts one): any message of that stream lost, doubled or reordered before
 * it moves it.
 */
function account(sock, { inDoubt = new Set() } = {}) {
  const failures = [];
  const { meta, loads } = sock;
  const echoes = [];
  let feedOutOfPlace = 0;
  let feed = 0;
  let sessions = 0;
  // The messages of the current session received by earlier loads.
  let carried = 0;
  const bad = [];
  loads.forEach((l, i) => {
    if (!l) {
      failures.push(`load ${i + 1}: no log record`);
      return;
    }
    bad.push(...l.bad.map((b) => `load ${l.load}: ${b}`));
    // Where in this load each new session began (the messages of the load before it).
    const starts = l.resumes.filter((r) => !r.resumed).map((r) => r.gotAt);
    sessions += starts.length;
    for (const [n, at] of l.feed) {
      const start = starts.filter((g) => g < at).at(-1);
      const place = start === undefined ? carried + at : at - start;
      feed += 1;
      if (n !== place) {
        feedOutOfPlace += 1;
        if (feedOutOfPlace <= 5) failures.push(`load ${l.load}: feed {"n":${n}} arrived as message ${place} of its session`);
      }
    }
    carried = starts.length ? l.got - starts.at(-1) : carried + l.got;
    for (const n of l.echoes) echoes.push({ n, load: l.load });
  });
  if (bad.length) failures.push(`foreign or malformed messages: ${bad.slice(0, 5).join("; ")}`);
  const threw = new Set(meta.threw);
  const count = new Map();
  let last = 0;
  let duplicates = 0;
  let reordered = 0;
  let unexpected = 0;
  for (const { n, load } of echoes) {
    if (n === null || !Number.isInteger(n) || n < 1 || n > meta.pre || threw.has(n)) {
      unexpected += 1;
      if (unexpected <= 5) failures.push(`load ${load}: echo ${n} was never sent`);
      continue;
    }
    const c = (count.get(n) ?? 0) + 1;
    count.set(n, c);
    if (c > 1) {
      if (!inDoubt.has(n)) {
        duplicates += 1;
        if (duplicates <= 5) failures.push(`load ${load}: c${n} came back ${c} times`);
      }
      continue;
    }
    if (n < last && !inDoubt.has(n)) {
      reordered += 1;
      if (reordered <= 5) failures.push(`load ${load}: c${n} came back after c${last}`);
    }
    last = Math.max(last, n);
  }
  let lost = 0;
  for (let n = 1; n <= meta.post; n++) {
    if (threw.has(n) || count.has(n)) continue;
    lost += 1;
    if (lost <= 5) failures.push(`c${n} never came back`);
  }
  return { sent: meta.post, echoed: count.size, lost, duplicates, reordered, unexpected, feed, feedOutOfPlace, sessions, loads: loads.length, failures };
}

/** Asserts a clean account; prints it. */
function assertClean(name, a, { minSent = 1, minFeed = 1 } = {}) {
  console.log(`${name}: ${JSON.stringify({ ...a, failures: a.failures.length })}`);
  assert.deepEqual(a.failures, [], `${name}: ${a.failures.length} failure(s)`);
  assert.equal(a.lost + a.duplicates + a.reordered + a.unexpected + a.feedOutOfPlace, 0);
  assert.ok(a.sent >= minSent, `${name}: only ${a.sent} sent`);
  assert.equal(a.echoed, a.sent, `${name}: every message back`);
  assert.ok(a.feed >= minFeed, `${name}: only ${a.feed} feed messages`);
}

/** The first resume event of each load from `from` on (1-based). */
const firstResumes = (sock, from = 2) => sock.loads.slice(from - 1).map((l) => l.resumes[0] ?? null);

/** The welcomes the proxy saw go down, parsed. */
const welcomes = (proxy) =>
  proxy.frames.filter((f) => f.dir === "down" && f.text?.startsWith('{"t":"welcome"')).map((f) => ({ conn: f.conn, ...JSON.parse(f.text) }));

/** The page's storage record of `key` (parsed) and its message keys: `tether-ws:<key>`
 * and `tether-ws:<key><sep><n>` (the separator ":" as first specified, "#" as built). */
function stored(st, key) {
  const base = `tether-ws:${key}`;
  const record = st[base] ? JSON.parse(st[base]) : null;
  const messages = Object.keys(st).filter((k) => k.startsWith(base) && /^[:#]\d+$/.test(k.slice(base.length)));
  return { record, messages };
}

/** Every page-side check of a dump: no uncaught error in any load. */
function assertNoUncaught(d) {
  assert.deepEqual(d.uncaught, [], "no uncaught error or unhandled rejection in any load of the page");
}

// ------------------------------------------- 1. a reload mid-stream, with unacked messages

/**
 * One reload in the middle of streams both ways while the link is stalled (so that the
 * page's last messages are not acknowledged and the server's are not delivered), then the
 * link restored: with `cut`, the stalled connection (and what it holds) is thrown away, so
 * only what the page kept can bring those messages back; without, its frames arrive late.
 */
async function reloadMidStream(page, { cut, persist = "session", proxy }) {
  const log = uniqueKey("reload");
  await loadPage(page, { ws: proxy.url("/"), keys: "k", count: 100_000, every: 15, bin: 5, log, persist });
  await waitOpen(page);
  await waitEchoes(page, 30);
  proxy.stall(true);
  await sleep(500);
  const before = await evalInPage(page, () => ({ d: window.P.dump(), st: window.P.storage() }));
  await reload(page);
  if (cut) proxy.cutAll();
  proxy.stall(false);
  return { log, before };
}

browserTest(
  "a reload mid-stream, both ways, with messages unacknowledged and the old connection cut: nothing lost, nothing twice, resume restored",
  { timeout: 90_000 },
  async (page) => {
    await withResources(async (add) => {
      const server = add(await startServer({ feedMs: 30 }));
      const proxy = add(await startProxy({ upstreamPort: server.port, sniff: true }));
      const { before } = await reloadMidStream(page, { cut: true, proxy });

      // Written through before the reload (not at unload): the record and every message the
      // server had not acknowledged, the stalled ones among them.
      const s0 = before.d.socks[0];
      const load1 = s0.loads[0];
      const { record, messages } = stored(before.st, "k");
      assert.ok(record, `a record at tether-ws:k before the reload: ${JSON.stringify(Object.keys(before.st))}`);
      for (const f of ["sid", "tok", "rx", "acked"]) assert.ok(f in record, `the record has ${f}: ${JSON.stringify(record)}`);
      // (The highest seq sent: every message went out on the one connection, numbered.)
      if ("last" in record) assert.equal(record.last, s0.meta.post, "the record's last seq sent");
      else assert.equal(record.next, s0.meta.post + 1, `the record's next seq: ${JSON.stringify(record)}`);
      assert.equal(record.rx, load1.echoes.length + load1.feed.length, "rx is what the page delivered (echoes and feed, one session)");
      const unacked = s0.meta.post - record.acked;
      assert.ok(unacked >= 10, `messages unacknowledged at the reload: ${unacked} (post ${s0.meta.post}, acked ${record.acked})`);
      assert.equal(messages.length, unacked, "one stored message per message not acknowledged");
      assert.ok(s0.meta.post > load1.echoes.length + 10, "sent but not echoed at the reload");

      await waitOpen(page);
      await waitEchoes(page, 40);
      await drain(page);
      const d = await dump(page);
      assertNoUncaught(d);
      const a = account(d.socks[0]);
      assertClean("reload (cut)", a, { minSent: 60, minFeed: 30 });
      assert.equal(a.loads, 2);
      const [r1] = d.socks[0].loads[0].resumes;
      assert.equal(r1.resumed, false, "the first load began a session");
      assert.notEqual(r1.restored, true, "the first load's session did not come from storage");
      const r2 = d.socks[0].loads[1].resumes;
      assert.equal(r2.length, 1, `one resume after the reload: ${JSON.stringify(r2)}`);
      assert.deepEqual({ resumed: r2[0].resumed, restored: r2[0].restored, dropped: r2[0].dropped }, { resumed: true, restored: true, dropped: 0 });
      // The same session on the wire: the second welcome resumed the first's sid.
      const ws = welcomes(proxy);
      assert.ok(ws.length >= 2, `welcomes: ${ws.length}`);
      assert.equal(ws[0].resumed, false);
      assert.ok(ws.slice(1).every((w) => w.resumed === true && w.sid === ws[0].sid), `every later welcome resumed sid ${ws[0].sid}: ${JSON.stringify(ws)}`);
      // Nothing kept beyond what is unacknowledged once all is acknowledged.
      await sleep(400);
      const after = stored(await storage(page), "k");
      assert.equal(after.messages.length, 0, `no message left in storage once all are acknowledged: ${after.messages}`);
      assert.equal(after.record.sid, ws[0].sid);
    });
  },
);

browserTest(
  "a reload mid-stream, both ways, with the stalled connection's frames arriving after the reload: nothing lost, nothing twice",
  { timeout: 90_000 },
  async (page) => {
    await withResources(async (add) => {
      const server = add(await startServer({ feedMs: 30 }));
      const proxy = add(await startProxy({ upstreamPort: server.port, sniff: true }));
      await reloadMidStream(page, { cut: false, proxy });
      await waitOpen(page);
      await waitEchoes(page, 40);
      await drain(page);
      const d = await dump(page);
      assertNoUncaught(d);
      const a = account(d.socks[0]);
      assertClean("reload (late frames)", a, { minSent: 60, minFeed: 30 });
      const [r2] = firstResumes(d.socks[0]);
      assert.deepEqual({ resumed: r2.resumed, restored: r2.restored }, { resumed: true, restored: true });
    });
  },
);

browserTest(
  "(control) the same reload without persistence loses messages, and the accounting sees it",
  { timeout: 90_000 },
  async (page) => {
    await withResources(async (add) => {
      const server = add(await startServer({ feedMs: 30 }));
      const proxy = add(await startProxy({ upstreamPort: server.port }));
      await reloadMidStream(page, { cut: true, persist: "off", proxy });
      await waitOpen(page);
      await waitEchoes(page, 20);
      await drain(page, { all: false });
      const d = await dump(page);
      const a = account(d.socks[0]);
      console.log(`control (no persistence): ${JSON.stringify({ ...a, failures: a.failures.slice(0, 3) })}`);
      assert.ok(a.lost >= 10, `the stalled messages are lost without persistence (lost ${a.lost})`);
      assert.ok(a.feedOutOfPlace >= 1 || a.sessions >= 2, "the feed began again (a new session)");
      const [r2] = firstResumes(d.socks[0]);
      assert.equal(r2.resumed, false);
      assert.notEqual(r2.restored, true);
    });
  },
);

// ------------------------------------------------ 2. a crash-like reload: no pagehide/unload

/** Console text that means the wasm panicked or trapped (as the harness's). */
const FATAL_CONSOLE = /unreachable|panicked at|RuntimeError|memory access out of bounds/i;

/**
 * A tab of its own (the harness's page stays as it is) whose renderer the test can crash:
 * CDP `Page.crash` kills the renderer process where it stands (no pagehide, unload,
 * beforeunload, visibilitychange or freeze runs, no task finishes), and the same tab is
 * then navigated again with CDP `Page.navigate` (Playwright's Page refuses everything once
 * its page crashed, but the tab, its CDP session and its sessionStorage, which the browser
 * process holds, are still there). The page is driven through CDP `Runtime.evaluate` from
 * then on; uncaught errors are collected from Playwright (before the first crash), from
 * CDP (after), and by the page itself (its log's `uncaught`).
 */
async function openCrashTab(context) {
  const tab = await context.newPage();
  const fatal = [];
  tab.on("pageerror", (err) => fatal.push(`uncaught page error: ${err.stack || err.message}`));
  tab.on("console", (msg) => FATAL_CONSOLE.test(msg.text()) && fatal.push(`console.${msg.type()}: ${msg.text()}`));
  const cdp = await context.newCDPSession(tab);
  // (Not Inspector.targetCrashed: listening to it makes Playwright close this CDP session.)
  cdp.on("Runtime.exceptionThrown", (e) => fatal.push(`exception (CDP): ${e.exceptionDetails.exception?.description ?? e.exceptionDetails.text}`));
  cdp.on("Runtime.consoleAPICalled", (e) => {
    const text = e.args.map((a) => a.value ?? a.description ?? "").join(" ");
    if (FATAL_CONSOLE.test(text)) fatal.push(`console.${e.type} (CDP): ${text}`);
  });
  await cdp.send("Runtime.enable");
  const bounded = (p, ms, what) =>
    Promise.race([p, new Promise((_, reject) => setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms))]);
  const t = {
    page: tab,
    fatal,
    crashes: 0,
    /** `fn(arg)` in the tab's current document, by value. */
    async cdpEval(fn, arg) {
      const r = await bounded(
        cdp.send("Runtime.evaluate", { expression: `(${fn})(${JSON.stringify(arg ?? null)})`, returnByValue: true, awaitPromise: true }),
        30_000,
        "Runtime.evaluate",
      );
      if (r.exceptionDetails) throw new Error(`in the tab: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
      return r.result.value;
    },
    crashErrors: [],
    /** Kills the tab's renderer (the tab stays, crashed). */
    async crash() {
      // Page.crash never answers (the renderer dies first): its promise rejects with "Target
      // crashed" once the next command goes. A command sent before the browser has seen the
      // renderer die can break the CDP session, hence the wait.
      cdp.send("Page.crash").then(
        () => t.crashErrors.push("Page.crash answered: the renderer did not crash"),
        (e) => t.crashErrors.push(e.message),
      );
      t.crashes += 1;
      await sleep(600);
    },
    /** Navigates the (crashed) tab to `url` and waits for the persistence page's sockets. */
    async navigate(url) {
      await bounded(cdp.send("Page.navigate", { url }), 15_000, "Page.navigate");
      await cdp.send("Runtime.enable").catch(() => {});
      await waitFor(
        () => t.cdpEval(() => window.P?.ready === true || typeof window.P?.loadError === "string").catch(() => false),
        20_000,
        "the persistence page after the crash",
      );
      const err = await t.cdpEval(() => window.P.loadError ?? null);
      if (err) throw new Error(`the persistence page failed after the crash: ${err}`);
    },
    async close() {
      await cdp.detach().catch(() => {});
      await tab.close().catch(() => {});
    },
  };
  return t;
}

browserTest(
  "crash-like reloads (renderer killed, no pagehide/unload, same tab) ×5, some with messages unacknowledged: nothing lost, nothing twice",
  { timeout: 120_000 },
  async (page) => {
    await withResources(async (add) => {
      const server = add(await startServer({ feedMs: 30 }));
      const proxy = add(await startProxy({ upstreamPort: server.port, sniff: true }));
      const log = uniqueKey("crash");
      const url = pageUrl({ ws: proxy.url("/"), keys: "k", count: 100_000, every: 15, bin: 5, log });
      const tab = add(await openCrashTab(page.context()));
      await tab.page.goto(url, { timeout: 20_000 });
      await pageReady(tab.page);
      // The lifecycle counter works: a reload (not a crash) counts its pagehide and unload.
      await reload(tab.page);
      const hide0 = await tab.cdpEval(() => window.P.dump().hide);
      assert.ok(hide0.pagehide === 1 && hide0.unload === 1, `a plain reload ran pagehide and unload once: ${JSON.stringify(hide0)}`);
      const CRASHES = 5;
      const unackedAtCrash = [];
      for (let i = 0; i < CRASHES; i++) {
        await waitOpen(tab);
        await waitEchoes(tab, 20);
        const stalled = i % 2 === 0;
        if (stalled) {
          proxy.stall(true);
          await sleep(400);
        }
        const before = await tab.cdpEval(() => ({ d: window.P.dump(), st: window.P.storage() }));
        const { record, messages } = stored(before.st, "k");
        unackedAtCrash.push(messages.length);
        if (stalled) assert.ok(messages.length >= 10, `crash ${i + 1}: ${messages.length} messages kept unacknowledged (record ${JSON.stringify(record)})`);
        await tab.crash();
        if (stalled) {
          proxy.cutAll();
          proxy.stall(false);
        }
        await tab.navigate(url);
      }
      await waitOpen(tab);
      await waitEchoes(tab, 30);
      await drain(tab);
      const d = await dump(tab);
      console.log(`crash-like: ${tab.crashes} crashes, messages kept at each: ${unackedAtCrash.join(", ")}; lifecycle counts ${JSON.stringify(d.hide)}`);
      assertNoUncaught(d);
      assert.deepEqual(tab.fatal, [], "no uncaught error or wasm trap in the tab");
      assert.equal(tab.crashErrors.length, CRASHES);
      assert.ok(tab.crashErrors.every((m) => /Target crashed/.test(m)), `every Page.crash crashed the renderer: ${tab.crashErrors}`);
      assert.equal(d.page.loads, CRASHES + 2, "loads: the first, its plain reload, one per crash");
      // No lifecycle handler ran at any crash: the counts are the plain reload's.
      assert.deepEqual(d.hide, hide0, "no pagehide, unload, beforeunload, visibilitychange or freeze at a crash");
      const a = account(d.socks[0]);
      assertClean("crash-like", a, { minSent: 200, minFeed: 100 });
      for (const [i, r] of firstResumes(d.socks[0]).entries()) {
        assert.ok(r, `load ${i + 2} had a resume event`);
        assert.deepEqual({ resumed: r.resumed, restored: r.restored, dropped: r.dropped }, { resumed: true, restored: true, dropped: 0 }, `load ${i + 2}'s first resume`);
      }
      const ws = welcomes(proxy);
      assert.equal(ws.filter((w) => !w.resumed).length, 1, "one session from the first welcome on");
      assert.ok(ws.every((w) => w.sid === ws[0].sid));
    });
  },
);

// -------------------------------------------------------------- 3. fifty reloads in a row

browserTest(
  "50 reloads in a row under streams both ways (some before the resume, some stalled): every message accounted for by number",
  { timeout: 180_000 },
  async (page) => {
    await withResources(async (add) => {
      const server = add(await startServer({ feedMs: 20 }));
      const proxy = add(await startProxy({ upstreamPort: server.port, sniff: true }));
      const log = uniqueKey("fifty");
      await loadPage(page, { ws: proxy.url("/"), keys: "k", count: 1_000_000, every: 10, bin: 7, log });
      await waitOpen(page);
      const t0 = Date.now();
      const RELOADS = 50;
      const modes = { open: 0, early: 0, stalled: 0 };
      for (let i = 1; i <= RELOADS; i++) {
        // Every 5th reload soon after the page made its socket (150-210 ms: during its
        // resume, once it claimed the stored session; sooner is the test after this one),
        // every 10th with the link stalled and the old connection cut after, the rest at
        // some moment of an open connection.
        const mode = i % 10 === 0 ? "stalled" : i % 5 === 0 ? "early" : "open";
        modes[mode] += 1;
        if (mode === "early") await sleep(150 + ((i * 13) % 60));
        else {
          await waitOpen(page);
          await sleep(30 + ((i * 37) % 200));
        }
        if (mode === "stalled") {
          proxy.stall(true);
          await sleep(250);
        }
        await reload(page);
        if (mode === "stalled") {
          proxy.cutAll();
          proxy.stall(false);
        }
      }
      const reloadSecs = (Date.now() - t0) / 1000;
      await waitOpen(page);
      await waitEchoes(page, 30);
      await drain(page);
      const d = await dump(page);
      assertNoUncaught(d);
      assert.equal(d.page.loads, RELOADS + 1);
      const a = account(d.socks[0]);
      console.log(`50 reloads in ${reloadSecs.toFixed(1)} s (${JSON.stringify(modes)})`);
      assertClean("50 reloads", a, { minSent: 500, minFeed: 300 });
      const lostSessions = d.socks[0].loads.flatMap((l) => l.resumes.filter((r) => !r.resumed).map((r) => ({ load: l.load, ...r })));
      assert.equal(a.sessions, 1, `one session through every reload; began anew: ${JSON.stringify(lostSessions)}`);
      const firsts = firstResumes(d.socks[0]);
      const resumedLoads = firsts.filter(Boolean);
      assert.ok(resumedLoads.length >= RELOADS - modes.early, `loads with a resume: ${resumedLoads.length}`);
      for (const [i, r] of firsts.entries()) {
        if (r) assert.deepEqual({ resumed: r.resumed, restored: r.restored }, { resumed: true, restored: true }, `load ${i + 2}'s first resume: ${JSON.stringify(r)}`);
      }
      assert.ok(firsts.at(-1), "the last load resumed");
      const ws = welcomes(proxy);
      assert.equal(ws.filter((w) => !w.resumed).length, 1, "one welcome began a session, every other resumed it");
      assert.ok(ws.every((w) => w.sid === ws[0].sid), "one sid throughout");
      // The server's side saw the reloads: one connection (at least) per load.
      assert.ok(proxy.stats.accepted >= RELOADS, `connections: ${proxy.stats.accepted}`);
    });
  },
);

browserTest(
  "a reload within 100 ms of a load (while it claims the stored session) keeps the session: nothing lost, the next load resumes it",
  { timeout: 90_000 },
  async (page) => {
    await withResources(async (add) => {
      const server = add(await startServer({ feedMs: 30 }));
      const proxy = add(await startProxy({ upstreamPort: server.port, sniff: true }));
      const log = uniqueKey("early");
      await loadPage(page, { ws: proxy.url("/"), keys: "k", count: 100_000, every: 15, log });
      await waitOpen(page);
      await waitEchoes(page, 20);
      // Messages both ways left undelivered, then a reload, and another one at once.
      proxy.stall(true);
      await sleep(400);
      await reload(page);
      await reload(page);
      proxy.cutAll();
      proxy.stall(false);
      await waitOpen(page);
      await waitEchoes(page, 30);
      await drain(page);
      const d = await dump(page);
      assertNoUncaught(d);
      const a = account(d.socks[0]);
      const lostSessions = d.socks[0].loads.slice(1).flatMap((l) => l.resumes.filter((r) => !r.resumed).map((r) => ({ load: l.load, ...r })));
      console.log(`reload at once: ${JSON.stringify({ ...a, failures: a.failures.length })}; sessions begun anew: ${JSON.stringify(lostSessions)}`);
      assert.deepEqual(lostSessions, [], "no load after the first began a new session");
      assertClean("reload at once", a, { minSent: 40, minFeed: 20 });
      const r3 = d.socks[0].loads[2].resumes[0];
      assert.deepEqual({ resumed: r3?.resumed, restored: r3?.restored }, { resumed: true, restored: true }, "the third load resumed the first's session");
      const ws = welcomes(proxy);
      assert.ok(ws.every((w) => w.sid === ws[0].sid), `one sid: ${JSON.stringify(ws.map((w) => [w.sid, w.resumed, w.reason]))}`);
    });
  },
);

// --------------------------------------------------------------- 4. binary across a reload

browserTest(
  "binary messages (ArrayBuffer, Uint8Array, a view, a DataView; bytes 0..255) kept across reloads come back whole, as binaryType says",
  { timeout: 90_000 },
  async (page) => {
    await withResources(async (add) => {
      const server = add(await startServer({}));
      const proxy = add(await startProxy({ upstreamPort: server.port }));
      const log = uniqueKey("binary");
      const params = { ws: proxy.url("/"), keys: "bin", log, binaryType: "arraybuffer" };
      await loadPage(page, params);
      await waitOpen(page);
      // Live first: every form goes and comes back.
      for (const form of ["ab", "u8", "view", "dv"]) await evalInPage(page, (f) => window.P.send(0, 1, f), form);
      await waitEchoed(page, 4);
      /** Under a stall: every form twice and some text, kept; then a new load, the link cut. */
      const stalledThenLoad = async (nextParams, navigate) => {
        proxy.stall(true);
        await sleep(100);
        for (const form of ["ab", "u8", "view", "dv", "ab", "u8", "view", "dv"]) {
          await evalInPage(page, (f) => window.P.send(0, 1, f), form);
        }
        await evalInPage(page, () => window.P.send(0, 2));
        await sleep(200);
        const { messages } = stored(await storage(page), "bin");
        assert.equal(messages.length, 10, "the ten stalled messages kept");
        await navigate(nextParams);
        proxy.cutAll();
        proxy.stall(false);
        await waitOpen(page);
      };
      // A reload: the kept messages come back as ArrayBuffers.
      await stalledThenLoad(params, () => reload(page));
      await waitEchoed(page, 14);
      // A new load of the page with binaryType "blob": the kept messages come back as Blobs.
      await stalledThenLoad({ ...params, binaryType: "blob" }, (p) => loadPage(page, p));
      await waitEchoed(page, 24);
      await drain(page);
      await waitFor(() => dump(page).then((d) => !d.socks[0].loads.at(-1).echoes.includes(null)), 5000, "every Blob read");
      const d = await dump(page);
      assertNoUncaught(d);
      const a = account(d.socks[0]);
      assertClean("binary", a, { minSent: 24, minFeed: 0 });
      const [l1, l2, l3] = d.socks[0].loads;
      assert.equal(l1.kinds, "aaaa");
      assert.equal(l2.kinds, "aaaaaaaatt", "after the reload: the eight binary messages as ArrayBuffers, then the text");
      assert.equal(l3.kinds, "BBBBBBBBtt", "with binaryType blob: as Blobs");
      for (const l of [l2, l3]) assert.deepEqual({ resumed: l.resumes[0].resumed, restored: l.resumes[0].restored }, { resumed: true, restored: true });
      // (Each binary echo was checked byte by byte in the page: 261 bytes, socket, number, 0..255.)
      assert.deepEqual(l3.bad, []);
    });
  },
);

browserTest(
  "without a persistKey the URL is the key: the session is kept under tether-ws:<url> and taken up by the next load",
  { timeout: 60_000 },
  async (page) => {
    await withResources(async (add) => {
      const server = add(await startServer({ feedMs: 40 }));
      const proxy = add(await startProxy({ upstreamPort: server.port }));
      const log = uniqueKey("url-key");
      const url = proxy.url("/");
      await loadPage(page, { ws: url, keys: "-", log });
      await waitOpen(page);
      await evalInPage(page, () => window.P.send(0, 5));
      await waitEchoed(page, 5);
      proxy.stall(true);
      await sleep(100);
      await evalInPage(page, () => window.P.send(0, 5));
      await sleep(200);
      const st = await storage(page);
      const { record, messages } = stored(st, url);
      assert.ok(record?.sid, `a record under tether-ws:${url}: ${JSON.stringify(Object.keys(st))}`);
      assert.equal(messages.length, 5);
      await reload(page);
      proxy.cutAll();
      proxy.stall(false);
      await waitOpen(page);
      await drain(page);
      const d = await dump(page);
      assertNoUncaught(d);
      assertClean("URL as the key", account(d.socks[0]), { minSent: 10, minFeed: 5 });
      const [r] = firstResumes(d.socks[0]);
      assert.deepEqual({ resumed: r.resumed, restored: r.restored }, { resumed: true, restored: true });
    });
  },
);

// ------------------------------------------------------------------------ 5. send(Blob)

browserTest("send(Blob) throws under persistence (and nothing is kept or sent); without persistence a Blob goes", { timeout: 60_000 }, async (page) => {
  await withResources(async (add) => {
    const server = add(await startServer({}));
    const log = uniqueKey("blob");
    await loadPage(page, { ws: server.url("/"), keys: "blob", log });
    await waitOpen(page);
    await evalInPage(page, () => window.P.send(0, 2));
    const r = await evalInPage(page, () => window.P.sendBlob(0));
    assert.ok(r.threw !== undefined, `send(Blob) threw: ${JSON.stringify(r)}`);
    assert.equal(r.isError, true, "an Error");
    assert.match(r.threw, /Blob/);
    // Before the socket is open too (queued messages are kept as well).
    await evalInPage(page, () => window.P.send(0, 2));
    await drain(page);
    const d = await dump(page);
    assertNoUncaught(d);
    const a = account(d.socks[0]);
    assertClean("after send(Blob)", a, { minSent: 4, minFeed: 0 });
    assert.deepEqual(d.socks[0].loads[0].errors, [], "no error event");
    assert.deepEqual(d.socks[0].loads[0].kinds, "tttt", "only the four texts came back");
    await sleep(400);
    assert.equal(stored(await storage(page), "blob").messages.length, 0, "nothing left in storage");
    const plain = await evalInPage(page, () => window.P.plainBlob());
    assert.deepEqual(plain, { echoed: "a blob" }, "a continuity socket without persistence sends a Blob");
  });
});

// ------------------------------------------------------------ 6. storage that fails

for (const mode of ["throw", "fill", "unavailable"]) {
  const how = {
    throw: "setItem throws QuotaExceededError (Storage.prototype.setItem replaced)",
    fill: "sessionStorage really full (filled to its quota first)",
    unavailable: "window.sessionStorage throws SecurityError",
  }[mode];
  browserTest(`storage failing from the start (${how}): an error "persistence off", then exactly once without persistence, no crash`, { timeout: 60_000 }, async (page) => {
    await withResources(async (add) => {
      const server = add(await startServer({ feedMs: 25 }));
      const proxy = add(await startProxy({ upstreamPort: server.port }));
      const log = uniqueKey(`storage-${mode}`);
      await loadPage(page, { ws: proxy.url("/"), keys: "q", count: 400, every: 8, bin: 9, log, storage: mode });
      if (mode === "fill") assert.ok((await evalInPage(page, () => window.P.filled)) > 4_000_000, "the storage was filled");
      await waitOpen(page);
      const errorsNow = async () => (await dump(page)).socks[0].loads.at(-1).errors;
      await waitFor(async () => (await errorsNow()).length > 0, 5000, "an error event");
      // Continuity goes on: two cuts mid-stream are resumed without loss.
      for (let i = 0; i < 2; i++) {
        await waitEchoes(page, 50);
        assert.equal(proxy.cutAll(), 1);
        await waitOpen(page);
      }
      await waitFor(async () => (await progress(page))[0].post >= 400, 20_000, "the whole stream sent");
      await drain(page);
      const d = await dump(page);
      assertNoUncaught(d);
      const l = d.socks[0].loads[0];
      console.log(`storage ${mode}: errors ${JSON.stringify(l.errors)}; resumes ${JSON.stringify(l.resumes.map((r) => r.resumed))}`);
      assert.ok(l.errors.length >= 1 && l.errors.every((m) => m.startsWith("persistence off")), `error events: ${JSON.stringify(l.errors)}`);
      assert.equal(l.errors.length, 1, "told once");
      assertClean(`storage ${mode}`, account(d.socks[0]), { minSent: 400, minFeed: 20 });
      assert.deepEqual(l.resumes.map((r) => r.resumed), [false, true, true], "a session, resumed after each cut");
      assert.deepEqual(Object.keys(await storage(page)), [], "nothing of the library's in storage");
    });
  });
}

browserTest(
  'storage failing mid-session: "persistence off", what was kept is removed (no stale session for the next load), the stream goes on exactly once',
  { timeout: 60_000 },
  async (page) => {
    await withResources(async (add) => {
      const server = add(await startServer({ feedMs: 25 }));
      const proxy = add(await startProxy({ upstreamPort: server.port }));
      const log = uniqueKey("storage-mid");
      await loadPage(page, { ws: proxy.url("/"), keys: "m", count: 100_000, every: 10, log });
      await waitOpen(page);
      await waitEchoes(page, 30);
      proxy.stall(true);
      await sleep(200);
      assert.ok(stored(await storage(page), "m").messages.length >= 5, "messages kept while stalled");
      await evalInPage(page, () => window.P.breakStorage());
      await waitFor(async () => (await dump(page)).socks[0].loads[0].errors.length > 0, 5000, "an error event");
      proxy.cutAll();
      proxy.stall(false);
      await waitOpen(page);
      await waitEchoes(page, 50);
      await drain(page);
      const d = await dump(page);
      const l = d.socks[0].loads[0];
      assert.equal(l.errors.length, 1, `one error event: ${JSON.stringify(l.errors)}`);
      assert.match(l.errors[0], /^persistence off/);
      assertClean("storage failing mid-session", account(d.socks[0]), { minSent: 80, minFeed: 20 });
      assert.deepEqual(l.resumes.map((r) => r.resumed), [false, true], "the session resumed after the cut, from memory");
      assert.deepEqual(Object.keys(await storage(page)), [], "what was kept is removed");
      // The next load has nothing to take up: a new session, said so, not a stale resume.
      await reload(page);
      await waitOpen(page);
      const d2 = await dump(page);
      const [r2] = d2.socks[0].loads[1].resumes;
      assert.deepEqual({ resumed: r2.resumed, reason: r2.reason, restored: r2.restored }, { resumed: false, reason: "new", restored: false });
      assertNoUncaught(d2);
    });
  },
);

browserTest(
  'big messages filling sessionStorage to its real quota mid-session: "persistence off", each still delivered exactly once',
  { timeout: 60_000 },
  async (page) => {
    await withResources(async (add) => {
      const server = add(await startServer({ feedMs: 50 }));
      const proxy = add(await startProxy({ upstreamPort: server.port }));
      const log = uniqueKey("storage-big");
      await loadPage(page, { ws: proxy.url("/"), keys: "big", log });
      await waitOpen(page);
      await evalInPage(page, () => window.P.send(0, 3));
      await waitEchoed(page, 3);
      // Six messages of 900,000 characters (5.4 M in all: sessionStorage holds about 5.2 M),
      // kept while the link is stalled (the first sent, the others queued behind the window).
      proxy.stall(true);
      await sleep(100);
      for (let i = 0; i < 6; i++) await evalInPage(page, () => window.P.send(0, 1, "big:900000"));
      await evalInPage(page, () => window.P.send(0, 3));
      await waitFor(async () => (await dump(page)).socks[0].loads[0].errors.length > 0, 5000, "an error event");
      proxy.cutAll();
      proxy.stall(false);
      await waitOpen(page);
      await drain(page, { timeoutMs: 30_000 });
      const d = await dump(page);
      assertNoUncaught(d);
      const l = d.socks[0].loads[0];
      assert.equal(l.errors.length, 1, `one error event: ${JSON.stringify(l.errors)}`);
      assert.match(l.errors[0], /^persistence off/);
      assert.match(l.errors[0], /quota/i, "it says why");
      assertClean("big messages", account(d.socks[0]), { minSent: 12, minFeed: 5 });
      assert.equal(l.kinds, "tttTTTTTTttt");
      assert.deepEqual(Object.keys(await storage(page)), [], "what was kept is removed");
    });
  },
);

// ----------------------------------------------------------- 7. two sockets on one page

browserTest(
  "two sockets with different persist keys on one page: each resumes its own session across a reload, nothing crosses; the same key twice throws",
  { timeout: 90_000 },
  async (page) => {
    await withResources(async (add) => {
      const server = add(await startServer({ feedMs: 30 }));
      const proxy = add(await startProxy({ upstreamPort: server.port, sniff: true }));
      const log = uniqueKey("two");
      await loadPage(page, { ws: proxy.url("/"), keys: "alpha,beta", count: 100_000, every: 15, bin: 6, log });
      await waitOpen(page);
      await waitEchoes(page, 20);
      // The same key twice, while the first socket lives: the constructor throws.
      for (const key of ["alpha", "beta"]) {
        const r = await evalInPage(page, (k) => window.P.construct(k), key);
        assert.equal(r.isError, true, `a second socket under "${key}" throws: ${JSON.stringify(r)}`);
        assert.match(r.threw, new RegExp(key));
      }
      assert.deepEqual(await evalInPage(page, () => window.P.construct("gamma")), { ok: true }, "another key is fine");
      proxy.stall(true);
      await sleep(400);
      const st = await storage(page);
      const a0 = stored(st, "alpha");
      const b0 = stored(st, "beta");
      assert.ok(a0.record && b0.record && a0.record.sid !== b0.record.sid, "two records, two sessions");
      assert.ok(a0.messages.length >= 10 && b0.messages.length >= 10, `each keeps its unacknowledged messages: ${a0.messages.length}, ${b0.messages.length}`);
      assert.equal(stored(st, "gamma").record, null, "the freed socket left nothing");
      await reload(page);
      proxy.cutAll();
      proxy.stall(false);
      await waitOpen(page);
      await waitEchoes(page, 30);
      // The same key as a live socket's, after the reload too.
      assert.equal((await evalInPage(page, () => window.P.construct("alpha"))).isError, true);
      await drain(page);
      const d = await dump(page);
      assertNoUncaught(d);
      for (const [i, name] of [[0, "alpha"], [1, "beta"]]) {
        assertClean(name, account(d.socks[i]), { minSent: 60, minFeed: 30 });
        const [r] = firstResumes(d.socks[i]);
        assert.deepEqual({ resumed: r.resumed, restored: r.restored }, { resumed: true, restored: true }, `${name} resumed its session`);
      }
      const after = await storage(page);
      assert.equal(stored(after, "alpha").record.sid, a0.record.sid, "alpha's session is alpha's");
      assert.equal(stored(after, "beta").record.sid, b0.record.sid, "beta's session is beta's");
      const ws = welcomes(proxy);
      assert.deepEqual(new Set(ws.map((w) => w.sid)), new Set([a0.record.sid, b0.record.sid]), "two sessions on the wire, no third");
      assert.equal(ws.filter((w) => !w.resumed).length, 2);
    });
  },
);

for (const [first, second] of [["p", "p:1"], ["p", "p#1"]]) {
  browserTest(`persist keys "${first}" and "${second}" (one the other's name plus a separator and a number) never mix`, { timeout: 60_000 }, async (page) => {
    await withResources(async (add) => {
      const server = add(await startServer({ feedMs: 30 }));
      const proxy = add(await startProxy({ upstreamPort: server.port }));
      const log = uniqueKey("prefix");
      // A key the library will not take (said at construction) is an answer too.
      await loadPage(page, { ws: proxy.url("/"), keys: "probe", log: `${log}-probe` });
      const probe = await evalInPage(page, (k) => window.P.construct(k), second);
      if (probe.threw !== undefined) {
        console.log(`persist key "${second}" refused: ${probe.threw}`);
        assert.equal(probe.isError, true);
        return;
      }
      await loadPage(page, { ws: proxy.url("/"), keys: `${first},${second}`, count: 100_000, every: 15, log });
      await waitOpen(page);
      await waitEchoes(page, 20);
      proxy.stall(true);
      await sleep(400);
      await reload(page);
      proxy.cutAll();
      proxy.stall(false);
      await waitOpen(page);
      await waitEchoes(page, 20);
      await drain(page);
      const d = await dump(page);
      assertNoUncaught(d);
      for (const i of [0, 1]) {
        const l = d.socks[i].loads.at(-1);
        assert.deepEqual(l.errors, [], `"${d.socks[i].key}": no error event`);
        assertClean(`key ${d.socks[i].key}`, account(d.socks[i]), { minSent: 40, minFeed: 20 });
        const [r] = firstResumes(d.socks[i]);
        assert.deepEqual({ resumed: r.resumed, restored: r.restored }, { resumed: true, restored: true }, `"${d.socks[i].key}" resumed its own session: ${JSON.stringify(r)}`);
      }
    });
  });
}

// ------------------------------------------------ 8. the server restarted without its state

for (const resend of [true, false]) {
  browserTest(
    `a server restarted without its state between reloads: resumed false, reason "unknown", restored, ${resend ? "the 10 in doubt re-sent (resent: 10)" : "the 10 in doubt dropped (dropped: 10, drop events)"}`,
    { timeout: 90_000 },
    async (page) => {
      await withResources(async (add) => {
        const server = add(await startServer({ feedMs: 40 }));
        const proxy = add(await startProxy({ upstreamPort: server.port, sniff: true }));
        const log = uniqueKey("restart");
        await loadPage(page, { ws: proxy.url("/"), keys: "r", log, ...(resend ? {} : { resend: "0" }) });
        await waitOpen(page);
        await evalInPage(page, () => window.P.send(0, 20));
        await waitEchoed(page, 20);
        await sleep(400);
        // Ten more, numbered and sent, never acknowledged: in doubt once the session is lost.
        proxy.stall(true);
        await sleep(100);
        await evalInPage(page, () => window.P.send(0, 10));
        await sleep(200);
        const before = stored(await storage(page), "r");
        assert.equal(before.messages.length, 10, "the ten kept");
        assert.equal(before.record.acked, 20);
        const port = server.port;
        await server.stop("SIGKILL");
        await reload(page);
        proxy.cutAll();
        proxy.stall(false);
        await sleep(500); // (attempts refused meanwhile)
        add(await startServer({ port, feedMs: 40 }));
        await waitOpen(page, 20_000);
        await sleep(1000);
        const d = await dump(page);
        assertNoUncaught(d);
        const l2 = d.socks[0].loads[1];
        assert.ok(l2.resumes.length >= 1, "a resume event after the restart");
        const r = l2.resumes[0];
        console.log(`restart without state (resend ${resend}): ${JSON.stringify(r)}; drops ${JSON.stringify(l2.drops)}`);
        assert.deepEqual(
          { resumed: r.resumed, reason: r.reason, restored: r.restored, resent: r.resent, dropped: r.dropped },
          { resumed: false, reason: "unknown", restored: true, resent: resend ? 10 : 0, dropped: resend ? 0 : 10 },
        );
        const doubt = Array.from({ length: 10 }, (_, i) => 21 + i);
        if (resend) {
          // The new server never had them: each comes back once (in doubt: at least once).
          const a = account(d.socks[0], { inDoubt: new Set(doubt) });
          assertClean("restart, re-sent", a, { minSent: 30, minFeed: 5 });
          assert.equal(a.sessions, 2);
        } else {
          assert.deepEqual(l2.drops.map((x) => [x.reason, x.what]), doubt.map((n) => ["session-lost", n]), "a drop event for each, in order");
          const a = account(d.socks[0]);
          assert.equal(a.lost, 10, "those ten never came back");
          assert.equal(a.duplicates + a.reordered + a.unexpected + a.feedOutOfPlace, 0);
          assert.deepEqual(l2.echoes, [], "nothing of theirs was sent");
        }
        const ws = welcomes(proxy);
        assert.notEqual(ws.at(-1).sid, before.record.sid, "a new session");
        await sleep(400);
        const after = stored(await storage(page), "r");
        assert.equal(after.record.sid, ws.at(-1).sid, "the new session is kept");
        assert.equal(after.messages.length, 0, "and nothing of the old one");
      });
    },
  );
}

// ------------------------------------------------------------------ messages never numbered

browserTest(
  "messages queued while there is no connection (never numbered) are kept across a reload and sent once: before any session, and in a session",
  { timeout: 60_000 },
  async (page) => {
    await withResources(async (add) => {
      const server = add(await startServer({ feedMs: 40 }));
      const proxy = add(await startProxy({ upstreamPort: server.port }));
      const log = uniqueKey("queued");
      // (a) No connection ever: five queued, a reload, then the server is reachable.
      proxy.refuse(true);
      await loadPage(page, { ws: proxy.url("/"), keys: "qd", log });
      await evalInPage(page, () => window.P.send(0, 5));
      await sleep(200);
      assert.equal(stored(await storage(page), "qd").messages.length, 5, "five queued messages kept, before any session");
      await reload(page);
      proxy.refuse(false);
      await waitOpen(page);
      await waitEchoed(page, 5);
      // (b) In a session: the link refused, five more queued, a reload.
      proxy.refuse(true);
      proxy.cutAll();
      await waitFor(async () => (await progress(page))[0].state !== "open", 5000, "the socket to notice the cut");
      await evalInPage(page, () => window.P.send(0, 5));
      assert.equal((await progress(page))[0].queued, 5, "queued, not sent");
      await reload(page);
      proxy.refuse(false);
      await waitOpen(page);
      await drain(page);
      const d = await dump(page);
      assertNoUncaught(d);
      assertClean("queued across reloads", account(d.socks[0]), { minSent: 10, minFeed: 5 });
      const [r2, r3] = firstResumes(d.socks[0]);
      assert.equal(r2.resumed, false, "the second load began the first session");
      assert.notEqual(r2.restored, true);
      assert.deepEqual({ resumed: r3.resumed, restored: r3.restored }, { resumed: true, restored: true }, "the third resumed it");
    });
  },
);

// ---------------------------------------------------------------------- a duplicated tab

browserTest(
  "a duplicated tab (window.open copies sessionStorage) does not take the session over: it begins its own, the first tab's stream goes on exactly once",
  { timeout: 60_000 },
  async (page) => {
    await withResources(async (add) => {
      const server = add(await startServer({ feedMs: 30 }));
      const proxy = add(await startProxy({ upstreamPort: server.port, sniff: true }));
      const log = uniqueKey("dup");
      const params = { ws: proxy.url("/"), keys: "k", count: 100_000, every: 15, log };
      await loadPage(page, params);
      await waitOpen(page);
      await waitEchoes(page, 20);
      const sid = stored(await storage(page), "k").record.sid;
      const [copy] = await Promise.all([
        page.context().waitForEvent("page", { timeout: 10_000 }),
        evalInPage(page, (u) => void window.open(u), pageUrl({ ...params, count: 0 })),
      ]);
      add({ close: () => copy.close() });
      const errors = [];
      copy.on("pageerror", (e) => errors.push(e.message));
      await pageReady(copy);
      const copied = await evalInPage(copy, () => window.P.dump());
      assert.equal(copied.socks[0].loads.at(-1).before.record?.sid, sid, "the copy found the first tab's session in its storage");
      await waitOpen(copy);
      await waitEchoes(page, 30);
      await drain(page);
      const [dFirst, dCopy] = [await dump(page), await dump(copy)];
      assertNoUncaught(dFirst);
      assert.deepEqual(errors, []);
      const r = dCopy.socks[0].loads.at(-1).resumes[0];
      console.log(`duplicated tab: its resume ${JSON.stringify(r)}`);
      assert.equal(r.resumed, false, "the copy did not resume the first tab's session");
      assert.notEqual(r.restored, true);
      assert.notEqual(stored(await storage(copy), "k").record.sid, sid, "the copy keeps a session of its own");
      const l = dFirst.socks[0].loads.at(-1);
      assert.deepEqual(l.closes, [], "the first tab's connection was never superseded");
      assert.equal(l.resumes.length, 1);
      assertClean("the first tab", account(dFirst.socks[0]), { minSent: 50, minFeed: 30 });
      assert.equal(stored(await storage(page), "k").record.sid, sid);
    });
  },
);

// ------------------------------------------------------- the accounting itself catches it


test("the accounting catches a lost, a repeated and a reordered echo and a lost, repeated or misplaced feed message", () => {
  // A load as the page records it, from what it received in order: a number is an echo,
  // {n} a feed message {"n":n}, "new" / "resumed" a resume event.
  const load = (n, items) => {
    const l = { load: n, got: 0, echoes: [], feed: [], resumes: [], bad: [] };
    for (const x of items) {
      if (x === "new" || x === "resumed") l.resumes.push({ resumed: x === "resumed", gotAt: l.got });
      else {
        l.got += 1;
        if (typeof x === "number") l.echoes.push(x);
        else l.feed.push([x.n, l.got]);
      }
    }
    return l;
  };
  const sock = (items, { post = 5, pre = post } = {}) => ({ meta: { pre, post, threw: [] }, loads: [load(1, ["new", ...items])] });
  assert.deepEqual(account(sock([1, { n: 2 }, 2, 3, { n: 5 }, 4, 5, { n: 8 }])).failures, []);
  assert.equal(account(sock([1, 2, 4, 5, { n: 5 }])).lost, 1);
  assert.equal(account(sock([1, 2, 3, 3, 4, 5, { n: 7 }])).duplicates, 1);
  assert.equal(account(sock([1, 3, 2, 4, 5, { n: 6 }])).reordered, 1);
  assert.equal(account(sock([1, 2, 3, 4, 5, 6, { n: 7 }])).unexpected, 1);
  // A message of the server's stream lost before a feed message (here the feed message
  // {"n":4}), one that came twice, a session whose stream does not begin at 1.
  assert.equal(account(sock([1, 2, 3, 4, 5, { n: 6 }, { n: 8 }])).feedOutOfPlace, 1);
  assert.equal(account(sock([1, 2, 3, 4, 5, { n: 6 }, { n: 6 }])).feedOutOfPlace, 1);
  assert.equal(account(sock([{ n: 2 }, 1, 2, 3, 4, 5])).feedOutOfPlace, 1, "a session's stream begins at 1");
  // Across loads: the stream goes on from the messages of the loads before (a repeat in the
  // next load is a duplicate; a stream that starts over without a new session is out of place).
  const two = (second) => ({ meta: { pre: 4, post: 4, threw: [] }, loads: [load(1, ["new", 1, { n: 2 }, 2]), load(2, second)] });
  assert.deepEqual(account(two(["resumed", { n: 4 }, 3, 4, { n: 7 }])).failures, []);
  assert.deepEqual(account(two(["new", { n: 1 }, 3, 4, { n: 4 }])).failures, [], "a new session in the next load begins at 1");
  const a = account(two(["resumed", 2, { n: 1 }, 3, 4]));
  assert.equal(a.duplicates, 1);
  assert.equal(a.feedOutOfPlace, 1);
  // A new session in the middle of a load.
  assert.deepEqual(account(two(["resumed", { n: 4 }, "new", 3, { n: 2 }, 4, { n: 4 }])).failures, []);
  assert.equal(account(two(["resumed", { n: 4 }, "new", 3, { n: 5 }, 4])).feedOutOfPlace, 1);
  // One given to send() as the page died (post < pre) may be missing, not repeated.
  assert.deepEqual(account(sock([1, 2, 3, 4, { n: 5 }], { post: 4, pre: 5 })).failures, []);
  assert.equal(account(sock([1, 2, 3, 4, 5, 5, { n: 7 }], { post: 4, pre: 5 })).duplicates, 1);
});
