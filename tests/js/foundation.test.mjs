// Foundation: the TetherSocket JS API as a WebSocket drop-in (design.md, "JS API").
// Real Chromium, real server (tests/server), the npm package from pkg/.
import assert from "node:assert/strict";
import net from "node:net";
import {
  BLACKHOLE,
  browserTest,
  evalInPage,
  serverStats,
  sleep,
  uniqueKey,
  useBrowser,
  waitFor,
  wsUrl,
} from "./harness.mjs";

useBrowser();

/** Port with nothing listening (connections are refused); checked before use. */
const REFUSED_PORT = 8799;
async function assertPortRefuses(port) {
  await new Promise((resolve, reject) => {
    const s = net.connect({ host: "127.0.0.1", port });
    s.once("connect", () => {
      s.destroy();
      reject(new Error(`something listens on 127.0.0.1:${port}; this test needs it free`));
    });
    s.once("error", () => resolve());
  });
}

// ---------------------------------------------------------------------------- echo

browserTest("echo: a text message goes to the server and comes back as a MessageEvent", async (page) => {
  const key = uniqueKey("echo-text");
  const r = await evalInPage(
    page,
    async ({ url }) => {
      const ws = new TetherSocket(url);
      await T.nextEvent(ws, "open", 5000);
      const sent = ws.send("hello ✓ 🌍");
      const ev = await T.nextEvent(ws, "message", 5000);
      const out = {
        sent,
        data: ev.data,
        isMessageEvent: ev instanceof MessageEvent,
        type: ev.type,
      };
      ws.close();
      return out;
    },
    { url: wsUrl("/echo", { key }) },
  );
  assert.equal(r.sent, true, "send() on an OPEN socket must return true (written to the socket)");
  assert.equal(r.data, "hello ✓ 🌍");
  assert.equal(r.isMessageEvent, true, "the message event must be a MessageEvent");
  assert.equal(r.type, "message");
  const s = await serverStats(key);
  assert.deepEqual(s.messages, ["hello ✓ 🌍"], "server must have received exactly the one text message");
  assert.equal(s.connections, 1);
});

browserTest('echo: binary with binaryType "arraybuffer" (ArrayBuffer, Uint8Array view, DataView, Blob)', async (page) => {
  const key = uniqueKey("echo-ab");
  const r = await evalInPage(
    page,
    async ({ url }) => {
      const ws = new TetherSocket(url, undefined, { binaryType: "arraybuffer" });
      const binaryTypeAtStart = ws.binaryType;
      await T.nextEvent(ws, "open", 5000);
      const big = new Uint8Array(16).map((_, i) => i * 3);
      const payloads = [
        ["ArrayBuffer", new Uint8Array([0, 1, 2, 255, 128]).buffer],
        ["Uint8Array view (bytes 4..8 of a 16-byte buffer)", big.subarray(4, 9)],
        ["DataView (bytes 10..12)", new DataView(big.buffer, 10, 3)],
        ["Blob", new Blob([new Uint8Array([9, 8, 7])])],
      ];
      const out = [];
      for (const [name, data] of payloads) {
        const next = T.nextEvent(ws, "message", 5000);
        ws.send(data);
        const ev = await next;
        out.push({
          name,
          isArrayBuffer: ev.data instanceof ArrayBuffer,
          got: T.describeData(ev.data),
        });
      }
      ws.close();
      return { binaryTypeAtStart, out };
    },
    { url: wsUrl("/echo", { key }) },
  );
  assert.equal(r.binaryTypeAtStart, "arraybuffer", "binaryType option must be reflected by the property");
  const expected = [[0, 1, 2, 255, 128], [12, 15, 18, 21, 24], [30, 33, 36], [9, 8, 7]];
  r.out.forEach((o, i) => {
    assert.equal(o.isArrayBuffer, true, `${o.name}: echo must arrive as an ArrayBuffer, got ${JSON.stringify(o.got)}`);
    assert.deepEqual(o.got.bytes, expected[i], `${o.name}: only the view's bytes must be sent`);
  });
  const s = await serverStats(key);
  assert.equal(s.binaryMessages, 4, "server binary message count");
  assert.equal(s.binaryBytes, 5 + 5 + 3 + 3, "server binary byte count (a view sends only its own bytes)");
});

browserTest('echo: binary with binaryType "blob" (default) and switching the property', async (page) => {
  const key = uniqueKey("echo-blob");
  const r = await evalInPage(
    page,
    async ({ url }) => {
      const ws = new TetherSocket(url);
      const defaultType = ws.binaryType;
      await T.nextEvent(ws, "open", 5000);
      let next = T.nextEvent(ws, "message", 5000);
      ws.send(new Uint8Array([1, 2, 3, 4]).buffer);
      let ev = await next;
      const first = {
        isBlob: ev.data instanceof Blob,
        bytes: ev.data instanceof Blob ? Array.from(new Uint8Array(await ev.data.arrayBuffer())) : null,
      };
      next = T.nextEvent(ws, "message", 5000);
      ws.send(new Blob(["AB"]));
      ev = await next;
      const second = {
        isBlob: ev.data instanceof Blob,
        bytes: ev.data instanceof Blob ? Array.from(new Uint8Array(await ev.data.arrayBuffer())) : null,
      };
      ws.binaryType = "arraybuffer";
      const switched = ws.binaryType;
      next = T.nextEvent(ws, "message", 5000);
      ws.send(new Uint8Array([5, 6]));
      ev = await next;
      const third = { isArrayBuffer: ev.data instanceof ArrayBuffer, got: T.describeData(ev.data) };
      ws.binaryType = "blob";
      const back = ws.binaryType;
      ws.close();
      return { defaultType, first, second, switched, third, back };
    },
    { url: wsUrl("/echo", { key }) },
  );
  assert.equal(r.defaultType, "blob", 'default binaryType must be "blob" (as WebSocket)');
  assert.equal(r.first.isBlob, true, "with binaryType blob, binary messages must arrive as Blob");
  assert.deepEqual(r.first.bytes, [1, 2, 3, 4]);
  assert.equal(r.second.isBlob, true);
  assert.deepEqual(r.second.bytes, [65, 66], "a Blob payload must be sent as its bytes");
  assert.equal(r.switched, "arraybuffer", "setting binaryType must be reflected");
  assert.equal(r.third.isArrayBuffer, true, "after ws.binaryType = 'arraybuffer', messages must be ArrayBuffers");
  assert.deepEqual(r.third.got.bytes, [5, 6]);
  assert.equal(r.back, "blob");
});

// ---------------------------------------------------------------------------- subprotocols

browserTest("subprotocol: a string and a string[] are offered; `protocol` is the server's choice", async (page) => {
  const key = uniqueKey("proto");
  const r = await evalInPage(
    page,
    async ({ url }) => {
      const results = [];
      for (const protocols of ["chat.v1", ["b.v2", "a.v1"]]) {
        const ws = new TetherSocket(url, protocols);
        const firstMessage = T.nextEvent(ws, "message", 5000);
        const before = ws.protocol;
        await T.nextEvent(ws, "open", 5000);
        const atOpen = ws.protocol;
        const ev = await firstMessage;
        results.push({ before, atOpen, reply: ev.data });
        ws.close();
        await T.nextEvent(ws, "close", 5000);
      }
      return results;
    },
    { url: wsUrl("/proto", { key }) },
  );
  assert.equal(r[0].before, "", "protocol must be empty before the connection opens");
  assert.equal(r[0].atOpen, "chat.v1");
  assert.equal(r[0].reply, "protocol:chat.v1");
  assert.equal(r[1].atOpen, "b.v2", "the server picks the first offered protocol, in the order given");
  assert.equal(r[1].reply, "protocol:b.v2");
  const s = await serverStats(key);
  assert.deepEqual(s.protocols, ["chat.v1", "b.v2"]);
});

// ---------------------------------------------------------------------------- properties, states

browserTest("url, readyState, constants, state and statechange events over open → close", async (page) => {
  const key = uniqueKey("states");
  const url = wsUrl("/echo", { key });
  const r = await evalInPage(
    page,
    async ({ url }) => {
      const ws = new TetherSocket(url);
      const changes = [];
      ws.addEventListener("statechange", (ev) =>
        changes.push({ from: ev.from, to: ev.to, stateInListener: ws.state }),
      );
      const r = {
        url: ws.url,
        statics: [TetherSocket.CONNECTING, TetherSocket.OPEN, TetherSocket.CLOSING, TetherSocket.CLOSED],
        instance: [ws.CONNECTING, ws.OPEN, ws.CLOSING, ws.CLOSED],
        initial: [ws.readyState, ws.state],
      };
      await T.nextEvent(ws, "open", 5000);
      r.open = [ws.readyState, ws.state];
      const closed = T.nextEvent(ws, "close", 5000);
      ws.close();
      r.afterClose = [ws.readyState, ws.state];
      const ev = await closed;
      r.closeEvent = { code: ev.code, wasClean: ev.wasClean };
      await T.sleep(50);
      r.final = [ws.readyState, ws.state];
      r.urlAfter = ws.url;
      r.changes = changes;
      return r;
    },
    { url },
  );
  assert.equal(r.url, url, "url property must be the URL given");
  assert.equal(r.urlAfter, url);
  assert.deepEqual(r.statics, [0, 1, 2, 3], "static CONNECTING/OPEN/CLOSING/CLOSED");
  assert.deepEqual(r.instance, [0, 1, 2, 3], "instance CONNECTING/OPEN/CLOSING/CLOSED");
  assert.deepEqual(r.initial, [0, "connecting"], "right after construction: readyState 0, state 'connecting'");
  assert.deepEqual(r.open, [1, "open"], "after open");
  assert.deepEqual(r.afterClose, [2, "closing"], "right after close(): readyState CLOSING, state 'closing'");
  assert.deepEqual(r.final, [3, "closed"], "after the close event");
  assert.equal(r.closeEvent.code, 1000, "close() without a code closes with 1000");
  assert.equal(r.closeEvent.wasClean, true);
  assert.deepEqual(
    r.changes.map((c) => `${c.from}->${c.to}`),
    ["connecting->open", "open->closing", "closing->closed"],
    "statechange events {from, to}",
  );
  for (const c of r.changes) {
    assert.equal(c.stateInListener, c.to, "inside a statechange listener, ws.state must already be `to`");
  }
});

// ---------------------------------------------------------------------------- closes

browserTest('server close 4001 "bye" → close event {code 4001, reason "bye", wasClean true}, then reconnecting', async (page) => {
  const key = uniqueKey("close4001");
  const r = await evalInPage(
    page,
    async ({ url }) => {
      const ws = new TetherSocket(url, undefined, {
        minReconnectionDelay: 3000,
        maxReconnectionDelay: 3000,
      });
      const ev = await T.nextEvent(ws, "close", 5000);
      const isCloseEventLike = "code" in ev && "reason" in ev && "wasClean" in ev;
      await T.waitFor(() => ws.state === "reconnecting", 2000, 'state "reconnecting" after a server close');
      const out = {
        code: ev.code,
        reason: ev.reason,
        wasClean: ev.wasClean,
        isCloseEventLike,
        state: ws.state,
        readyState: ws.readyState,
      };
      ws.close();
      return out;
    },
    { url: wsUrl("/close", { code: 4001, reason: "bye", after: 0, key }) },
  );
  assert.equal(r.isCloseEventLike, true, "close event must carry code, reason, wasClean");
  assert.equal(r.code, 4001);
  assert.equal(r.reason, "bye");
  assert.equal(r.wasClean, true);
  assert.equal(r.state, "reconnecting", "a server close is not final: the socket reconnects");
  assert.equal(r.readyState, 0, "readyState is CONNECTING while waiting to retry");
});

browserTest("abrupt TCP drop (no close frame) → close event code 1006, wasClean false", async (page) => {
  const key = uniqueKey("drop");
  const r = await evalInPage(
    page,
    async ({ url }) => {
      const ws = new TetherSocket(url, undefined, { minReconnectionDelay: 3000, maxReconnectionDelay: 3000 });
      const ev = await T.nextEvent(ws, "close", 5000);
      const out = { code: ev.code, wasClean: ev.wasClean };
      ws.close();
      return out;
    },
    { url: wsUrl("/drop", { after: 0, key }) },
  );
  assert.equal(r.code, 1006);
  assert.equal(r.wasClean, false);
});

// ---------------------------------------------------------------------------- listeners

browserTest("onopen / onmessage / onclose / onerror properties", async (page) => {
  await assertPortRefuses(REFUSED_PORT);
  const key = uniqueKey("onprops");
  const r = await evalInPage(
    page,
    async ({ url, refusedUrl }) => {
      const ws = new TetherSocket(url);
      const calls = [];
      const onopen = () => {
        calls.push("open");
        ws.send("x");
      };
      const onmessage = (e) => {
        calls.push(`message:${e.data}`);
        ws.close(1000, "done");
      };
      const onclose = (e) => calls.push(`close:${e.code}`);
      const initial = [ws.onopen, ws.onmessage, ws.onclose, ws.onerror];
      ws.onopen = onopen;
      ws.onmessage = onmessage;
      ws.onclose = onclose;
      const getters = [ws.onopen === onopen, ws.onmessage === onmessage, ws.onclose === onclose];
      await T.waitFor(() => calls.some((c) => c.startsWith("close")), 5000, "onclose to be called");

      // onerror: a connection to a port that refuses TCP.
      const bad = new TetherSocket(refusedUrl, undefined, { minReconnectionDelay: 5000, maxReconnectionDelay: 5000 });
      let errors = 0;
      let errorEventType = null;
      const onerror = (e) => {
        errors += 1;
        errorEventType = e.type;
      };
      bad.onerror = onerror;
      const errorGetter = bad.onerror === onerror;
      await T.waitFor(() => errors > 0, 5000, "onerror to be called for a refused connection");
      bad.close();

      // Setting a handler to null removes it.
      const ws2 = new TetherSocket(url);
      let got = 0;
      ws2.onmessage = () => got++;
      ws2.onmessage = null;
      const nulled = ws2.onmessage;
      await T.nextEvent(ws2, "open", 5000);
      const echoed = T.nextEvent(ws2, "message", 5000);
      ws2.send("y");
      await echoed;
      await T.sleep(50);
      ws2.close();
      return {
        calls,
        initial: initial.map((v) => v === null || v === undefined),
        getters,
        errorGetter,
        errors,
        errorEventType,
        nulled,
        got,
      };
    },
    { url: wsUrl("/echo", { key }), refusedUrl: `ws://127.0.0.1:${REFUSED_PORT}/` },
  );
  assert.deepEqual(r.initial, [true, true, true, true], "on* handlers start as null");
  assert.deepEqual(r.getters, [true, true, true], "on* getters return the handler that was set");
  assert.deepEqual(r.calls, ["open", "message:x", "close:1000"], "on* handlers called in order");
  assert.equal(r.errorGetter, true);
  assert.ok(r.errors >= 1, "onerror must be called for a refused connection");
  assert.equal(r.errorEventType, "error");
  assert.equal(r.nulled, null, "onmessage = null must read back as null");
  assert.equal(r.got, 0, "a handler replaced by null must not be called");
});

browserTest("addEventListener: functions, {handleEvent} objects, once, removeEventListener, no duplicates", async (page) => {
  const key = uniqueKey("listeners");
  const r = await evalInPage(
    page,
    async ({ url }) => {
      const ws = new TetherSocket(url);
      const counts = { fn: 0, obj: 0, once: 0, removed: 0, removedObj: 0, dup: 0 };
      let thisIsObject = null;
      const fn = () => counts.fn++;
      const obj = {
        handleEvent(e) {
          counts.obj++;
          thisIsObject = this === obj && e.type === "message";
        },
      };
      const once = () => counts.once++;
      const removed = () => counts.removed++;
      const removedObj = { handleEvent: () => counts.removedObj++ };
      const dup = () => counts.dup++;
      ws.addEventListener("message", fn);
      ws.addEventListener("message", obj);
      ws.addEventListener("message", once, { once: true });
      ws.addEventListener("message", removed);
      ws.addEventListener("message", removedObj);
      ws.addEventListener("message", dup);
      ws.addEventListener("message", dup); // same listener twice: called once (DOM rule)
      ws.removeEventListener("message", removed);
      ws.removeEventListener("message", removedObj);
      await T.nextEvent(ws, "open", 5000);
      for (const m of ["a", "b", "c"]) {
        const next = T.nextEvent(ws, "message", 5000);
        ws.send(m);
        await next;
      }
      await T.sleep(50);
      ws.close();
      return { counts, thisIsObject };
    },
    { url: wsUrl("/echo", { key }) },
  );
  assert.equal(r.counts.fn, 3, "function listener: once per message");
  assert.equal(r.counts.obj, 3, "{handleEvent} listener: once per message");
  assert.equal(r.thisIsObject, true, "handleEvent is called with `this` = the listener object");
  assert.equal(r.counts.once, 1, "{once: true} listener: only the first message");
  assert.equal(r.counts.removed, 0, "removed function listener must not be called");
  assert.equal(r.counts.removedObj, 0, "removed {handleEvent} listener must not be called");
  assert.equal(r.counts.dup, 3, "a listener added twice is called once per event");
});

// ---------------------------------------------------------------------------- url as a function

browserTest("url as a function (sync and async) is called before every connect attempt", async (page) => {
  const key = uniqueKey("urlfn");
  const r = await evalInPage(
    page,
    async ({ url }) => {
      const out = {};
      let syncCalls = 0;
      const a = new TetherSocket(() => {
        syncCalls++;
        return url;
      });
      await T.nextEvent(a, "open", 5000);
      let next = T.nextEvent(a, "message", 5000);
      a.send("sync-fn");
      out.syncEcho = (await next).data;
      a.reconnect();
      await T.nextEvent(a, "open", 5000);
      out.syncCalls = syncCalls;
      a.close();

      let asyncCalls = 0;
      const b = new TetherSocket(async () => {
        asyncCalls++;
        await T.sleep(20);
        return url;
      });
      await T.nextEvent(b, "open", 5000);
      next = T.nextEvent(b, "message", 5000);
      b.send("async-fn");
      out.asyncEcho = (await next).data;
      out.asyncCalls = asyncCalls;
      b.close();
      return out;
    },
    { url: wsUrl("/echo", { key }) },
  );
  assert.equal(r.syncEcho, "sync-fn");
  assert.equal(r.syncCalls, 2, "the url function must be called once per connect attempt (initial + reconnect())");
  assert.equal(r.asyncEcho, "async-fn");
  assert.equal(r.asyncCalls, 1);
});

// ---------------------------------------------------------------------------- free()

browserTest("free() while open closes the connection and stops everything", async (page) => {
  const key = uniqueKey("free-open");
  await evalInPage(
    page,
    async ({ url }) => {
      const ws = new TetherSocket(url, undefined, { minReconnectionDelay: 100, maxReconnectionDelay: 200 });
      await T.nextEvent(ws, "open", 5000);
      window.__created = T.createdCount();
      ws.free();
    },
    { url: wsUrl("/echo", { key }) },
  );
  await waitFor(async () => (await serverStats(key)).open === 0, 5000, "the server to see the connection closed after free()");
  await sleep(2000);
  const s = await serverStats(key);
  assert.equal(s.connections, 1, "no new connection may be made after free()");
  const created = await evalInPage(page, () => T.createdCount() - window.__created);
  assert.equal(created, 0, "no WebSocket may be constructed after free()");
});

browserTest("free() while waiting to reconnect cancels the retry", async (page) => {
  const key = uniqueKey("free-retry");
  const r = await evalInPage(
    page,
    async ({ url }) => {
      const ws = new TetherSocket(url, undefined, { minReconnectionDelay: 500, maxReconnectionDelay: 500 });
      await T.nextEvent(ws, "reconnecting", 5000);
      const state = ws.state;
      const created = T.createdCount();
      ws.free();
      await T.sleep(2000);
      return { state, newSockets: T.createdCount() - created };
    },
    { url: wsUrl("/close", { code: 4000, after: 0, key }) },
    10_000,
  );
  assert.equal(r.state, "reconnecting");
  assert.equal(r.newSockets, 0, "no WebSocket may be constructed after free()");
  const s = await serverStats(key);
  assert.equal(s.connections, 1, "the pending retry must be cancelled by free()");
});

// ---------------------------------------------------------------------------- bad input

browserTest("bad input throws a JS Error naming the problem (never a wasm panic), and the socket keeps working", async (page) => {
  const key = uniqueKey("badinput");
  const base = wsUrl("/echo", { key });
  const r = await evalInPage(
    page,
    async ({ base }) => {
      const ws = new TetherSocket(base);
      await T.nextEvent(ws, "open", 5000);
      const echo = async (text) => {
        const next = T.nextEvent(ws, "message", 3000);
        ws.send(text);
        return (await next).data;
      };
      const cases = [
        // (A relative string such as "not a url" is resolved against the page, as
        // WebSocket does, so it is not bad input.)
        ["invalid URL (unclosed IPv6 bracket)", () => new TetherSocket("ws://[bad"), "url"],
        ["invalid URL (port out of range)", () => new TetherSocket("ws://127.0.0.1:99999/"), "url|port"],
        ["scheme ftp:", () => new TetherSocket("ftp://127.0.0.1:8791/echo"), "scheme|ftp"],
        ["URL with a fragment", () => new TetherSocket(`${base}#frag`), "fragment|#"],
        ["duplicate protocols", () => new TetherSocket(base, ["chat", "chat"]), "duplicate|protocol"],
        ["protocol with invalid characters", () => new TetherSocket(base, ["bad proto"]), "protocol|invalid|character|token"],
        ["protocol with a comma", () => new TetherSocket(base, "a,b"), "protocol|invalid|character|token"],
        ["protocols of a wrong type", () => new TetherSocket(base, 42), "protocol"],
        ['option maxRetries: "x"', () => new TetherSocket(base, undefined, { maxRetries: "x" }), "maxRetries"],
        ["option jitter: 2", () => new TetherSocket(base, undefined, { jitter: 2 }), "jitter"],
        ['option overflow: "nope"', () => new TetherSocket(base, undefined, { overflow: "nope" }), "overflow"],
        ["option minReconnectionDelay: -1", () => new TetherSocket(base, undefined, { minReconnectionDelay: -1 }), "minReconnectionDelay"],
        ["options not an object", () => new TetherSocket(base, undefined, 5), "option"],
        ["close(999)", () => ws.close(999), "code|999"],
        ["close(1001)", () => ws.close(1001), "code|1001"],
        ["close(2999)", () => ws.close(2999), "code|2999"],
        ["close(5000)", () => ws.close(5000), "code|5000"],
        ["close reason of 124 ASCII bytes", () => ws.close(1000, "x".repeat(124)), "reason|123|byte"],
        ["close reason of 124 UTF-8 bytes (62 × é)", () => ws.close(1000, "é".repeat(62)), "reason|123|byte"],
        ["send(123)", () => ws.send(123), "send|data|type|string|ArrayBuffer|Blob"],
        ["send({})", () => ws.send({}), "send|data|type|string|ArrayBuffer|Blob"],
        ["send() with no argument", () => ws.send(), "send|data|type|string|ArrayBuffer|Blob"],
      ];
      const results = [];
      let i = 0;
      for (const [name, fn, pattern] of cases) {
        const res = T.throwsWhat(fn);
        res.case = name;
        res.pattern = pattern;
        // The instance must survive: the open socket still echoes, and new sockets work.
        try {
          res.echoAfter = await echo(`alive-${i}`);
        } catch (e) {
          res.echoAfter = `echo failed: ${e.message}`;
        }
        res.stateAfter = ws.state;
        i++;
        results.push(res);
      }
      // A boundary that must be accepted: a 123-byte reason with a 3000–4999 code.
      const ok = new TetherSocket(base);
      await T.nextEvent(ok, "open", 5000);
      const okClose = T.throwsWhat(() => ok.close(4999, "é".repeat(61) + "x"));
      await T.nextEvent(ok, "close", 5000);
      ws.close();
      return { results, okClose };
    },
    { base },
    60_000,
  );
  const problems = [];
  r.results.forEach((c, i) => {
    if (!c.threw) problems.push(`${c.case}: did not throw`);
    else if (c.isRuntimeError || /unreachable|panicked/i.test(c.message)) {
      problems.push(`${c.case}: wasm trap/panic instead of a JS Error: ${c.message}`);
    } else if (!c.isError) problems.push(`${c.case}: threw a non-Error (${c.name}: ${c.message})`);
    else if (!new RegExp(c.pattern, "i").test(c.message)) {
      problems.push(`${c.case}: message ${JSON.stringify(c.message)} does not name the problem (/${c.pattern}/i)`);
    }
    if (c.echoAfter !== `alive-${i}`) problems.push(`${c.case}: the socket stopped working afterwards (${c.echoAfter})`);
    if (c.stateAfter !== "open") problems.push(`${c.case}: state became ${c.stateAfter}, expected "open"`);
  });
  assert.deepEqual(problems, [], `bad-input problems:\n  ${problems.join("\n  ")}`);
  assert.equal(r.okClose.threw, false, `close(4999, <123-byte reason>) must be accepted: ${r.okClose.message}`);
  await waitFor(
    async () => (await serverStats(key)).closes.some((c) => c.code === 4999),
    3000,
    "the server to receive the 4999 close frame",
  );
  const s = await serverStats(key);
  const c4999 = s.closes.find((c) => c.code === 4999);
  assert.equal(c4999.reason, "é".repeat(61) + "x", "the close reason must reach the server unchanged");
});

// ---------------------------------------------------------------------------- CSP

browserTest(
  "works under a strict CSP (script-src 'self' 'wasm-unsafe-eval': no eval, no inline script)",
  { query: "?csp=1" },
  async (page) => {
    const key = uniqueKey("csp");
    const data = await evalInPage(
      page,
      async ({ url }) => {
        const ws = new TetherSocket(url);
        await T.nextEvent(ws, "open", 5000);
        const next = T.nextEvent(ws, "message", 5000);
        ws.send("csp-ok");
        const ev = await next;
        ws.close();
        return ev.data;
      },
      { url: wsUrl("/echo", { key }) },
    );
    assert.equal(data, "csp-ok");
  },
);

// ---------------------------------------------------------------------------- blackhole sanity

browserTest("connecting to the blackhole stays CONNECTING until close()", async (page) => {
  const r = await evalInPage(
    page,
    async ({ url }) => {
      const ws = new TetherSocket(url, undefined, { connectionTimeout: 10_000 });
      await T.sleep(300);
      const during = [ws.readyState, ws.state];
      ws.close();
      await T.waitFor(() => ws.state === "closed", 3000, 'state "closed" after close() while connecting');
      return { during, after: [ws.readyState, ws.state] };
    },
    { url: BLACKHOLE },
  );
  assert.deepEqual(r.during, [0, "connecting"]);
  assert.deepEqual(r.after, [3, "closed"]);
});
