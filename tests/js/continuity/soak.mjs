// The chaos soak with continuity on: a page sends a numbered stream through a
// `tether-ws/continuity` socket while the reference server echoes it back and feeds its own
// numbered stream, and a chaos proxy between them cuts every connection, stalls reads both
// ways, refuses new connections and throws away what the server sends, at random (from a
// seed), for `seconds`. Then the chaos stops, everything drains, and every message is
// accounted for by number, both ways: each client message must come back exactly once and
// in order (the echo is the server's delivery, seen by the client), and each feed message
// must arrive at its place in the session's server → client stream: the server numbers a
// feed message {"n":k} with k = its place in everything it sent the session (echoes too),
// so {"n":k} must be the k-th message the page received in that session (a lost, doubled
// or reordered echo or feed message before it moves it). A last phase restarts the server
// without its state: that must be reported (`resume` with `resumed: false`, the in-doubt
// count), never silent.
//
// Used by tests/js/continuity-soak.test.mjs (a slice) and scripts/soak.sh (2 minutes, through
// run-soak.mjs).

import { rng } from "./balancer.mjs";
import { startProxy } from "./proxy.mjs";
import { startServer } from "./server.mjs";
import { evalInPage, HTTP, sleep, waitFor } from "../harness.mjs";

/** Loads the continuity page (pkg/continuity.js), served by the test server at `http`. */
export async function openContinuityPage(page, http = HTTP) {
  await page.goto(`${http}/tests/js/continuity/page.html`, { timeout: 20_000 });
  await page.waitForFunction(() => window.ready === true || typeof window.loadError === "string", null, { timeout: 20_000 });
  const loadError = await page.evaluate(() => window.loadError);
  if (loadError) throw new Error(`the continuity page could not load /pkg/continuity.js: ${loadError}`);
}

/** In the page: a socket that sends `c<k>` every `everyMs` and records what comes back
 * (also the multi-node soak's, nodes-soak.mjs). */
export function pageStart({ url, everyMs }) {
  // `got`: messages received in the current session (echoes, feed, anything), so that each
  // feed message is recorded as [n, its place in the session's stream as the page saw it].
  const s = (window.soak = { sent: 0, got: 0, echoes: [], feed: [], sessions: 0, resumes: [], errors: [], stop: null });
  const ws = new window.TetherSocket(url, [], {
    continuity: { mode: "required", window: 64 },
    minReconnectionDelay: 20,
    maxReconnectionDelay: 400,
    connectionTimeout: 2000,
  });
  s.ws = ws;
  ws.addEventListener("resume", (e) => {
    s.resumes.push({ resumed: e.resumed, reason: e.reason, resent: e.resent, dropped: e.dropped });
    // A new session numbers its server → client stream from 1 again.
    if (!e.resumed) {
      s.feed.push("session");
      s.got = 0;
    }
  });
  ws.addEventListener("error", (e) => s.errors.push(e.message));
  ws.addEventListener("message", (e) => {
    s.got += 1;
    if (typeof e.data !== "string") return s.errors.push("binary message");
    if (e.data.startsWith("c")) s.echoes.push(Number(e.data.slice(1)));
    else if (e.data.startsWith("{")) s.feed.push([JSON.parse(e.data).n, s.got]);
    else s.errors.push(`unexpected message ${e.data.slice(0, 40)}`);
  });
  const timer = setInterval(() => ws.send(`c${++s.sent}`), everyMs);
  s.stop = () => clearInterval(timer);
}

/**
 * Accounts for the streams. `echoes`: the client numbers as they came back; `sent`: how
 * many were sent; `feed`: for each feed message `[n, at]`, its number and its place among
 * the messages the page received in its session (echoes and feed: 1 for the session's first
 * message), with "session" where a new session began; `inDoubt`: client numbers a lost
 * session made doubtful (may come back twice). A feed message must be where its number says
 * (`n === at`): any message of the server → client stream lost, doubled or reordered before
 * it (an echo as well as a feed message) moves it.
 */
export function account({ sent, echoes, feed, inDoubt = new Set() }) {
  const failures = [];
  const seen = new Set();
  let last = 0;
  let duplicates = 0;
  let reordered = 0;
  for (const n of echoes) {
    if (seen.has(n)) {
      if (!inDoubt.has(n)) {
        duplicates += 1;
        failures.push(`c${n} came back twice`);
      }
      continue;
    }
    seen.add(n);
    if (n < last && !inDoubt.has(n)) {
      reordered += 1;
      failures.push(`c${n} came back after c${last}`);
    }
    last = Math.max(last, n);
  }
  let lost = 0;
  for (let n = 1; n <= sent; n++) {
    if (!seen.has(n)) {
      lost += 1;
      if (lost <= 5) failures.push(`c${n} never came back`);
    }
  }
  // The feed: {"n":k} is the k-th message of its session's server → client stream.
  let feedDelivered = 0;
  let feedOutOfPlace = 0;
  let session = 0; // (the page marks every session's beginning, the first one's too)
  for (const entry of feed) {
    if (entry === "session") {
      session += 1;
      continue;
    }
    const [n, at] = entry;
    feedDelivered += 1;
    if (n !== at) {
      feedOutOfPlace += 1;
      if (feedOutOfPlace <= 5) {
        failures.push(`feed: {"n":${n}} arrived as message ${at} of session ${Math.max(session, 1)} (${n < at ? "a message before it came twice" : "a message before it never came"})`);
      }
    }
  }
  return { sent, delivered: seen.size, lost, duplicates, reordered, feedDelivered, feedOutOfPlace, failures };
}

/**
 * Runs the soak in `page` (a fresh page of the continuity test page) for `seconds` of chaos.
 * Returns the report: the two streams' accounts, the faults injected, the resumes seen.
 */
export async function runContinuitySoak(page, { seconds, seed = 1, everyMs = 4, log = () => {} }) {
  const random = rng(seed);
  const server = await startServer({ feedMs: 25, ttlMs: 60_000 });
  const proxy = await startProxy({ upstreamPort: server.port });
  const faults = { cuts: 0, stalls: 0, refusals: 0, discards: 0 };
  let restarted = null;
  try {
    await evalInPage(page, pageStart, { url: proxy.url("/"), everyMs });
    await waitFor(() => page.evaluate(() => window.soak.resumes.length > 0), 10_000, "the first welcome");
    const end = Date.now() + seconds * 1000;
    while (Date.now() < end) {
      await sleep(100 + random() * 900);
      const r = random();
      if (r < 0.4) {
        faults.cuts += 1;
        proxy.cutAll();
      } else if (r < 0.6) {
        faults.stalls += 1;
        proxy.stall(true);
        await sleep(200 + random() * 1500);
        proxy.stall(false);
        if (random() < 0.5) proxy.cutAll();
      } else if (r < 0.8) {
        faults.refusals += 1;
        proxy.cutAll();
        proxy.refuse(true);
        await sleep(100 + random() * 1000);
        proxy.refuse(false);
      } else {
        // Frames from the server lost in flight, acks included: then the connection dies.
        faults.discards += 1;
        proxy.discardDown(true);
        await sleep(50 + random() * 300);
        proxy.cutAll();
        proxy.discardDown(false);
      }
    }
    // Calm: stop sending, let everything come back.
    await page.evaluate(() => window.soak.stop());
    const settled = () =>
      page.evaluate(() => new Set(window.soak.echoes).size >= window.soak.sent && window.soak.ws.state === "open");
    await waitFor(settled, 30_000, "every echo back after the chaos").catch(() => {});
    await sleep(300);
    const during = await page.evaluate(() => ({ ...window.soak, ws: undefined, stop: undefined }));
    const report = { seed, seconds, faults, resumes: during.resumes, errors: during.errors };
    report.chaos = account(during);
    log(`continuity soak: ${JSON.stringify({ faults, ...report.chaos, failures: report.chaos.failures.length })}`);

    // The server restarts without its state, while messages are in flight: reported.
    const before = during.sent;
    await page.evaluate(() => {
      const s = window.soak;
      s.restartFrom = s.resumes.length;
      const timer = setInterval(() => s.ws.send(`c${++s.sent}`), 4);
      s.stop = () => clearInterval(timer);
    });
    await sleep(300);
    const port = server.port;
    await server.stop("SIGKILL");
    await sleep(200);
    restarted = await startServer({ port, feedMs: 25 });
    await sleep(500);
    await page.evaluate(() => window.soak.stop());
    const restart = await waitFor(
      () =>
        page.evaluate(() => {
          const s = window.soak;
          const lost = s.resumes.slice(s.restartFrom).find((r) => !r.resumed);
          return lost && new Set(s.echoes).size >= s.sent && s.ws.state === "open" ? { lost, s: { ...s, ws: undefined, stop: undefined } } : null;
        }),
      30_000,
      "a resume reporting the lost session, then every echo back",
    );
    // What the lost session made doubtful: the messages sent in the restart phase.
    const inDoubt = new Set();
    for (let n = before + 1; n <= restart.s.sent; n++) inDoubt.add(n);
    report.restart = { resume: restart.lost, ...account({ ...restart.s, inDoubt }) };
    return report;
  } finally {
    await page.evaluate(() => window.soak?.ws?.free()).catch(() => {});
    await proxy.close();
    await server.stop("SIGKILL");
    if (restarted) await restarted.stop("SIGKILL");
  }
}
