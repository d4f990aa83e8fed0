// Drop-in parity with reconnecting-websocket 4.x and partysocket 1.x where the two agree
// (issue #12): readyState while reconnect() replaces a socket, cheap repeated reconnect(),
// the timeout error's message, debug/debugLogger, shouldReconnectOnClose,
// drainQueuedMessages(), the warning on send() after close(), the WebSocket option, and the
// properties before the first connection.
import assert from "node:assert/strict";

import { BLACKHOLE, browserTest, evalInPage, liveObjectCount, serverStats, uniqueKey, useBrowser, waitFor, wsUrl } from "./harness.mjs";

useBrowser();

browserTest("reconnect(): readyState is CLOSING until the new socket exists; 100 calls in a row make one socket", async (page) => {
  const key = uniqueKey("reconnect-burst");
  const r = await evalInPage(
    page,
    async ({ url }) => {
      const ws = new TetherSocket(url);
      await T.nextEvent(ws, "open", 5000);
      const before = T.createdCount();
      ws.reconnect();
      const right = ws.readyState;
      const t0 = performance.now();
      for (let i = 0; i < 99; i++) ws.reconnect();
      const ms = performance.now() - t0;
      const during = ws.readyState;
      await T.nextEvent(ws, "open", 5000);
      await T.sleep(200);
      const made = T.createdCount() - before;
      const after = ws.readyState;
      ws.close();
      return { right, during, after, made, ms };
    },
    { url: wsUrl("/echo", { key }) },
  );
  console.log(`# 99 more reconnect() calls took ${r.ms.toFixed(2)} ms`);
  assert.equal(r.right, 2, "CLOSING right after reconnect(), as the peers report the old socket's state");
  assert.equal(r.during, 2);
  assert.equal(r.after, 1);
  assert.equal(r.made, 1, "a hundred reconnect() calls in one task create exactly one socket");
  const s = await waitFor(async () => {
    const s = await serverStats(key);
    return s.open === 0 && s;
  }, 5000, "every connection closed");
  assert.equal(s.connections, 2, "the first connection and the one replacement reached the server");
});

browserTest('a connection timeout fires an error event whose message is "TIMEOUT"', async (page) => {
  const r = await evalInPage(
    page,
    async ({ url }) => {
      const ws = new TetherSocket(url, [], { connectionTimeout: 200, maxRetries: 0 });
      const e = await T.nextEvent(ws, "error", 5000);
      ws.close();
      return { message: e.message, isError: e.error instanceof Error, type: e.type };
    },
    { url: BLACKHOLE },
  );
  assert.deepEqual(r, { message: "TIMEOUT", isError: true, type: "error" });
});

browserTest("debug: true logs through debugLogger with the RWS> prefix, URL query redacted", async (page) => {
  const key = uniqueKey("debug-logger");
  const r = await evalInPage(
    page,
    async ({ url }) => {
      const lines = [];
      const ws = new TetherSocket(url, [], { debug: true, debugLogger: (...args) => lines.push(args) });
      await T.nextEvent(ws, "open", 5000);
      ws.send("x");
      ws.close();
      await T.nextEvent(ws, "close", 5000);
      const quiet = [];
      const ws2 = new TetherSocket(url, [], { debugLogger: (...args) => quiet.push(args), startClosed: true });
      ws2.free();
      return { lines: JSON.stringify(lines), prefixes: [...new Set(lines.map((l) => l[0]))], quiet: quiet.length };
    },
    { url: wsUrl("/echo", { key, token: "SECRET" }) },
  );
  assert.deepEqual(r.prefixes, ["RWS>"]);
  for (const what of ["connect", "open event", "send", "close event"]) {
    assert.ok(r.lines.includes(`"${what}"`), `a "${what}" line is logged: ${r.lines}`);
  }
  assert.ok(!r.lines.includes("SECRET"), "the query string is redacted");
  assert.equal(r.quiet, 0, "without debug: true the logger is never called");
});

browserTest("shouldReconnectOnClose (partysocket's name) decides like shouldReconnect", async (page) => {
  const key = uniqueKey("should-reconnect-on-close");
  const r = await evalInPage(
    page,
    async ({ url }) => {
      const asked = [];
      const ws = new TetherSocket(url, [], {
        shouldReconnectOnClose: (e) => (asked.push(e.code), false),
        minReconnectionDelay: 10,
      });
      await T.nextEvent(ws, "close", 5000);
      await T.sleep(300);
      const state = ws.state;
      ws.free();
      return { asked, state, made: T.createdCount() };
    },
    { url: wsUrl("/close", { key, code: 4400, after: 0 }) },
  );
  assert.deepEqual(r.asked, [4400]);
  assert.equal(r.state, "closed", "false means no retry");
  assert.equal(r.made, 1);
});

browserTest("drainQueuedMessages() returns the queue in order, empties it, reports no drop", async (page) => {
  const r = await evalInPage(page, async () => {
    const ws = new TetherSocket("ws://127.0.0.1:1/", [], { startClosed: true });
    const log = T.track(ws);
    const buf = new Uint8Array([7]);
    ws.send("a");
    ws.send(buf);
    ws.send("c");
    const drained = ws.drainQueuedMessages();
    const out = {
      drained: drained.map((d) => (typeof d === "string" ? d : d === buf ? "buf" : "?")),
      queued: ws.queuedMessages,
      queuedBytes: ws.queuedBytes,
      drops: log.filter((e) => e.type === "drop").length,
      again: ws.drainQueuedMessages().length,
    };
    ws.free();
    return out;
  });
  assert.deepEqual(r, { drained: ["a", "buf", "c"], queued: 0, queuedBytes: 0, drops: 0, again: 0 });
});

browserTest("send() after close() warns once per close(), like partysocket", async (page) => {
  const warnings = [];
  page.on("console", (m) => m.type() === "warning" && warnings.push(m.text()));
  await evalInPage(page, async () => {
    const ws = new TetherSocket("ws://127.0.0.1:1/", [], { startClosed: true });
    ws.send("before close: no warning");
    ws.close();
    ws.send("1");
    ws.send("2");
    ws.reconnect();
    ws.close();
    ws.send("3");
    ws.free();
  });
  await waitFor(() => warnings.length >= 2, 2000, "two warnings").catch(() => {});
  assert.equal(warnings.length, 2, `one warning per close(): ${JSON.stringify(warnings)}`);
  assert.match(warnings[0], /send\(\) was called after close\(\)/);
});

browserTest("the WebSocket option: its class is used, read before every attempt; bad ones throw", async (page) => {
  const key = uniqueKey("websocket-option");
  const r = await evalInPage(
    page,
    async ({ url }) => {
      const made = [];
      class Counting extends window.__NativeWebSocket {
        constructor(u, p) {
          super(u, p);
          made.push("counting");
        }
      }
      class Other extends window.__NativeWebSocket {
        constructor(u, p) {
          super(u, p);
          made.push("other");
        }
      }
      const options = { WebSocket: Counting };
      const ws = new TetherSocket(url, [], options);
      await T.nextEvent(ws, "open", 5000);
      options.WebSocket = Other; // read again before the next attempt
      ws.reconnect();
      await T.nextEvent(ws, "open", 5000);
      ws.close();
      const bad = [{}, 42, "WebSocket", () => {}].map((W) => T.throwsWhat(() => new TetherSocket(url, [], { WebSocket: W })));
      return { made, bad };
    },
    { url: wsUrl("/echo", { key }) },
  );
  assert.deepEqual(r.made, ["counting", "other"]);
  for (const b of r.bad) {
    assert.equal(b.threw, true);
    assert.match(b.message, /`WebSocket`/);
  }
});

browserTest("before the first connection: url is the given URL, protocol is empty, binaryType the option's", async (page) => {
  const r = await evalInPage(page, async () => {
    const ws = new TetherSocket("ws://127.0.0.1:1/x?y=1", [], { startClosed: true, binaryType: "arraybuffer" });
    const out = { url: ws.url, protocol: ws.protocol, binaryType: ws.binaryType, readyState: ws.readyState };
    ws.free();
    return out;
  });
  assert.deepEqual(r, { url: "ws://127.0.0.1:1/x?y=1", protocol: "", binaryType: "arraybuffer", readyState: 3 });
});

browserTest("sockets closed and dropped without free() are garbage-collected (as the peers' are)", async (page) => {
  const key = uniqueKey("collected");
  await evalInPage(
    page,
    async ({ url }) => {
      const all = [];
      for (let i = 0; i < 50; i++) all.push(new TetherSocket(url));
      await Promise.all(all.map((ws) => (ws.readyState === 1 ? null : T.nextEvent(ws, "open", 10000))));
      await Promise.all(all.map((ws) => (ws.close(), T.nextEvent(ws, "close", 10000))));
      // Never opened at all, and left in the closed state from the start.
      for (let i = 0; i < 50; i++) new TetherSocket(url, [], { startClosed: true });
    },
    { url: wsUrl("/echo", { key }) },
  );
  const live = await waitFor(async () => {
    const n = await liveObjectCount(page, "window.TetherSocket.prototype");
    return n <= 2 ? { n } : null;
  }, 10000, "closed sockets collected");
  assert.ok(live.n <= 2, `${live.n} of 100 closed TetherSockets are still alive`);
});
