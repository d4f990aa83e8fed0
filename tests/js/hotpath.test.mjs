// The hot path makes no call into wasm (issue 18, item 1): on an open socket with nothing
// queued, `send()` writes straight to the socket and keeps the message in a ring that Core
// reads with its next input (`directWrites` / `wrote` in src/js/core.rs), and a received
// message goes straight to the listeners (no heartbeat). Counted, not argued: the test page's
// ?wasmCalls counts every call from JS into the wasm (tests/js/pages/main.mjs).
import assert from "node:assert/strict";

import { browserTest, evalInPage, serverStats, uniqueKey, useBrowser, waitFor, wsUrl } from "./harness.mjs";

useBrowser();

const N = 2000;

browserTest("on an open socket, send() and received messages make no call into wasm (one batched call per 64 sends)", { query: "?wasmCalls" }, async (page) => {
  const key = uniqueKey("hotpath");
  const r = await evalInPage(
    page,
    async ({ url, n }) => {
      const ws = new TetherSocket(url);
      await T.nextEvent(ws, "open", 5000);
      let received = 0;
      ws.addEventListener("message", () => received++);
      const beforeSends = window.wasmCalls;
      const written = [];
      for (let i = 0; i < n; i++) written.push(ws.send(`m${i}`));
      const sendCalls = window.wasmCalls - beforeSends;
      const beforeEchoes = window.wasmCalls;
      const deadline = performance.now() + 10_000;
      while (received < n && performance.now() < deadline) await T.sleep(10);
      const receiveCalls = window.wasmCalls - beforeEchoes;
      // Core hears of the writes with the next input, whole and in order: it still knows
      // them when the socket goes (a drop requeues from that log).
      const queuedAfter = ws.queuedMessages;
      ws.close();
      await T.nextEvent(ws, "close", 5000);
      ws.free();
      return { sendCalls, receiveCalls, received, allWritten: written.every((w) => w === true), queuedAfter };
    },
    { url: wsUrl("/echo", { key }), n: N },
  );
  console.log(`hot path: ${r.sendCalls} calls into wasm for ${N} sends, ${r.receiveCalls} while ${N} echoes arrived`);
  assert.equal(r.allWritten, true, "every send() on the open socket was written (true)");
  assert.equal(r.received, N, "every message came back");
  // One handover (`wrote`, `directWrites`, `buffered`) per 64 or more sends.
  assert.ok(r.sendCalls <= Math.ceil(N / 64) * 3, `${r.sendCalls} calls into wasm for ${N} sends`);
  assert.ok(r.sendCalls / N < 0.05, `${(r.sendCalls / N).toFixed(3)} calls per send`);
  // (A timer of Core's may fire meanwhile: a few calls, not one per message.)
  assert.ok(r.receiveCalls <= 10, `${r.receiveCalls} calls into wasm while ${N} messages arrived`);
  assert.equal(r.queuedAfter, 0);
  const s = await waitFor(async () => {
    const s = await serverStats(key);
    return s.messages.length >= N && s;
  }, 10_000, `${N} messages at the server`);
  assert.deepEqual(s.messages.slice(0, 3), ["m0", "m1", "m2"]);
  assert.equal(s.messages.length, N);
  assert.ok(s.messages.every((m, i) => m === `m${i}`), "in order, once each");
});

browserTest("writes made without asking Core are requeued when the socket dies with them unsent", { query: "?wasmCalls" }, async (page) => {
  // A server that reads nothing fills the browser's send buffer: bufferedAmount grows, and
  // when the socket then dies, the messages whose bytes never left go back to the outbox.
  const key = uniqueKey("hotpath-requeue");
  const r = await evalInPage(
    page,
    async ({ url, key }) => {
      const ws = new TetherSocket(url, undefined, { minReconnectionDelay: 60_000, maxReconnectionDelay: 60_000 });
      await T.nextEvent(ws, "open", 5000);
      const requeues = [];
      ws.addEventListener("requeue", (e) => requeues.push({ count: e.count, bytes: e.bytes }));
      const big = "x".repeat(64 * 1024);
      const before = window.wasmCalls;
      for (let i = 0; i < 40; i++) ws.send(big);
      const calls = window.wasmCalls - before;
      const buffered = ws.bufferedAmount;
      // The test server drops the connection (every socket of this key).
      const closed = T.nextEvent(ws, "close", 10_000);
      await T.control(`/drop-all?key=${encodeURIComponent(key)}`);
      await closed;
      const queued = ws.queuedMessages;
      ws.free();
      return { calls, buffered, requeues, queued };
    },
    { url: wsUrl("/stall", { key }), key },
  );
  console.log(`hot path: ${r.calls} calls into wasm for 40 sends into a full buffer, requeued ${JSON.stringify(r.requeues)}`);
  assert.ok(r.calls <= 3, `${r.calls} calls into wasm for 40 sends`);
  assert.ok(r.buffered > 0, "the browser still held bytes");
  assert.equal(r.requeues.length, 1, JSON.stringify(r.requeues));
  assert.ok(r.requeues[0].count >= 1 && r.requeues[0].count <= 40, JSON.stringify(r.requeues));
  assert.equal(r.queued, r.requeues[0].count, "the requeued messages wait in the outbox");
});

browserTest("with heartbeats on, received messages make no call into wasm until a heartbeat waits for its reply", { query: "?wasmCalls" }, async (page) => {
  const key = uniqueKey("hotpath-heartbeat");
  const r = await evalInPage(
    page,
    async ({ url, n }) => {
      // The echo server answers "ping" with "ping": isPong says which message is the reply.
      const ws = new TetherSocket(url, undefined, {
        heartbeat: { intervalMs: 300, timeoutMs: 1000, message: "ping", isPong: (d) => d === "ping" },
      });
      await T.nextEvent(ws, "open", 5000);
      let closes = 0;
      ws.addEventListener("close", () => closes++);
      let received = 0;
      ws.addEventListener("message", (e) => e.data !== "ping" && received++);
      const before = window.wasmCalls;
      for (let i = 0; i < n; i++) ws.send(`m${i}`);
      const deadline = performance.now() + 10_000;
      while (received < n && performance.now() < deadline) await T.sleep(5);
      const calls = window.wasmCalls - before;
      // Then heartbeats go on, each answered and seen as the reply: were one not told to
      // Core, its 1 s timeout would close the socket.
      await T.sleep(2500);
      const state = ws.state;
      ws.free();
      return { calls, received, state, closes };
    },
    { url: wsUrl("/echo", { key }), n: N },
  );
  console.log(`hot path, heartbeats on: ${r.calls} calls into wasm for ${N} sends and ${N} echoes`);
  assert.equal(r.received, N);
  assert.equal(r.state, "open", "every heartbeat was answered and seen as the reply");
  assert.equal(r.closes, 0);
  // The sends' handovers, plus a heartbeat's few calls (and its reply's) should one fall in.
  assert.ok(r.calls <= Math.ceil(N / 64) * 3 + 40, `${r.calls} calls into wasm`);
});
