// Unflushed-message recovery and maxMessageBytes, in real Chromium against the real server.
//
// Recovery: a server that stops reading lets the browser's send buffer (bufferedAmount) fill
// up; when that connection drops, the messages whose bytes never left must come back, in
// order, on the next connection (reported by a `requeue` event), and none twice.
import assert from "node:assert/strict";
import { browserTest, evalInPage, serverStats, uniqueKey, useBrowser, wsUrl } from "./harness.mjs";

useBrowser();

browserTest("a drop with a full send buffer: the unsent messages go again, in order, once", { timeout: 90_000 }, async (page) => {
  const key = uniqueKey("requeue");
  const total = 300;
  const r = await evalInPage(
    page,
    async ({ stall, stallKey, echo, total }) => {
      // First connection: a server that never reads. Later ones: an echo server that records.
      let attempts = 0;
      const ws = new TetherSocket(() => (attempts++ === 0 ? stall : echo), undefined, {
        minReconnectionDelay: 100,
        maxReconnectionDelay: 500,
      });
      const requeues = [];
      ws.addEventListener("requeue", (e) => requeues.push({ count: e.count, bytes: e.bytes, queued: ws.queuedMessages }));
      const order = [];
      ws.addEventListener("requeue", () => order.push("requeue"));
      ws.addEventListener("close", () => order.push("close"));
      await T.nextEvent(ws, "open", 10_000);
      // 300 × 32 KiB ≈ 9.8 MB: far more than the kernel buffers of a loopback connection.
      const pad = "x".repeat(32 * 1024);
      let written = 0;
      for (let i = 0; i < total; i++) if (ws.send(`${i}|${pad}`)) written++;
      // Let the network take what it can, until the buffer stops shrinking.
      let last = -1;
      while (ws.bufferedAmount !== last) {
        last = ws.bufferedAmount;
        await T.sleep(300);
      }
      const bufferedBeforeDrop = ws.bufferedAmount;
      const closed = T.nextEvent(ws, "close", 10_000);
      // Only this test's connection (a bare /drop-all would cut every test's connections).
      await T.control(`/drop-all?key=${encodeURIComponent(stallKey)}`);
      const closeEvent = await closed;
      await T.nextEvent(ws, "open", 15_000);
      await T.waitFor(() => ws.queuedMessages === 0, 20_000, "the requeued messages to be flushed");
      return { written, bufferedBeforeDrop, requeues, order, closeCode: closeEvent.code };
    },
    { stall: wsUrl("/stall", { key: `${key}-stall` }), stallKey: `${key}-stall`, echo: wsUrl("/echo", { key }), total },
    80_000,
  );
  console.log(
    `recovery: buffered ${r.bufferedBeforeDrop} B at the drop, requeued ${JSON.stringify(r.requeues)}, close ${r.closeCode}`,
  );
  assert.equal(r.written, total, "every send went straight to the open socket");
  assert.ok(r.bufferedBeforeDrop > 0, "the stalled connection must leave bytes in the send buffer");
  assert.equal(r.requeues.length, 1, "one requeue event");
  const { count, bytes, queued } = r.requeues[0];
  assert.ok(count > 0 && count < total, `requeued ${count} of ${total}`);
  assert.equal(queued, count, "the requeued messages are in the queue when the event fires");
  assert.ok(bytes >= r.bufferedBeforeDrop, `requeued bytes ${bytes} cover the ${r.bufferedBeforeDrop} never sent`);
  assert.deepEqual(r.order.slice(0, 2), ["requeue", "close"], "requeue comes before the close event");

  // The echo server got exactly the last `count` messages, in order, each once.
  let stats;
  for (let i = 0; i < 100; i++) {
    stats = await serverStats(key);
    if (stats.messages.length >= count) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  const seqs = stats.messages.map((m) => Number(m.slice(0, m.indexOf("|"))));
  const expected = Array.from({ length: count }, (_, i) => total - count + i);
  assert.deepEqual(seqs, expected, "the requeued messages arrive in order, once each");
});

browserTest("maxMessageBytes: a larger message is not delivered; close 1009, then a retry", { timeout: 60_000 }, async (page) => {
  const r = await evalInPage(
    page,
    async ({ url }) => {
      const ws = new TetherSocket(url, undefined, {
        maxMessageBytes: 999,
        minReconnectionDelay: 50,
        maxReconnectionDelay: 200,
        binaryType: "arraybuffer",
      });
      const got = [];
      ws.addEventListener("message", (e) => got.push(typeof e.data === "string" ? `text:${e.data.length}` : `bin:${e.data.byteLength}`));
      const errors = [];
      ws.addEventListener("error", () => errors.push(ws.state));
      await T.nextEvent(ws, "open", 5000);
      // 999 bytes is fine; 500 × "é" is 500 UTF-16 units but 1000 UTF-8 bytes: too big.
      ws.send("a".repeat(999));
      await T.waitFor(() => got.length === 1, 5000, "the 999-byte echo");
      const retry = T.nextEvent(ws, "reconnecting", 5000);
      const closed = T.nextEvent(ws, "close", 5000);
      ws.send("é".repeat(500));
      const close = await closed;
      const reconnecting = await retry;
      await T.nextEvent(ws, "open", 5000);
      // Binary: 1000 bytes are too big as well.
      const closed2 = T.nextEvent(ws, "close", 5000);
      ws.send(new Uint8Array(1000));
      const close2 = await closed2;
      await T.nextEvent(ws, "open", 5000);
      ws.send(new Uint8Array(999));
      await T.waitFor(() => got.length === 2, 5000, "the 999-byte binary echo");
      const out = {
        got,
        errors,
        close: { code: close.code, reason: close.reason, wasClean: close.wasClean },
        close2: close2.code,
        reconnectReason: reconnecting.reason,
        state: ws.state,
      };
      ws.close();
      return out;
    },
    { url: wsUrl("/echo") },
    40_000,
  );
  assert.deepEqual(r.got, ["text:999", "bin:999"], "only messages within the limit are delivered");
  assert.deepEqual(r.close, { code: 1009, reason: "message too big", wasClean: false });
  assert.equal(r.close2, 1009);
  assert.equal(r.reconnectReason, "message-too-big");
  assert.equal(r.errors.length, 2, "an error event for each too-big message");
  assert.equal(r.state, "open");
});

browserTest("maxMessageBytes rejects bad values with a clear error", async (page) => {
  const r = await evalInPage(page, () =>
    [-1, 1.5, "10", NaN].map((v) => {
      try {
        new TetherSocket("ws://127.0.0.1:1/", undefined, { maxMessageBytes: v }).free();
        return "accepted";
      } catch (e) {
        return e instanceof Error ? e.message : `non-Error ${String(e)}`;
      }
    }),
  );
  for (const m of r) assert.match(m, /maxMessageBytes/, m);
});
