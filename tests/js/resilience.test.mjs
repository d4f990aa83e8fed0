// Resilience: reconnects, the outbox (queue), backoff, close() in every state, connection
// timeout, heartbeat, overflow policies, and thousands of reconnect cycles without leaks.
// Real Chromium, real server (tests/server), the npm package from pkg/.
import assert from "node:assert/strict";
import {
  BLACKHOLE,
  browserTest,
  evalInPage,
  heapAfterGc,
  liveWebSocketCount,
  serverControl,
  serverStats,
  sleep,
  uniqueKey,
  useBrowser,
  waitFor,
  wasmMemoryBytes,
  wsUrl,
} from "./harness.mjs";

useBrowser();

const range = (n, prefix) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

// ---------------------------------------------------------------------------- server down / up

browserTest("server down 1.5 s: 1,000 messages sent meanwhile arrive exactly once, in order", { timeout: 60_000 }, async (page) => {
  const key = uniqueKey("down");
  try {
    const r = await evalInPage(
      page,
      async ({ url, key }) => {
        const ws = new TetherSocket(url, undefined, {
          minReconnectionDelay: 100,
          maxReconnectionDelay: 400,
          reconnectionDelayGrowFactor: 1.5,
        });
        await T.nextEvent(ws, "open", 5000);
        const sentWhileOpen = ws.send("before");
        // Its echo says the server has it: taken down any sooner, the server may lose it in
        // flight (at most once without continuity), and this test is about the queue.
        await T.nextEvent(ws, "message", 5000);
        const closed = T.nextEvent(ws, "close", 5000);
        await T.control("/down?ms=1500");
        const closeEv = await closed;
        const results = [];
        for (let i = 0; i < 1000; i++) results.push(ws.send(`m${i}`));
        const queuedAfterSends = ws.queuedMessages;
        const queuedBytesAfterSends = ws.queuedBytes;
        const bufferedAfterSends = ws.bufferedAmount;
        const stateWhileDown = ws.state;
        let queuedInOpen = null;
        const reopened = T.nextEvent(ws, "open", 15000);
        ws.addEventListener("open", () => (queuedInOpen = ws.queuedMessages), { once: true });
        await reopened;
        const afterOpen = ws.send("after");
        return {
          sentWhileOpen,
          closeCode: closeEv.code,
          falses: results.filter((x) => x === false).length,
          trues: results.filter((x) => x === true).length,
          others: results.filter((x) => x !== true && x !== false).map(String).slice(0, 3),
          queuedAfterSends,
          queuedBytesAfterSends,
          bufferedAfterSends,
          stateWhileDown,
          queuedInOpen,
          queuedNow: ws.queuedMessages,
          afterOpen,
        };
      },
      { url: wsUrl("/echo", { key }), key },
      40_000,
    );
    console.log(`down/up: close code ${r.closeCode}, queued ${r.queuedAfterSends} (${r.queuedBytesAfterSends} bytes)`);
    assert.equal(r.sentWhileOpen, true, "send() while open returns true");
    assert.equal(r.falses, 1000, `send() while disconnected must return false (queued); got ${r.trues} true, others ${r.others}`);
    assert.ok(["reconnecting", "connecting"].includes(r.stateWhileDown), `state while down: ${r.stateWhileDown}`);
    assert.equal(r.queuedAfterSends, 1000, "queuedMessages after 1000 sends while down");
    const bytes = range(1000, "m").reduce((n, m) => n + m.length, 0);
    assert.equal(r.queuedBytesAfterSends, bytes, "queuedBytes = total UTF-8 bytes of the queued strings");
    assert.ok(r.bufferedAfterSends >= bytes, `bufferedAmount (${r.bufferedAfterSends}) must include queued bytes (${bytes})`);
    assert.equal(r.queuedInOpen, 0, "queue must be flushed before open listeners run");
    assert.equal(r.queuedNow, 0);
    assert.equal(r.afterOpen, true, "send() after reconnect returns true");
    const s = await waitFor(
      async () => {
        const s = await serverStats(key);
        return s.messages.includes("after") && s;
      },
      10_000,
      "all messages to reach the server",
    );
    assert.deepEqual(s.messages, ["before", ...range(1000, "m"), "after"], "every queued message exactly once, in order");
    assert.equal(s.maxConcurrent, 1, "never two connections at once");
  } finally {
    await serverControl("/up").catch(() => {});
  }
});

browserTest("queued messages are flushed before open listeners run", async (page) => {
  const key = uniqueKey("flush-order");
  const r = await evalInPage(
    page,
    async ({ url }) => {
      const ws = new TetherSocket(url);
      const sends = [ws.send("q1"), ws.send("q2")];
      const queued = ws.queuedMessages;
      let inOpen = null;
      ws.addEventListener("open", () => {
        inOpen = { queued: ws.queuedMessages, sent: ws.send("inside-open") };
      });
      await T.nextEvent(ws, "open", 5000);
      return { sends, queued, inOpen };
    },
    { url: wsUrl("/echo", { key }) },
  );
  assert.deepEqual(r.sends, [false, false], "send() while CONNECTING queues and returns false");
  assert.equal(r.queued, 2);
  assert.deepEqual(r.inOpen, { queued: 0, sent: true }, "in an open listener the queue is already empty");
  const s = await waitFor(async () => {
    const s = await serverStats(key);
    return s.messages.length >= 3 && s;
  }, 5000, "3 messages at the server");
  assert.deepEqual(s.messages, ["q1", "q2", "inside-open"]);
});

// ---------------------------------------------------------------------------- repeated drops

browserTest("10 abrupt drops during a continuous numbered stream: nothing queued is lost, no duplicates, order kept, one connection at a time", { timeout: 90_000 }, async (page) => {
  const key = uniqueKey("drops");
  const r = await evalInPage(
    page,
    async ({ url, key }) => {
      const ws = new TetherSocket(url, undefined, { minReconnectionDelay: 50, maxReconnectionDelay: 200 });
      const closes = [];
      const opens = [];
      ws.addEventListener("close", (e) => closes.push({ t: performance.now(), code: e.code }));
      ws.addEventListener("open", () => opens.push(performance.now()));
      await T.nextEvent(ws, "open", 5000);
      const sends = [];
      let i = 0;
      const timer = setInterval(() => {
        const id = `n${i++}`;
        sends.push({ id, direct: ws.send(id), t: performance.now() });
      }, 5);
      try {
        for (let d = 0; d < 10; d++) {
          await T.sleep(200);
          await T.control(`/drop-all?key=${encodeURIComponent(key)}`);
          await T.waitFor(() => closes.length > d, 5000, `close event for drop #${d + 1}`);
          await T.waitFor(() => ws.state === "open", 10000, `reconnect after drop #${d + 1}`);
        }
        await T.sleep(200);
      } finally {
        clearInterval(timer);
      }
      const last = `end-${i}`;
      sends.push({ id: last, direct: ws.send(last), t: performance.now() });
      return { sends, closes, last, reopenGaps: closes.map((c) => opens.find((t) => t > c.t) - c.t) };
    },
    { url: wsUrl("/echo", { key }), key },
    60_000,
  );
  const s = await waitFor(async () => {
    const s = await serverStats(key);
    return s.messages.includes(r.last) && s;
  }, 10_000, "the final message to reach the server");
  const got = s.messages;
  const index = new Map(r.sends.map((m, i) => [m.id, i]));
  const dups = got.filter((m, i) => got.indexOf(m) !== i);
  assert.deepEqual(dups, [], "no message may arrive twice");
  const positions = got.map((m) => index.get(m));
  assert.ok(!positions.includes(undefined), "server received a message that was never sent");
  for (let i = 1; i < positions.length; i++) {
    assert.ok(positions[i] > positions[i - 1], `order broken at ${got[i - 1]} → ${got[i]}`);
  }
  // A message written to a socket (send() → true) in the instant before the server cut the
  // TCP connection can be lost in flight: no client library can know. Everything queued
  // (send() → false) must arrive, and so must every direct send not just before a close.
  const received = new Set(got);
  const missing = r.sends.filter((m) => !received.has(m.id));
  const inexcusable = missing.filter(
    (m) => !m.direct || !r.closes.some((c) => c.t >= m.t && c.t - m.t <= 250),
  );
  const queued = r.sends.filter((m) => !m.direct).length;
  console.log(
    `drops: sent ${r.sends.length} (${queued} queued while reconnecting), received ${got.length}, ` +
      `lost in flight at a drop ${missing.length - inexcusable.length}, closes ${r.closes.length}, ` +
      `connections ${s.connections}, maxConcurrent ${s.maxConcurrent}`,
  );
  assert.deepEqual(inexcusable.map((m) => m.id), [], "these messages were lost although queued or not in flight at a drop");
  assert.equal(r.closes.length, 10, "one close event per drop");
  // Each drop is followed by an open within maxReconnectionDelay (200) · 1.5 + 300 ms (was:
  // no upper bound). Measured over 10 runs, close → open: 37.7–422.9 ms (99 of 100 ≤ 258;
  // the main thread is busy with a send every 5 ms, and a 400 ms limit failed once).
  console.log(`drops: close → open ${JSON.stringify(r.reopenGaps.map((g) => +g.toFixed(1)))} ms`);
  for (const [i, g] of r.reopenGaps.entries()) {
    assert.ok(g <= 200 * 1.5 + 300, `drop ${i + 1}: open ${g} ms after the close, more than maxReconnectionDelay 200 · 1.5 + 300`);
  }
  assert.ok(queued > 0, "some sends must have happened while reconnecting (test precondition)");
  assert.equal(s.maxConcurrent, 1, "never two connections at once");
  assert.equal(s.connections, 11, "1 + one reconnect per drop");
});

// ---------------------------------------------------------------------------- backoff

browserTest("backoff: delays follow min·factor^(n−1) capped at max, jittered within [d·(1−j), d], honoured by the server's connect times", { timeout: 60_000 }, async (page) => {
  const key = uniqueKey("backoff");
  const opts = { minReconnectionDelay: 200, reconnectionDelayGrowFactor: 2, maxReconnectionDelay: 1000, jitter: 0.5 };
  const r = await evalInPage(
    page,
    async ({ url, opts }) => {
      const ws = new TetherSocket(url, undefined, opts);
      const log = T.track(ws);
      await T.waitFor(() => log.filter((e) => e.type === "reconnecting").length >= 6, 20000, "6 reconnecting events");
      const retryCount = ws.retryCount;
      ws.close();
      return { log, retryCount };
    },
    { url: wsUrl("/close", { code: 4000, after: 0, key }), opts },
    30_000,
  );
  const rec = r.log.filter((e) => e.type === "reconnecting");
  console.log(`backoff: reconnecting events ${JSON.stringify(rec.map((e) => [e.attempt, Math.round(e.delayMs)]))}`);
  rec.forEach((e, i) => {
    assert.equal(e.attempt, i + 1, `reconnecting event #${i + 1}: attempt (got ${JSON.stringify(e)})`);
    assert.equal(typeof e.delayMs, "number", `reconnecting event #${i + 1}: delayMs must be a number`);
    const d = Math.min(opts.maxReconnectionDelay, opts.minReconnectionDelay * opts.reconnectionDelayGrowFactor ** i);
    const lo = d * (1 - opts.jitter) - 1;
    assert.ok(e.delayMs >= lo && e.delayMs <= d + 1, `attempt ${i + 1}: delayMs ${e.delayMs} not in [${lo + 1}, ${d}]`);
  });
  assert.ok(r.retryCount >= 6, `retryCount must count retries (got ${r.retryCount})`);
  const closes = r.log.filter((e) => e.type === "close");
  assert.ok(closes.every((c) => c.code === 4000), "every close event carries the server's code 4000");
  const s = await serverStats(key);
  const gaps = s.connectTimes.slice(1).map((t, i) => t - s.connectTimes[i]);
  console.log(`backoff: server gaps between connections ${JSON.stringify(gaps.map(Math.round))} ms`);
  assert.ok(s.connectTimes.length >= 6, `server connections: ${s.connectTimes.length}`);
  // The k-th gap is the wait before attempt k+1 ... the (k)th reconnecting event's delay.
  // Above: the delay plus the close handshake, the new socket's TCP and WebSocket handshakes
  // and the server's clock: within +50 % of delayMs plus 100 ms (was: no upper bound).
  // Measured over 10 runs, gap − delayMs: 4.8–57.4 ms.
  const slack = gaps.slice(0, rec.length).map((g, k) => g - rec[k].delayMs);
  console.log(`backoff: gap − delayMs ${JSON.stringify(slack.map((x) => +x.toFixed(1)))} ms`);
  for (let k = 0; k < Math.min(gaps.length, rec.length); k++) {
    assert.ok(gaps[k] >= rec[k].delayMs - 50, `gap ${k + 1}: ${gaps[k]} ms between connections < delayMs ${rec[k].delayMs} − 50`);
    assert.ok(gaps[k] <= rec[k].delayMs * 1.5 + 100, `gap ${k + 1}: ${gaps[k]} ms between connections > delayMs ${rec[k].delayMs} · 1.5 + 100`);
  }
});

// ---------------------------------------------------------------------------- close() in every state

/** After close(): no WebSocket constructed and no server connection for 2 s; state "closed". */
async function assertStopped(page, key, name) {
  const createdAtClose = await evalInPage(page, () => window.__createdAtClose);
  const before = key ? await serverStats(key) : null;
  await sleep(2000);
  const r = await evalInPage(page, () => ({
    created: T.createdCount() - window.__createdAtClose,
    state: window.__ws.state,
    readyState: window.__ws.readyState,
  }));
  assert.equal(r.created, 0, `${name}: ${r.created} WebSocket(s) constructed after close()`);
  assert.equal(r.state, "closed", `${name}: state after close()`);
  assert.equal(r.readyState, 3, `${name}: readyState after close()`);
  if (key) {
    const after = await serverStats(key);
    assert.equal(after.connections, before.connections, `${name}: the server saw new connections after close()`);
  }
  return createdAtClose;
}

browserTest("close() while connecting (blackhole) stops everything", async (page) => {
  const state = await evalInPage(
    page,
    async ({ url }) => {
      const ws = (window.__ws = new TetherSocket(url, undefined, { connectionTimeout: 10_000, minReconnectionDelay: 100 }));
      await T.sleep(300);
      const state = ws.state;
      ws.close();
      window.__createdAtClose = T.createdCount();
      return state;
    },
    { url: BLACKHOLE },
  );
  assert.equal(state, "connecting");
  await assertStopped(page, null, "connecting");
});

browserTest("close() while open stops everything", async (page) => {
  const key = uniqueKey("close-open");
  await evalInPage(
    page,
    async ({ url }) => {
      const ws = (window.__ws = new TetherSocket(url, undefined, { minReconnectionDelay: 100 }));
      await T.nextEvent(ws, "open", 5000);
      ws.close();
      window.__createdAtClose = T.createdCount();
    },
    { url: wsUrl("/echo", { key }) },
  );
  await sleep(300);
  await assertStopped(page, key, "open");
  const s = await serverStats(key);
  assert.equal(s.connections, 1);
  assert.deepEqual(s.closes.map((c) => c.code), [1000], "the server receives a 1000 close frame");
});

browserTest("close() while waiting to reconnect stops everything", async (page) => {
  const key = uniqueKey("close-retry");
  const state = await evalInPage(
    page,
    async ({ url }) => {
      const ws = (window.__ws = new TetherSocket(url, undefined, { minReconnectionDelay: 1000, maxReconnectionDelay: 1000 }));
      await T.nextEvent(ws, "reconnecting", 5000);
      const state = ws.state;
      ws.close();
      window.__createdAtClose = T.createdCount();
      return state;
    },
    { url: wsUrl("/close", { code: 4000, after: 0, key }) },
  );
  assert.equal(state, "reconnecting");
  await assertStopped(page, key, "reconnecting");
  assert.equal((await serverStats(key)).connections, 1);
});

browserTest("close() while closing (close() twice; reconnect() then close()) stops everything", async (page) => {
  const key = uniqueKey("close-closing");
  const r = await evalInPage(
    page,
    async ({ url }) => {
      const ws = (window.__ws = new TetherSocket(url, undefined, { minReconnectionDelay: 100 }));
      await T.nextEvent(ws, "open", 5000);
      ws.close();
      const state = ws.state;
      const second = T.throwsWhat(() => ws.close());
      window.__createdAtClose = T.createdCount();
      return { state, second };
    },
    { url: wsUrl("/echo", { key }) },
  );
  assert.equal(r.state, "closing");
  assert.equal(r.second.threw, false, `a second close() must not throw: ${r.second.message}`);
  await sleep(300);
  await assertStopped(page, key, "closing");

  const key2 = uniqueKey("reconnect-close");
  await evalInPage(
    page,
    async ({ url }) => {
      const ws = (window.__ws = new TetherSocket(url, undefined, { minReconnectionDelay: 100 }));
      await T.nextEvent(ws, "open", 5000);
      ws.reconnect();
      ws.close();
      window.__createdAtClose = T.createdCount();
    },
    { url: wsUrl("/echo", { key: key2 }) },
  );
  await sleep(300);
  await assertStopped(page, key2, "reconnect() then close()");
});

// ---------------------------------------------------------------------------- timeout, retries

browserTest("connectionTimeout 500 against a port that never answers: close/error + reconnecting, retryCount grows", { timeout: 30_000 }, async (page) => {
  const r = await evalInPage(
    page,
    async ({ url }) => {
      const t0 = performance.now();
      const ws = new TetherSocket(url, undefined, {
        connectionTimeout: 500,
        minReconnectionDelay: 100,
        maxReconnectionDelay: 200,
      });
      const log = T.track(ws);
      await T.waitFor(() => log.filter((e) => e.type === "reconnecting").length >= 3, 8000, "3 reconnecting events");
      const out = {
        log: log.map((e) => ({ ...e, t: e.t - t0 })),
        retryCount: ws.retryCount,
        created: T.createdCount(),
        createdAt: T.created.map((c) => c.t - t0),
      };
      ws.close();
      return out;
    },
    { url: BLACKHOLE },
    15_000,
  );
  const first = r.log.find((e) => e.type === "close" || e.type === "error");
  // Each attempt's life: from its socket's construction to its close event.
  const closes = r.log.filter((e) => e.type === "close");
  const lives = closes.map((c, i) => c.t - r.createdAt[i]);
  console.log(
    `timeout: first close/error at ${first && first.t.toFixed(1)} ms, attempts lived ${JSON.stringify(lives.map((l) => +l.toFixed(1)))} ms, ` +
      `retryCount ${r.retryCount}, sockets ${r.created}`,
  );
  assert.ok(first, "a close or error event must report the timed-out attempt");
  assert.ok(first.t >= 495, `the attempt must not be abandoned before connectionTimeout (at ${first.t} ms)`);
  // Within +50 % of connectionTimeout plus 100 ms (was: up to 5×). Measured over 10 runs:
  // first close/error 504.7–536.5 ms after construction, each attempt 491.7–578.5 ms from its
  // socket's construction to its close (the deadline is set when the attempt starts, the
  // socket is made a microtask later: a GC pause in between shortens the measured life).
  const upper = 500 * 1.5 + 100;
  assert.ok(first.t <= upper, `the attempt must be abandoned soon after connectionTimeout 500 (at ${first.t} ms, limit ${upper})`);
  assert.ok(lives.length >= 3, `a close event per timed-out attempt (${lives.length})`);
  for (const [i, life] of lives.entries()) {
    assert.ok(life >= 450 && life <= upper, `attempt ${i + 1} lived ${life} ms; expected within [450, ${upper}]`);
  }
  assert.ok(r.log.some((e) => e.type === "close"), "a close event must be emitted for a timed-out attempt");
  assert.ok(r.retryCount >= 2, `retryCount must grow (got ${r.retryCount})`);
  assert.ok(r.created >= 3, `a new WebSocket per attempt (got ${r.created})`);
});

browserTest("maxRetries 3: 1 + 3 connections, then closed", { timeout: 30_000 }, async (page) => {
  const key = uniqueKey("maxretries");
  const r = await evalInPage(
    page,
    async ({ url }) => {
      const ws = new TetherSocket(url, undefined, { maxRetries: 3, minReconnectionDelay: 50, maxReconnectionDelay: 100 });
      const log = T.track(ws);
      await T.sleep(3000);
      return {
        attempts: log.filter((e) => e.type === "reconnecting").map((e) => e.attempt),
        state: ws.state,
        readyState: ws.readyState,
        retryCount: ws.retryCount,
      };
    },
    { url: wsUrl("/close", { code: 4000, after: 0, key }) },
    15_000,
  );
  const s = await serverStats(key);
  assert.equal(s.connections, 4, "initial connection + maxRetries retries");
  assert.deepEqual(r.attempts, [1, 2, 3], "reconnecting events for attempts 1..3 only");
  assert.equal(r.state, "closed", "after the last retry fails the socket is closed");
  assert.equal(r.readyState, 3);
  assert.equal(r.retryCount, 3);
});

browserTest("reconnect(code, reason) closes the connection and opens a fresh one, backoff reset", async (page) => {
  const key = uniqueKey("reconnect");
  const r = await evalInPage(
    page,
    async ({ url }) => {
      const ws = new TetherSocket(url, undefined, { minReconnectionDelay: 3000, maxReconnectionDelay: 3000 });
      const log = T.track(ws);
      await T.nextEvent(ws, "open", 5000);
      const t0 = performance.now();
      ws.reconnect(4321, "again");
      await T.nextEvent(ws, "open", 5000);
      const reopenMs = performance.now() - t0;
      const next = T.nextEvent(ws, "message", 5000);
      ws.send("fresh");
      const echo = (await next).data;
      const out = { reopenMs, echo, retryCount: ws.retryCount, state: ws.state, types: log.map((e) => e.type) };
      ws.close();
      return out;
    },
    { url: wsUrl("/echo", { key }) },
  );
  assert.equal(r.echo, "fresh");
  // minReconnectionDelay is 3000: reconnect() must not wait for it. Measured over 10 runs:
  // 10.3–91.7 ms from reconnect() to the new open (was: < 2000).
  console.log(`reconnect(): reopened after ${r.reopenMs.toFixed(1)} ms`);
  assert.ok(r.reopenMs <= 300, `reconnect() must not wait for backoff (reopened after ${Math.round(r.reopenMs)} ms)`);
  assert.equal(r.retryCount, 0, "reconnect() resets the retry count");
  const s = await waitFor(async () => {
    const s = await serverStats(key);
    return s.closes.length >= 2 && s;
  }, 3000, "both close frames at the server");
  assert.equal(s.connections, 2);
  assert.deepEqual(s.closes[0], { code: 4321, reason: "again" }, "reconnect(code, reason) closes with that code and reason");
});

browserTest("startClosed: no connection until reconnect()", async (page) => {
  const key = uniqueKey("startclosed");
  const r = await evalInPage(
    page,
    async ({ url }) => {
      const ws = new TetherSocket(url, undefined, { startClosed: true });
      const initial = [ws.readyState, ws.state];
      await T.sleep(1000);
      const createdBefore = T.createdCount();
      ws.reconnect();
      await T.nextEvent(ws, "open", 5000);
      const next = T.nextEvent(ws, "message", 5000);
      ws.send("now");
      const echo = (await next).data;
      ws.close();
      return { initial, createdBefore, echo };
    },
    { url: wsUrl("/echo", { key }) },
  );
  assert.deepEqual(r.initial, [3, "closed"], "startClosed: readyState CLOSED, state closed");
  assert.equal(r.createdBefore, 0, "startClosed: no WebSocket before reconnect()");
  assert.equal(r.echo, "now");
  assert.equal((await serverStats(key)).connections, 1);
});

// ---------------------------------------------------------------------------- heartbeat

browserTest("heartbeat: a server that stops answering after 2 pings is judged dead when the third ping times out (~1 s), then reconnected", { timeout: 30_000 }, async (page) => {
  const key = uniqueKey("hb-mute");
  const r = await evalInPage(
    page,
    async ({ url }) => {
      const ws = new TetherSocket(url, undefined, {
        heartbeat: { intervalMs: 200, timeoutMs: 400, message: "ping" },
        minReconnectionDelay: 100,
        maxReconnectionDelay: 100,
      });
      const log = T.track(ws);
      await T.nextEvent(ws, "open", 5000);
      const t0 = performance.now();
      const close = await T.nextEvent(ws, "close", 6000);
      const closedAfter = performance.now() - t0;
      await T.nextEvent(ws, "open", 5000);
      ws.close();
      return { closedAfter, code: close.code, types: log.map((e) => e.type) };
    },
    { url: wsUrl("/mute", { after: 2, key }) },
    20_000,
  );
  console.log(`heartbeat: dead connection closed ${Math.round(r.closedAfter)} ms after open (code ${r.code})`);
  // Pings at 200, 400, 600 ms after open; the first two are answered, so the third one's
  // timeout (600 + 400) is the first that can pass: dead at 1000 ms. Ignoring the answers
  // would close at 600 (the first ping's timeout), ignoring only the first at 800. Upper
  // bound: + 50 % of timeoutMs + 100 ms (was: ≥ 500, ≤ 2500). Measured over 10 runs:
  // 1005–1069 ms.
  assert.ok(r.closedAfter >= 950, `closed too early (${r.closedAfter} ms): the first 2 pings were answered, death is due at 1000 ms`);
  assert.ok(r.closedAfter <= 1000 + 400 * 0.5 + 100, `closed after ${r.closedAfter} ms; expected at ~1000 ms`);
  const iClose = r.types.indexOf("close");
  assert.ok(r.types.indexOf("reconnecting", iClose) > iClose, "a reconnecting event follows the close");
  const s = await serverStats(key);
  assert.ok(s.connections >= 2, "a new connection was made");
  assert.ok(s.messages.filter((m) => m === "ping").length >= 3, `heartbeat messages sent: ${JSON.stringify(s.messages)}`);
});

browserTest("heartbeat: a live server keeps the connection open", { timeout: 30_000 }, async (page) => {
  const key = uniqueKey("hb-echo");
  const types = await evalInPage(
    page,
    async ({ url }) => {
      const ws = new TetherSocket(url, undefined, { heartbeat: { intervalMs: 200, timeoutMs: 400, message: "ping" } });
      const log = T.track(ws);
      await T.nextEvent(ws, "open", 5000);
      await T.sleep(3000);
      const types = log.map((e) => e.type);
      ws.close();
      return types;
    },
    { url: wsUrl("/echo", { key }) },
    15_000,
  );
  assert.ok(!types.includes("close"), `no close while the server answers (events: ${types.join(",")})`);
  const s = await serverStats(key);
  assert.equal(s.connections, 1);
  const pings = s.messages.filter((m) => m === "ping").length;
  assert.ok(pings >= 8, `~15 pings expected in 3 s at 200 ms, got ${pings}`);
});

// ---------------------------------------------------------------------------- overflow

for (const overflow of ["drop-oldest", "drop-newest"]) {
  browserTest(`overflow "${overflow}" with maxEnqueuedMessages 3: drop events and the right 3 delivered`, async (page) => {
    const key = uniqueKey(`overflow-${overflow}`);
    const r = await evalInPage(
      page,
      async ({ url, overflow }) => {
        const ws = new TetherSocket(url, undefined, { startClosed: true, maxEnqueuedMessages: 3, overflow });
        const log = T.track(ws);
        const sends = ["a", "b", "c", "d", "e"].map((m) => T.throwsWhat(() => ws.send(m)));
        const queued = ws.queuedMessages;
        const drops = log.filter((e) => e.type === "drop").map((e) => ({ data: e.data.value, reason: e.reason }));
        ws.reconnect();
        await T.nextEvent(ws, "open", 5000);
        await T.sleep(100);
        ws.close();
        return { sends, queued, drops };
      },
      { url: wsUrl("/echo", { key }), overflow },
    );
    assert.ok(r.sends.every((s) => !s.threw), `send() must not throw under "${overflow}": ${JSON.stringify(r.sends)}`);
    assert.equal(r.queued, 3);
    const dropped = overflow === "drop-oldest" ? ["a", "b"] : ["d", "e"];
    const kept = overflow === "drop-oldest" ? ["c", "d", "e"] : ["a", "b", "c"];
    assert.deepEqual(r.drops.map((d) => d.data), dropped, "drop events carry the discarded data");
    for (const d of r.drops) assert.ok(typeof d.reason === "string" && d.reason.length > 0, `drop event reason: ${d.reason}`);
    const s = await waitFor(async () => {
      const s = await serverStats(key);
      return s.messages.length >= 3 && s;
    }, 5000, "3 messages at the server");
    assert.deepEqual(s.messages, kept);
  });
}

browserTest('overflow "reject" with maxEnqueuedMessages 3: the 4th send() throws a clear Error', async (page) => {
  const key = uniqueKey("overflow-reject");
  const r = await evalInPage(
    page,
    async ({ url }) => {
      const ws = new TetherSocket(url, undefined, { startClosed: true, maxEnqueuedMessages: 3, overflow: "reject" });
      const sends = ["a", "b", "c", "d"].map((m) => T.throwsWhat(() => ws.send(m)));
      const queued = ws.queuedMessages;
      ws.reconnect();
      await T.nextEvent(ws, "open", 5000);
      await T.sleep(100);
      ws.close();
      return { sends, queued };
    },
    { url: wsUrl("/echo", { key }) },
  );
  assert.deepEqual(r.sends.slice(0, 3).map((s) => s.threw), [false, false, false]);
  const fourth = r.sends[3];
  assert.equal(fourth.threw, true, "the 4th send() must throw under overflow: reject");
  assert.equal(fourth.isError, true);
  assert.equal(fourth.isRuntimeError, false, `wasm trap instead of an Error: ${fourth.message}`);
  assert.match(fourth.message, /queue|full|overflow|maxEnqueued|reject/i);
  assert.equal(r.queued, 3);
  const s = await waitFor(async () => {
    const s = await serverStats(key);
    return s.messages.length >= 3 && s;
  }, 5000, "3 messages at the server");
  assert.deepEqual(s.messages, ["a", "b", "c"]);
});

browserTest("maxEnqueuedBytes 10 (drop-oldest): queuedBytes, bufferedAmount and drop events", async (page) => {
  const key = uniqueKey("overflow-bytes");
  const r = await evalInPage(
    page,
    async ({ url }) => {
      const ws = new TetherSocket(url, undefined, { startClosed: true, maxEnqueuedBytes: 10, overflow: "drop-oldest" });
      const log = T.track(ws);
      ws.send("aaaa");
      ws.send("bbbb");
      const before = [ws.queuedMessages, ws.queuedBytes];
      ws.send("cccc");
      const after = [ws.queuedMessages, ws.queuedBytes, ws.bufferedAmount];
      const drops = log.filter((e) => e.type === "drop").map((e) => e.data.value);
      ws.reconnect();
      await T.nextEvent(ws, "open", 5000);
      await T.sleep(100);
      ws.close();
      return { before, after, drops };
    },
    { url: wsUrl("/echo", { key }) },
  );
  assert.deepEqual(r.before, [2, 8]);
  assert.deepEqual(r.after, [2, 8, 8], "[queuedMessages, queuedBytes, bufferedAmount] after the oldest was dropped");
  assert.deepEqual(r.drops, ["aaaa"]);
  const s = await waitFor(async () => {
    const s = await serverStats(key);
    return s.messages.length >= 2 && s;
  }, 5000, "2 messages at the server");
  assert.deepEqual(s.messages, ["bbbb", "cccc"]);
});

// ---------------------------------------------------------------------------- leaks

// JS heap (V8 + Blink) growth allowed per reconnect cycle after the warm-up, in bytes.
// Measured over 10 runs (cycles 500 → 2,000, loaded 2-core machine): −23.6 to +92.4 B per
// cycle (V8 +23 to +31: optimised code compiled as the loop warms up, not objects; Blink −50
// to +63: its collections' backing stores shrinking and growing). Planted leaks (scratch
// builds) measured: every socket kept in an array +617 to +660 B per cycle (V8 +47, Blink
// +570 to +614), a listener never removed (added to window, holding its socket) +931 B per
// cycle. 250 sits between (2.7× the worst clean run, 2.5× under the smallest leak). A leak
// much smaller than 250 B per cycle (a bare JS object) is beyond what 1,500 cycles resolve.
const JS_HEAP_BYTES_PER_CYCLE = 250;

browserTest("2,000 connect/drop cycles: wasm memory and the JS heap do not grow, WebSockets are collected", { timeout: 200_000 }, async (page) => {
  const key = uniqueKey("cycles");
  const TARGET = 2000;
  const WARM_UP = 500;
  const setup = await evalInPage(
    page,
    ({ url }) => {
      let options;
      let used;
      for (const o of [
        { minReconnectionDelay: 0, maxReconnectionDelay: 0, jitter: 0 },
        { minReconnectionDelay: 1, maxReconnectionDelay: 1, jitter: 0 },
      ]) {
        try {
          options = o;
          window.__ws = new TetherSocket(url, undefined, { ...o, minUptime: 5000 });
          used = o;
          break;
        } catch (e) {
          console.warn(`options ${JSON.stringify(o)} rejected: ${e.message}`);
        }
      }
      if (!used) throw new Error(`no fast-reconnect options accepted (last ${JSON.stringify(options)})`);
      window.__cycles = { opens: 0, closes: 0 };
      window.__ws.addEventListener("open", () => window.__cycles.opens++);
      window.__ws.addEventListener("close", () => window.__cycles.closes++);
      return used;
    },
    { url: wsUrl("/drop", { after: 0, key }) },
  );
  const t0 = Date.now();
  const cycles = () => evalInPage(page, () => window.__cycles);
  // Stops the cycling (close(): no socket, no timer) and measures; T.created (the page's
  // construction log, one entry per socket) is emptied so that only the library counts.
  const pauseAndMeasure = async () => {
    await evalInPage(page, async () => {
      window.__ws.close();
      await T.waitFor(() => window.__ws.state === "closed", 10_000, "closed");
      T.created = [];
    });
    await sleep(100);
    return { heap: await heapAfterGc(page), wasm: await wasmMemoryBytes(page), at: (await cycles()).closes };
  };
  await waitFor(async () => (await cycles()).closes >= WARM_UP, 60_000, `${WARM_UP} connect/drop cycles`);
  const warm = await pauseAndMeasure();
  const tWarm = Date.now() - t0;
  await evalInPage(page, () => window.__ws.reconnect());
  const deadline = Date.now() + 120_000;
  let c;
  while ((c = await cycles()).closes < TARGET && Date.now() < deadline) await sleep(250);
  const end = await pauseAndMeasure();
  const elapsed = Date.now() - t0;
  const live = await liveWebSocketCount(page);
  const s = await serverStats(key);
  const measured = end.at - warm.at;
  const per = (k) => (end.heap[k] - warm.heap[k]) / measured;
  const perCycle = per("total");
  console.log(
    `cycles: options ${JSON.stringify(setup)}; ${c.closes} cycles (${c.opens} opens, ${s.connections} server connections) ` +
      `in ${elapsed} ms (${WARM_UP} in ${tWarm} ms); wasm memory after ${warm.at}: ${warm.wasm} B, at end: ${end.wasm} B ` +
      `(+${end.wasm - warm.wasm} B); JS heap (V8 + Blink) after ${warm.at}: ${warm.heap.total} B, after ${end.at}: ` +
      `${end.heap.total} B: ${perCycle.toFixed(1)} B per cycle (V8 ${per("v8").toFixed(1)}, Blink ${per("blink").toFixed(1)}); ` +
      `live WebSocket objects after GC: ${live}`,
  );
  assert.ok(c.closes >= TARGET, `only ${c.closes} cycles in 120 s`);
  assert.ok(c.opens >= TARGET * 0.9, `most cycles must reach open (opens ${c.opens})`);
  assert.ok(end.wasm <= warm.wasm + 64 * 1024, `wasm memory grew from ${warm.wasm} to ${end.wasm} bytes`);
  assert.ok(
    perCycle <= JS_HEAP_BYTES_PER_CYCLE,
    `the JS heap (V8 + Blink) grew by ${perCycle.toFixed(1)} B per cycle over ${measured} cycles after the warm-up ` +
      `(${warm.heap.total} → ${end.heap.total} B; V8 ${per("v8").toFixed(1)}, Blink ${per("blink").toFixed(1)} B per cycle); ` +
      `allowed ${JS_HEAP_BYTES_PER_CYCLE}`,
  );
  assert.ok(live <= 2, `${live} WebSocket objects still alive after GC`);
});
