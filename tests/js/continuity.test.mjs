// The continuity protocol (PROTOCOL.md) from the JS face, in real Chromium: the npm entry
// `tether-ws/continuity` (pkg/continuity.js) in a page (tests/js/continuity/page.html),
// against real servers on 127.0.0.1: the reference server (www/server, target/debug/
// tether-server, started and killed by pid here), a chaos TCP proxy in front of it, Node
// `ws` servers that do not speak the protocol or break it, and the test server's echo.
// No mocked WebSocket. Helpers: tests/js/continuity/.
//
// Needs: pkg/ built (bash scripts/build-pkg.sh), `cargo build -p tether-server`, and the
// test server on 127.0.0.1:8790/8791/8792 (see tests/js/harness.mjs).
import assert from "node:assert/strict";
import { after } from "node:test";
import { WebSocket as NodeWebSocket } from "ws";

import { browserTest, evalInPage, serverStats, sleep, uniqueKey, useBrowser, waitFor, wsUrl } from "./harness.mjs";
import { CASES, WELCOMES, startHostile, startPlain, startScripted } from "./continuity/hostile.mjs";
import { startProxy } from "./continuity/proxy.mjs";
import { killAllStarted, SERVER_IMPLS, startServer } from "./continuity/server.mjs";
import { openContinuityPage } from "./continuity/soak.mjs";

useBrowser();
after(killAllStarted); // (each test stops its own; this only catches a test that threw early)


/** Loads the continuity page into the harness's fresh page (its error checks stay on). */
const openContinuity = (page) => openContinuityPage(page);

/** Runs `fn(add)`; whatever was passed to `add` (a server, a proxy: each has stop or close)
 * is stopped afterwards, in reverse order, whether `fn` passed or threw. */
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

/** Waits until the page's socket `S.ws` is open (bounded). */
const pageOpen = (page, timeoutMs = 10_000) =>
  waitFor(() => evalInPage(page, () => window.S.ws.state === "open"), timeoutMs, "the page's socket to be open");

const resumes = (events) => events.filter((e) => e.type === "resume").map(({ resumed, reason, resent, dropped }) => ({ resumed, reason, resent, dropped }));

/** A WebSocket client in Node speaking just enough of the protocol to send one `hello`
 * (and, with `ack`, an `A<ack>` frame after the welcome: it shows the server the welcome
 * arrived). Resolves with the welcome. */
function helloFromNode(url, hello, { ack, timeoutMs = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const ws = new NodeWebSocket(url, ["tether.v1"]);
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`no welcome within ${timeoutMs} ms from ${url}`));
    }, timeoutMs);
    ws.on("open", () => ws.send(JSON.stringify({ t: "hello", v: 1, ...hello })));
    ws.on("message", (data) => {
      clearTimeout(timer);
      if (ack !== undefined) ws.send(`A${ack}`);
      ws.close(1000);
      resolve(JSON.parse(data.toString()));
    });
    ws.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** The last `welcome` the server sent on the proxy's connection `conn` (sniffed). */
function lastWelcome(proxy, conn) {
  const w = proxy.frames.filter((f) => f.conn === conn && f.dir === "down" && f.text?.startsWith('{"t":"welcome"')).at(-1);
  return w && JSON.parse(w.text);
}

// --------------------------------- 1. exactly once, in order, both ways, through chaos

for (const impl of SERVER_IMPLS) {
browserTest(
  "exactly once, in order, both ways, across cuts, stalls, refusals and lost acks (chaos proxy)" + ` [${impl} server]`,
  { timeout: 90_000 },
  async (page) => {
    await openContinuity(page);
    await withResources(async (add) => {
      const server = add(await startServer({ impl, feedMs: 20 }));
      const proxy = add(await startProxy({ upstreamPort: server.port }));
      await evalInPage(
        page,
        ({ url }) => {
          const ws = new TetherSocket(url, undefined, {
            continuity: "prefer",
            minReconnectionDelay: 50,
            maxReconnectionDelay: 400,
            connectionTimeout: 3000,
          });
          // `got`: every message received (one session throughout); each feed message is kept
          // as [n, its place among them].
          const S = (window.S = { ws, sent: 0, got: 0, stop: false, echoes: [], feed: [], other: [], closes: [] });
          S.rec = C.record(ws, (data) => {
            S.got += 1;
            if (typeof data !== "string") S.other.push(String(data));
            else if (data.startsWith('{"n":')) S.feed.push([JSON.parse(data).n, S.got]);
            else if (data.startsWith("c:")) S.echoes.push(Number(data.slice(2)));
            else S.other.push(data);
          });
          // In flight at each drop: handed to send(), out of the outbox, not echoed yet.
          ws.addEventListener("close", () => S.closes.push(S.sent - ws.queuedMessages - S.echoes.length));
          // Numbered messages, 5 every 20 ms (250/s), whatever the connection is doing, until
          // the chaos is over (at most 10,000).
          S.sending = (async () => {
            while (!S.stop && S.sent < 10_000) {
              for (let i = 0; i < 5; i++) ws.send(`c:${S.sent++}`);
              await T.sleep(20);
            }
          })();
        },
        { url: proxy.url("/") },
      );
      await pageOpen(page);
      const cutAfter = (ms, before = () => {}, after = () => {}) => async () => {
        before();
        await sleep(ms);
        const n = proxy.cutAll();
        await after();
        return n;
      };
      // The chaos, each step on an open connection (so that every cut cuts one).
      const steps = [
        ["cut", cutAfter(0)],
        // 1.4 s × 250/s: more than the window of 256, so the outbox holds the rest.
        ["stall 1400 ms, cut while stalled", cutAfter(1400, () => proxy.stall(true), () => proxy.stall(false))],
        ["cut", cutAfter(0)],
        ["cut, refuse for 900 ms", cutAfter(0, () => proxy.refuse(true), async () => {
          await sleep(900);
          proxy.refuse(false);
        })],
        ["discard what the server sends for 400 ms, then cut", cutAfter(400, () => proxy.discardDown(true), () => proxy.discardDown(false))],
        ["cut", cutAfter(0)],
        ["stall 300 ms, then go on", async () => {
          proxy.stall(true);
          await sleep(300);
          proxy.stall(false);
          return null;
        }],
        ["cut", cutAfter(0)],
      ];
      const done = [];
      for (const [what, step] of steps) {
        await sleep(500);
        await pageOpen(page);
        done.push({ what, cut: await step() });
      }
      await sleep(500);
      await evalInPage(page, async () => {
        window.S.stop = true;
        await window.S.sending;
      });
      await waitFor(
        () => evalInPage(page, () => window.S.ws.state === "open" && window.S.ws.queuedMessages === 0 && window.S.echoes.length >= window.S.sent),
        30_000,
        "every message sent and echoed",
      ).catch(async (e) => {
        const S = await evalInPage(page, () => {
          const S = window.S;
          return { sent: S.sent, echoes: S.echoes.length, last: S.echoes.slice(-3), queued: S.ws.queuedMessages, state: S.ws.state, feed: S.feed.slice(-3), other: S.other.slice(0, 5), events: S.rec.events.slice(-15) };
        });
        throw new Error(`${e.message}: ${JSON.stringify(S)}; proxy ${JSON.stringify(proxy.stats)}, ${proxy.connections()} open; server ${server.output().slice(-500)}`);
      });
      await sleep(300); // the feed goes on a little over a calm connection
      const r = await evalInPage(page, () => {
        const S = window.S;
        const out = { sent: S.sent, echoes: S.echoes, feed: S.feed, other: S.other, closes: S.closes, events: S.rec.events, state: S.ws.state };
        S.ws.close();
        return out;
      });
      const cutSteps = done.filter((d) => d.cut !== null);
      const rs = resumes(r.events);
      console.log(
        `continuity chaos: ${r.sent} sent, ${r.echoes.length} echoed, ${r.feed.length} fed (last {"n":${r.feed.at(-1)?.[0]}}), ` +
          `${rs.length} resume events, ${proxy.stats.cutConnections} connections cut in ${proxy.stats.cuts} cuts, ` +
          `${proxy.stats.refused} refused; in flight at each drop: ${r.closes.join(", ")}`,
      );

      // The cuts happened, with messages in flight.
      assert.deepEqual(cutSteps.map((d) => d.cut), cutSteps.map(() => 1), `every cut cut the page's connection: ${JSON.stringify(done)}`);
      assert.ok(proxy.stats.refused >= 1, "the refusal refused at least one attempt");
      assert.equal(rs.length, cutSteps.length + 1, "a resume event per connection");
      // (The stalled cut and the one after the server's frames were thrown away hold
      // hundreds; a cut at a random moment of loopback traffic often holds none.)
      assert.ok(r.closes.filter((n) => n >= 50).length >= 2, `50 or more in flight at two drops at least: ${r.closes}`);
      assert.ok(r.closes.some((n) => n >= 256), `a drop with the window full (256 in flight): ${r.closes}`);

      // Client → server → client: every message once, in order.
      assert.ok(r.sent >= 1500, `sent ${r.sent}`);
      assert.equal(r.echoes.length, r.sent);
      const firstBad = r.echoes.findIndex((n, i) => n !== i);
      assert.equal(firstBad, -1, `echo ${firstBad} is ${r.echoes[firstBad]} (around it: ${r.echoes.slice(Math.max(0, firstBad - 3), firstBad + 3)})`);
      // Server → client: the server numbers each feed message with its place in everything
      // it sent the session (echoes and feed), so {"n":k} must be the k-th message the page
      // received: no message of the server's stream, echo or feed, lost, doubled or reordered
      // before it.
      assert.ok(r.feed.length > 200, `the feed ran (${r.feed.length})`);
      const feedBad = r.feed.findIndex(([n, at]) => n !== at);
      assert.equal(
        feedBad,
        -1,
        `feed item ${feedBad}: {"n":${r.feed[feedBad]?.[0]}} arrived as message ${r.feed[feedBad]?.[1]} ` +
          `(around it, [n, place]: ${JSON.stringify(r.feed.slice(Math.max(0, feedBad - 3), feedBad + 3))})`,
      );
      assert.deepEqual(r.other, [], "nothing else arrived (no header, no control frame)");

      // One session throughout.
      assert.deepEqual(rs[0], { resumed: false, reason: "new", resent: 0, dropped: 0 });
      for (const [i, e] of rs.slice(1).entries()) {
        assert.deepEqual(e, { resumed: true, reason: null, resent: 0, dropped: 0 }, `resume event ${i + 2}`);
      }
      assert.deepEqual(r.events.filter((e) => e.type === "drop"), [], "no drop events");
      assert.deepEqual(r.events.filter((e) => e.type === "error" && e.message === "protocol error"), [], "no protocol error");
      assert.equal(r.state, "open");
    });
  },
);
}

// --------------------------------------------------- 2. a restart that loses the state

for (const impl of SERVER_IMPLS) {
browserTest("a server restart that loses its state: resumed false, \"unknown\", the messages in doubt re-sent and counted" + ` [${impl} server]`, { timeout: 60_000 }, async (page) => {
  await openContinuity(page);
  let server = await startServer({ impl });
  const port = server.port;
  const proxy = await startProxy({ upstreamPort: port, sniff: true });
  try {
    await evalInPage(page, async ({ url }) => {
      const ws = new TetherSocket(url, undefined, { continuity: "prefer", minReconnectionDelay: 50, maxReconnectionDelay: 300 });
      const S = (window.S = { ws, echoes: [], other: [] });
      S.rec = C.record(ws, (d) => (typeof d === "string" && /^[abc]:/.test(d) ? S.echoes.push(d) : S.other.push(String(d))));
      await T.nextEvent(ws, "open", 5000);
      for (let i = 0; i < 20; i++) ws.send(`a:${i}`);
      // Every one echoed: the echo of a:19 carries an ack of 20 at least, so none is in doubt.
      await T.waitFor(() => S.echoes.length === 20, 5000, "the 20 echoes");
    }, { url: proxy.url("/") });
    // From now on what the server sends never reaches the page: 30 messages go to the
    // server, which takes, acknowledges and echoes them, and the page hears none of it.
    proxy.discardDown(true);
    await evalInPage(page, () => {
      for (let i = 0; i < 30; i++) window.S.ws.send(`b:${i}`);
    });
    const echoesOfB = () => proxy.frames.filter((f) => f.dir === "down" && f.text && /^D\d+,\d+;b:/.test(f.text)).length;
    await waitFor(() => echoesOfB() === 30, 10_000, "the old server to echo the 30 b: messages (sniffed)");
    const echoedByOld = echoesOfB();
    const oldConns = new Set(proxy.frames.map((f) => f.conn));
    // The server dies (SIGKILL: nothing is saved) and comes back on the same port.
    const died = await server.stop("SIGKILL");
    assert.equal(died?.signal, "SIGKILL");
    await waitFor(() => evalInPage(page, () => window.S.ws.state !== "open"), 5000, "the page to see the drop");
    // Meanwhile the page goes on sending: these 10 wait in the outbox (not in doubt).
    await evalInPage(page, () => {
      for (let i = 0; i < 10; i++) window.S.ws.send(`c:${i}`);
    });
    await sleep(400); // attempts against the dead server fail meanwhile
    proxy.discardDown(false);
    server = await startServer({ impl, port });
    await waitFor(() => evalInPage(page, () => window.S.echoes.length >= 60), 10_000, "the echoes of the new session");
    await sleep(300);
    const r = await evalInPage(page, () => {
      const S = window.S;
      const out = { echoes: S.echoes, other: S.other, events: S.rec.events, queued: S.ws.queuedMessages };
      S.ws.close();
      return out;
    });
    const rs = resumes(r.events);
    // The new server's data frames from the page: what it was given in the new session.
    const newFrames = proxy.frames.filter((f) => !oldConns.has(f.conn) && f.dir === "up" && f.text && /^D\d+,\d+;/.test(f.text));
    const toNew = newFrames.map((f) => f.text.slice(f.text.indexOf(";") + 1));
    const doubledAtServer = toNew.filter((m) => m.startsWith("b:")).length;
    const refused = r.events.filter((e) => e.type === "reconnecting").length - 1;
    console.log(
      `restart: resume events ${JSON.stringify(rs)}; the old server echoed ${echoedByOld} b: messages the page never heard; ` +
        `the new session carried ${toNew.length} (${doubledAtServer} of them in doubt, now taken twice by the server side); ` +
        `${refused} failed attempts while the server was down; duplicates at the page: ${r.echoes.length - new Set(r.echoes).size}`,
    );
    assert.deepEqual(rs, [
      { resumed: false, reason: "new", resent: 0, dropped: 0 },
      { resumed: false, reason: "unknown", resent: 30, dropped: 0 },
    ]);
    // Nothing silent: each in-doubt message was sent again, first, in order, then the outbox.
    const want = [...Array(20).keys()].map((i) => `a:${i}`).concat([...Array(30).keys()].map((i) => `b:${i}`), [...Array(10).keys()].map((i) => `c:${i}`));
    assert.deepEqual(toNew, want.slice(20), "the new session: the 30 in doubt, then the 10 queued, numbered from 1");
    assert.ok(newFrames[0].text.startsWith("D1,0;"), `the new session starts at seq 1: ${newFrames[0].text}`);
    assert.equal(doubledAtServer, 30, "the server side got each in-doubt message twice (old and new process)");
    assert.deepEqual(r.echoes, want, "the page heard every echo once, in order");
    assert.deepEqual(r.other, []);
    assert.equal(r.queued, 0);
    assert.ok(refused >= 1, "attempts failed while the server was down");
  } finally {
    await server.stop();
    await proxy.close();
  }
});
}

// ----------------------------------------------------------------------- 3. TTL expiry

for (const impl of SERVER_IMPLS) {
browserTest("TTL expiry: away longer than --ttl-ms, the resume says \"expired\"; what was in doubt is re-sent (or, resend: false, dropped)" + ` [${impl} server]`, { timeout: 60_000 }, async (page) => {
  await openContinuity(page);
  const TTL = 1000;
  await withResources(async (add) => {
    const server = add(await startServer({ impl, ttlMs: TTL }));
    const proxy = add(await startProxy({ upstreamPort: server.port }));
    // Two sockets through the proxy: the default (resend) and `resend: false`.
    await evalInPage(page, async ({ url }) => {
      window.S = {};
      for (const name of ["resend", "drop"]) {
        const continuity = { mode: "prefer", resend: name === "resend" };
        const ws = new TetherSocket(url, undefined, { continuity, minReconnectionDelay: 100, maxReconnectionDelay: 400 });
        const s = (window.S[name] = { ws, echoes: [] });
        s.rec = C.record(ws, (d) => s.echoes.push(String(d)));
        await T.nextEvent(ws, "open", 5000);
        for (let i = 0; i < 5; i++) ws.send(`a:${i}`);
        await T.waitFor(() => s.echoes.length === 5, 5000, "5 echoes");
      }
    }, { url: proxy.url("/") });
    // 4 messages whose acks never arrive (in doubt), then the page is away for 2.5 × TTL,
    // sending 3 more meanwhile (queued: not in doubt).
    proxy.discardDown(true);
    await evalInPage(page, () => {
      for (const s of Object.values(window.S)) for (let i = 0; i < 4; i++) s.ws.send(`d:${i}`);
    });
    await sleep(300);
    proxy.refuse(true);
    assert.equal(proxy.cutAll(), 2);
    proxy.discardDown(false);
    // (Once the page has seen the drop: written to the dead socket before, they would be in
    // doubt too.)
    await waitFor(() => evalInPage(page, () => Object.values(window.S).every((s) => s.ws.state !== "open")), 5000, "the page to see the drops");
    await evalInPage(page, () => {
      for (const s of Object.values(window.S)) for (let i = 0; i < 3; i++) s.ws.send(`e:${i}`);
    });
    await sleep(TTL * 2.5);
    const refusedWhileAway = proxy.stats.refused;
    proxy.refuse(false);
    await waitFor(() => evalInPage(page, () => window.S.resend.echoes.length >= 12 && window.S.drop.echoes.length >= 8), 10_000, "the echoes after the expired resumes").catch(async (e) => {
      const state = await evalInPage(page, () => Object.fromEntries(Object.entries(window.S).map(([k, s]) => [k, { echoes: s.echoes, events: s.rec.events.slice(-12), state: s.ws.state }])));
      throw new Error(`${e.message}: ${JSON.stringify(state)}`);
    });
    await sleep(300);
    const r = await evalInPage(page, () => {
      const out = {};
      for (const [name, s] of Object.entries(window.S)) {
        out[name] = { echoes: s.echoes, events: s.rec.events };
        s.ws.close();
      }
      return out;
    });
    console.log(`ttl: ${refusedWhileAway} attempts refused while away; resume events ${JSON.stringify(resumes(r.resend.events))}, ${JSON.stringify(resumes(r.drop.events))}`);
    assert.ok(refusedWhileAway >= 4, `attempts were refused while away (${refusedWhileAway})`);
    assert.deepEqual(resumes(r.resend.events), [
      { resumed: false, reason: "new", resent: 0, dropped: 0 },
      { resumed: false, reason: "expired", resent: 4, dropped: 0 },
    ]);
    assert.deepEqual(r.resend.echoes, ["a:0", "a:1", "a:2", "a:3", "a:4", "d:0", "d:1", "d:2", "d:3", "e:0", "e:1", "e:2"]);
    assert.deepEqual(r.resend.events.filter((e) => e.type === "drop"), []);

    assert.deepEqual(resumes(r.drop.events), [
      { resumed: false, reason: "new", resent: 0, dropped: 0 },
      { resumed: false, reason: "expired", resent: 0, dropped: 4 },
    ]);
    // Each in-doubt message reported, in order, before the resume event.
    const drops = r.drop.events.filter((e) => e.type === "drop" || e.type === "resume").slice(1);
    assert.deepEqual(drops.map((e) => (e.type === "drop" ? `${e.reason} ${e.data}` : e.type)), [
      "session-lost d:0", "session-lost d:1", "session-lost d:2", "session-lost d:3", "resume",
    ]);
    assert.deepEqual(r.drop.echoes, ["a:0", "a:1", "a:2", "a:3", "a:4", "e:0", "e:1", "e:2"]);
  });
});
}

// ----------------------------------------------------- 4. servers without the protocol
//
// Servers without the protocol. First a plain one: a Node `ws` server with subprotocols of
// its own (["chat"]): it selects "chat" when offered, never a tether token. Then the test
// server's /echo, which selects the first subprotocol offered, the tether token included.
// (A server that selects no subprotocol at all cannot give "prefer" a plain connection in a
// browser: the test after them.)

browserTest("a plain WebSocket server (selects the app's subprotocol): \"required\" fails with \"no continuity\", \"prefer\" is plain", { timeout: 60_000 }, async (page) => {
  await openContinuity(page);
  const plain = await startPlain({ select: ["chat"], echo: true });
  try {
    const req = await evalInPage(page, async ({ url }) => {
      const ws = new TetherSocket(url, ["chat"], { continuity: "required", minReconnectionDelay: 100, maxReconnectionDelay: 200 });
      const rec = C.record(ws);
      await T.waitFor(() => C.of(rec, "reconnecting").length >= 3, 8000, "three failed attempts");
      const out = { events: rec.events, state: ws.state };
      ws.close();
      return out;
    }, { url: plain.url("/required") });
    const errors = req.events.filter((e) => e.type === "error").map((e) => e.message);
    const retries = req.events.filter((e) => e.type === "reconnecting").map((e) => e.reason);
    assert.ok(errors.length >= 3 && errors.every((m) => m === "no continuity"), `errors: ${errors}`);
    assert.ok(retries.every((m) => m === "no-continuity"), `reconnecting reasons: ${retries}`);
    assert.equal(req.events.filter((e) => e.type === "open" || e.type === "resume").length, 0, "never open, no resume event");
    const reqConns = plain.connections.filter((c) => c.path === "/required");
    assert.ok(reqConns.length >= 3);
    for (const c of reqConns) {
      assert.equal(c.offered, "tether.v1+chat, chat", "every attempt offers the protocol");
      assert.equal(c.protocol, "chat");
      assert.deepEqual(c.got, [], "no hello (or anything) on a connection without the protocol");
    }

    const pref = await evalInPage(page, async ({ url }) => {
      // (binaryType "arraybuffer": with "blob", see the test below.)
      const ws = new TetherSocket(url, ["chat"], { continuity: "prefer", binaryType: "arraybuffer" });
      const got = [];
      const rec = C.record(ws, (d) => got.push(T.describeData(d)));
      await T.nextEvent(ws, "open", 5000);
      ws.send("hello");
      ws.send("D1,0;looks like a header");
      ws.send(new Uint8Array([68, 49, 44, 48, 59, 1, 2]));
      await T.waitFor(() => got.length === 3, 5000, "3 echoes");
      const out = { got, events: rec.events, protocol: ws.protocol };
      ws.close();
      return out;
    }, { url: plain.url("/prefer") });
    assert.deepEqual(resumes(pref.events), [{ resumed: false, reason: "unsupported", resent: 0, dropped: 0 }]);
    assert.deepEqual(pref.events.slice(0, 2).map((e) => e.type), ["resume", "open"], "resume comes before open");
    assert.equal(pref.protocol, "chat");
    assert.deepEqual(pref.got, [
      { kind: "string", value: "hello" },
      { kind: "string", value: "D1,0;looks like a header" },
      { kind: "arraybuffer", bytes: [68, 49, 44, 48, 59, 1, 2] },
    ]);
    const prefConn = plain.connections.filter((c) => c.path === "/prefer");
    assert.equal(prefConn.length, 1);
    assert.deepEqual(prefConn[0].got, ["hello", "D1,0;looks like a header", "<binary 7>"], "the server got the messages as they are: no hello, no header");
  } finally {
    await plain.close();
  }
});

// Was a bug (found by this file), fixed: with continuity on, the client sets its sockets'
// binaryType to "arraybuffer" (to read data headers synchronously) and only turns binary
// payloads into Blobs when it unframes them; on a connection that fell back to plain
// ("unsupported", or after "no-welcome") nothing is unframed, so binary messages arrive as
// ArrayBuffers whatever binaryType says.
browserTest(
  "\"prefer\" fallen back to a plain connection delivers binary as binaryType says (\"blob\" too)",
  { timeout: 30_000 },
  async (page) => {
    await openContinuity(page);
    const plain = await startPlain({ select: ["chat"], echo: true });
    try {
      const r = await evalInPage(page, async ({ url }) => {
        const out = {};
        for (const binaryType of [undefined, "blob"]) {
          const ws = new TetherSocket(url, ["chat"], { continuity: "prefer", binaryType });
          const got = [];
          const rec = C.record(ws, (d) => got.push(T.describeData(d)));
          await T.nextEvent(ws, "open", 5000);
          ws.send(new Uint8Array([1, 2, 3]));
          await T.waitFor(() => got.length === 1, 5000, "the echo");
          out[String(binaryType)] = { got, binaryType: ws.binaryType, resumes: C.of(rec, "resume").map((e) => e.reason) };
          ws.close();
        }
        return out;
      }, { url: plain.url("/blob") });
      for (const [name, x] of Object.entries(r)) {
        assert.deepEqual(x.resumes, ["unsupported"], name);
        assert.equal(x.binaryType, "blob", `${name}: binaryType reads "blob"`);
        assert.deepEqual(x.got, [{ kind: "blob", size: 3 }], `binaryType ${name}: a Blob arrives`);
      }
    } finally {
      await plain.close();
    }
  },
);

// The test server's endpoints select the first subprotocol offered and echo, as many echo
// servers do (the Node `ws` package's default plus an echo): the `hello` comes back instead
// of a welcome, which makes it a server without the protocol (PROTOCOL.md, Negotiation).
browserTest("the test server's /echo (selects the first offered subprotocol, echoes the hello): \"prefer\" goes plain, \"required\" fails with \"no continuity\"", { timeout: 60_000 }, async (page) => {
  await openContinuity(page);
  const [keyPrefer, keyRequired] = [uniqueKey("cont-echo-prefer"), uniqueKey("cont-echo-required")];
  const r = await evalInPage(page, async ({ urlPrefer, urlRequired }) => {
    const opts = { connectionTimeout: 800, minReconnectionDelay: 100, maxReconnectionDelay: 200 };
    const ws = new TetherSocket(urlPrefer, undefined, { ...opts, continuity: "prefer" });
    const rec = C.record(ws);
    const got = [];
    ws.addEventListener("message", (e) => got.push(e.data));
    await T.waitFor(() => ws.state === "open", 6000, "a plain connection");
    ws.send("hi");
    ws.send("D1,0;not a header");
    await T.waitFor(() => got.length === 2, 3000, "the echoes");
    const prefer = { events: rec.events.slice(), got, protocol: ws.protocol };
    ws.close();
    const ws2 = new TetherSocket(urlRequired, undefined, { ...opts, continuity: "required" });
    const rec2 = C.record(ws2);
    await T.waitFor(() => C.of(rec2, "reconnecting").length >= 3, 6000, "three failed attempts");
    const required = { events: rec2.events, state: ws2.state };
    ws2.close();
    return { prefer, required };
  }, { urlPrefer: wsUrl("/echo", { key: keyPrefer }), urlRequired: wsUrl("/echo", { key: keyRequired }) });
  const types = (events) => events.map((e) => e.type + (e.reason ? `:${e.reason}` : e.message !== undefined ? `:${e.message}` : ""));
  assert.deepEqual(types(r.prefer.events), ["resume:no-welcome", "error:protocol error", "close:protocol error", "reconnecting:protocol-error", "resume:unsupported", "open"]);
  assert.deepEqual(r.prefer.got, ["hi", "D1,0;not a header"], "plain text both ways, no header");
  assert.equal(r.prefer.protocol, "");
  const sp = await serverStats(keyPrefer);
  assert.deepEqual(sp.protocols, ["tether.v1", ""], "the first attempt offered the protocol (selected), the second nothing");
  assert.deepEqual(sp.messages.slice(1), ["hi", "D1,0;not a header"]);
  assert.match(sp.messages[0], /^\{"t":"hello"/, "the hello, echoed back");

  const errors = r.required.events.filter((e) => e.type === "error").map((e) => e.message);
  const retries = r.required.events.filter((e) => e.type === "reconnecting").map((e) => e.reason);
  assert.ok(errors.length >= 3 && errors.every((m) => m === "no continuity"), `errors: ${errors}`);
  assert.ok(retries.every((m) => m === "no-continuity"), `reconnecting reasons: ${retries}`);
  assert.equal(r.required.events.filter((e) => e.type === "open" || e.type === "resume").length, 0, "never open, no resume event");
  const sr = await serverStats(keyRequired);
  assert.ok(sr.protocols.length >= 3 && sr.protocols.every((p) => p === "tether.v1"), `"required" always offers the protocol: ${sr.protocols}`);
});

// Was a bug (found by this file), fixed: with no subprotocol of the app's, "prefer" offers
// `tether.v1` alone, and a server that selects no subprotocol (most servers that were given
// none) makes the browser fail the handshake (the WebSocket standard: a client that offered
// subprotocols fails a connection whose response selects none). Every attempt fails with the
// browser's generic error; "prefer" never fell back to offering nothing. Now every other attempt offers nothing after
// two failed handshakes, and one that opens shows the server speaks plain WebSocket only.
browserTest(
  "\"prefer\" with no app subprotocol against a server that selects none: after two failed handshakes an attempt offering nothing connects plain",
  { timeout: 60_000 },
  async (page) => {
    await openContinuity(page);
    const plain = await startPlain({ select: "none", echo: true });
    try {
      const r = await evalInPage(page, async ({ url }) => {
        const out = {};
        for (const mode of ["prefer", "required"]) {
          const ws = new TetherSocket(url, undefined, { continuity: mode, connectionTimeout: 800, minReconnectionDelay: 100, maxReconnectionDelay: 200 });
          const rec = C.record(ws);
          await T.waitFor(() => C.of(rec, "reconnecting").length >= 4 || ws.state === "open", 8000, "an open socket or four failed attempts").catch(() => {});
          out[mode] = { events: rec.events.map((e) => `${e.type}:${e.reason ?? JSON.stringify(e.message) ?? ""}`), state: ws.state };
          ws.close();
        }
        return out;
      }, { url: plain.url("/") });
      console.log(`server selecting no subprotocol, prefer: ${r.prefer.events.slice(0, 6).join(" ")} …; required: ${r.required.events.slice(0, 6).join(" ")} …`);
      console.log(`  the server saw ${plain.connections.length} upgrades, offering ${[...new Set(plain.connections.map((c) => JSON.stringify(c.offered)))]}`);
      assert.equal(r.prefer.state, "open", `"prefer" ends up on a plain connection: ${r.prefer.events.join(" ")}`);
    } finally {
      await plain.close();
    }
  },
);

// ------------------------------- 5. a server that selects the token and never welcomes

browserTest("a server that selects the first offered subprotocol and never says welcome (ws's default): \"no-welcome\", then plain; \"required\" fails", { timeout: 60_000 }, async (page) => {
  await openContinuity(page);
  const echoing = await startPlain({ select: "first", echo: false });
  try {
    const r = await evalInPage(page, async ({ url, urlChat, urlReq }) => {
      const opts = { continuity: "prefer", connectionTimeout: 800, minReconnectionDelay: 100, maxReconnectionDelay: 200 };
      const out = {};
      for (const [name, u, protocols] of [["none", url, undefined], ["chat", urlChat, ["chat"]]]) {
        const ws = new TetherSocket(u, protocols, opts);
        const rec = C.record(ws);
        const t0 = performance.now();
        await T.nextEvent(ws, "open", 6000);
        ws.send(`plain ${name}`);
        await T.sleep(200);
        out[name] = { events: rec.events, protocol: ws.protocol, openAfter: performance.now() - t0 };
        ws.close();
      }
      const ws = new TetherSocket(urlReq, undefined, { ...opts, continuity: "required" });
      const rec = C.record(ws);
      await T.waitFor(() => C.of(rec, "reconnecting").length >= 2, 6000, "two failed attempts");
      out.required = { events: rec.events, state: ws.state };
      ws.close();
      return out;
    }, { url: echoing.url("/none"), urlChat: echoing.url("/chat"), urlReq: echoing.url("/required") });

    for (const name of ["none", "chat"]) {
      const { events, protocol, openAfter } = r[name];
      const conns = echoing.connections.filter((c) => c.path === `/${name}`);
      assert.deepEqual(resumes(events), [
        { resumed: false, reason: "no-welcome", resent: 0, dropped: 0 },
        { resumed: false, reason: "unsupported", resent: 0, dropped: 0 },
      ], name);
      const types = events.map((e) => e.type + (e.reason ? `:${e.reason}` : e.message ? `:${e.message}` : ""));
      assert.deepEqual(types.slice(0, 6), ["resume:no-welcome", "error:TIMEOUT", "close:connection timeout", "reconnecting:connection-timeout", "resume:unsupported", "open"], name);
      assert.ok(openAfter >= 700, `${name}: the first attempt waited for the connection timeout (${Math.round(openAfter)} ms)`);
      assert.equal(conns.length, 2, `${name}: two connections`);
      // The first offered the tether token (selected: the server echoes the first), the hello
      // went, no welcome came; the second offered only the app's protocols.
      assert.equal(conns[0].offered, name === "none" ? "tether.v1" : "tether.v1+chat, chat");
      assert.equal(conns[0].protocol, name === "none" ? "tether.v1" : "tether.v1+chat");
      assert.equal(conns[0].got.length, 1);
      assert.equal(conns[0].got[0], '{"t":"hello","v":1,"sid":null,"tok":null,"rx":0,"window":256,"windowBytes":1048576}');
      assert.equal(conns[1].offered, name === "none" ? "" : "chat");
      assert.equal(protocol, name === "none" ? "" : "chat");
      assert.deepEqual(conns[1].got, [`plain ${name}`], `${name}: the message went plain (no header)`);
    }

    const { events } = r.required;
    const errors = events.filter((e) => e.type === "error").map((e) => e.message);
    assert.ok(errors.length >= 2 && errors.every((m) => m === "no continuity"), `errors: ${errors}`);
    assert.ok(events.filter((e) => e.type === "reconnecting").every((e) => e.reason === "no-continuity"));
    assert.equal(events.filter((e) => e.type === "open" || e.type === "resume").length, 0);
    const reqConns = echoing.connections.filter((c) => c.path === "/required");
    assert.ok(reqConns.length >= 2 && reqConns.every((c) => c.offered === "tether.v1"), "\"required\" always offers the protocol");
  } finally {
    await echoing.close();
  }
});

// ---------------------------------------------------------- 6. subprotocol composition

for (const impl of SERVER_IMPLS) {
browserTest("subprotocols: [\"chat\"] against tether-server --protocol chat offers tether.v1+chat, chat; protocol reads \"chat\" (\"\" with none)" + ` [${impl} server]`, { timeout: 30_000 }, async (page) => {
  await openContinuity(page);
  await withResources(async (add) => {
    const server = add(await startServer({ impl, protocols: ["chat"] }));
    const proxy = add(await startProxy({ upstreamPort: server.port, sniff: true }));
    const r = await evalInPage(page, async ({ url }) => {
      const out = {};
      for (const [name, protocols] of [["chat", ["chat"]], ["none", undefined]]) {
        const ws = new TetherSocket(url, protocols, { continuity: "prefer" });
        const got = [];
        const rec = C.record(ws, (d) => got.push(d));
        await T.nextEvent(ws, "open", 5000);
        ws.send(`via ${name}`);
        await T.waitFor(() => got.length === 1, 5000, "the echo");
        out[name] = { protocol: ws.protocol, got, resumes: C.of(rec, "resume").map((e) => e.reason) };
        ws.close();
        await T.nextEvent(ws, "close", 5000);
      }
      return out;
    }, { url: proxy.url("/") });
    assert.deepEqual(r.chat, { protocol: "chat", got: ["via chat"], resumes: ["new"] });
    assert.deepEqual(r.none, { protocol: "", got: ["via none"], resumes: ["new"] });
    const header = (conn, dir, name) => {
      const h = proxy.heads.find((x) => x.conn === conn && x.dir === dir);
      return new RegExp(`^${name}: (.*)$`, "im").exec(h?.headers ?? "")?.[1]?.trim();
    };
    assert.equal(header(0, "up", "Sec-WebSocket-Protocol"), "tether.v1+chat, chat");
    assert.equal(header(0, "down", "Sec-WebSocket-Protocol"), "tether.v1+chat");
    assert.equal(header(1, "up", "Sec-WebSocket-Protocol"), "tether.v1");
    assert.equal(header(1, "down", "Sec-WebSocket-Protocol"), "tether.v1");
  });
});
}

// ---------------------------------- 7. hostile servers (and tokens: forged, take-over)

browserTest("hostile frames from a server: each closes with 4002 and the socket recovers (a new hello after a bad frame; plain after a bad welcome)", { timeout: 60_000 }, async (page) => {
  await openContinuity(page);
  const hostile = await startHostile();
  try {
    const key = uniqueKey("hostile");
    // After a welcome, one bad frame (CASES); or a bad welcome instead of the welcome
    // (WELCOMES), under "prefer" and, for one, "required".
    const runs = [
      ...Object.keys(CASES).map((name) => ({ name, mode: "prefer" })),
      ...Object.keys(WELCOMES).map((name) => ({ name, mode: "prefer" })),
      { name: "welcome-without-tok", mode: "required" },
    ];
    for (const run of runs) {
      run.key = `${key}-${run.mode}`;
      run.r = await evalInPage(page, async ({ url, mode }) => {
        const ws = new TetherSocket(url, undefined, { continuity: mode, minReconnectionDelay: 50, maxReconnectionDelay: 200 });
        const got = [];
        const rec = C.record(ws, (d) => got.push(d));
        // The bad frame, 4002, a retry, a good welcome (or a plain connection).
        await T.waitFor(() => C.of(rec, "reconnecting").length >= 1 && ws.state === "open", 8000, "open again after a retry");
        const before = got.slice();
        ws.send("ping");
        await T.waitFor(() => got.length > before.length, 5000, "the echo after the recovery");
        const out = { events: rec.events, before, after: got.slice(before.length), state: ws.state };
        ws.close();
        await T.nextEvent(ws, "close", 5000);
        return out;
      }, { url: hostile.url(run.name, run.key), mode: run.mode }, 20_000);
    }
    await waitFor(() => hostile.connections.every((c) => c.closed), 5000, "every hostile connection closed");
    for (const { name, mode, key: k, r } of runs) {
      const what = `${name} (${mode})`;
      // A bad welcome under "prefer": the server does not speak the protocol (PROTOCOL.md,
      // Negotiation: "no valid welcome"), so the next attempt is plain.
      const plainNext = name in WELCOMES && mode === "prefer";
      const conns = hostile.forKey(k).filter((c) => c.case === name);
      assert.equal(conns.length, 2, `${what}: two connections`);
      assert.equal(conns[0].closeCode, 4002, `${what}: the client closed the hostile connection with 4002`);
      assert.equal(conns[1].closeCode, 1000, `${what}: and the next one with 1000`);
      assert.equal(conns[0].hellos[0].sid, null);
      const errors = r.events.filter((e) => e.type === "error").map((e) => e.message);
      const retries = r.events.filter((e) => e.type === "reconnecting").map((e) => e.reason);
      assert.deepEqual(r.events.filter((e) => e.type === "close").slice(0, 1).map((e) => e.code), [1006], `${what}: the close event`);
      if (plainNext) {
        assert.equal(conns[1].protocol, "", `${what}: the retry offers no tether token`);
        assert.deepEqual(conns[1].got, ["ping"], `${what}: plain, no header`);
        assert.deepEqual(errors, ["protocol error"], `${what}: errors`);
        assert.deepEqual(retries, ["protocol-error"], what);
        assert.deepEqual(resumes(r.events).map((e) => e.reason), ["no-welcome", "unsupported"], `${what}: resume events`);
      } else {
        const h2 = conns[1].hellos[0];
        if (name in WELCOMES) {
          assert.equal(h2.sid, null, `${what}: no session was taken from the bad welcome`);
        } else {
          assert.equal(h2.sid, JSON.parse(conns[0].sent[0]).sid, `${what}: the second hello resumes the session the first welcome gave`);
          assert.equal(typeof h2.tok, "string");
        }
        assert.equal(h2.rx, name === "gap" ? 1 : 0, `${what}: rx in the second hello`);
        assert.deepEqual(errors, [mode === "required" ? "no continuity" : "protocol error"], `${what}: errors`);
        assert.deepEqual(retries, [mode === "required" ? "no-continuity" : "protocol-error"], what);
        assert.deepEqual(resumes(r.events).map((e) => e.reason), name in WELCOMES ? ["new"] : ["new", "unknown"], `${what}: resume events`);
      }
      assert.equal(r.events.filter((e) => e.type === "open").length, name in WELCOMES ? 1 : 2, `${what}: open events`);
      assert.deepEqual(r.before, name === "gap" ? ["one"] : [], `${what}: delivered before the bad frame`);
      assert.deepEqual(r.after, ["ping"], `${what}: the echo after the recovery`);
      assert.equal(r.state, "open");
    }
  } finally {
    await hostile.close();
  }
});

const SID = "a".repeat(32);
const OTHER_SID = "b".repeat(32);

/** A first connection that gives session SID, sends old-1..3, acks the page's first message
 * and then drops (no close frame). */
async function firstSessionThenDrop(ctx) {
  await ctx.next();
  ctx.send(ctx.welcome({ sid: SID }));
  for (let i = 1; i <= 3; i++) ctx.send(`D${i},0;old-${i}`);
  const m = await ctx.next();
  if (m?.text?.startsWith("D1,")) ctx.send("A1");
  await sleep(150);
  ctx.terminate();
}

browserTest("hostile welcomes on a resume (rx below what was acknowledged, rx above what was sent): 4002, then plain (\"no-welcome\")", { timeout: 30_000 }, async (page) => {
  await openContinuity(page);
  const server = await startScripted(async (ctx) => {
    if (ctx.protocol === "") {
      for (let m; (m = await ctx.next(30_000)); ) ctx.send(m.text ?? m.binary, m.text === undefined);
      return;
    }
    if (ctx.n === 1) return firstSessionThenDrop(ctx);
    await ctx.next(); // hello
    const rx = ctx.path === "/rx-below-acked" ? 0 : 5;
    ctx.send(ctx.welcome({ sid: SID, resumed: true, reason: undefined, rx }));
    await ctx.next(10_000); // until the client closes
  });
  try {
    for (const name of ["rx-below-acked", "rx-above-sent"]) {
      const r = await evalInPage(page, async ({ url }) => {
        const ws = new TetherSocket(url, undefined, { continuity: "prefer", minReconnectionDelay: 50, maxReconnectionDelay: 200 });
        const got = [];
        const rec = C.record(ws, (d) => got.push(d));
        await T.nextEvent(ws, "open", 5000);
        ws.send("m1");
        await T.waitFor(() => C.of(rec, "resume").length === 3 && ws.state === "open", 8000, "the plain connection");
        ws.send("ping");
        await T.waitFor(() => got.includes("ping"), 5000, "the echo");
        const out = { got, events: rec.events };
        ws.close();
        return out;
      }, { url: server.url(`/${name}`, name) });
      const conns = server.forKey(name);
      assert.equal(conns.length, 3, name);
      assert.equal(conns[1].closeCode, 4002, `${name}: the client refused the welcome with 4002`);
      assert.equal(JSON.parse(conns[1].got[0]).rx, 3);
      assert.equal(conns[2].protocol, "", `${name}: then a plain connection`);
      assert.deepEqual(conns[2].got, ["ping"]);
      assert.deepEqual(r.got, ["old-1", "old-2", "old-3", "ping"], name);
      // (m1 was acknowledged: nothing was in doubt. With something in doubt, see the
      // test "falling back to plain after a session".)
      assert.deepEqual(resumes(r.events), [
        { resumed: false, reason: "new", resent: 0, dropped: 0 },
        { resumed: false, reason: "no-welcome", resent: 0, dropped: 0 },
        { resumed: false, reason: "unsupported", resent: 0, dropped: 0 },
      ], name);
      assert.deepEqual(r.events.filter((e) => e.type === "error").map((e) => e.message), ["protocol error"], name);
    }
    assert.deepEqual(server.errors, []);
  } finally {
    await server.close();
  }
});

// Was a bug (found by this file), fixed: the client accepted a `welcome` with `resumed: true` that
// does not resume the session its hello named: with no session at all (it reports
// `resumed: true` on its first connection), or with another sid; in the second case it keeps
// its rx, so the new session's first messages are discarded as duplicates: a silent loss,
// under a `resume` event that says nothing was lost.
browserTest(
  "a welcome that claims a resume of a session the client did not name is refused (4002), not taken (which lost the new session's first messages silently)",
  { timeout: 30_000 },
  async (page) => {
    await openContinuity(page);
    const server = await startScripted(async (ctx) => {
      if (ctx.path === "/other-sid" && ctx.n === 1) return firstSessionThenDrop(ctx);
      const hello = JSON.parse((await ctx.next()).text);
      if (ctx.path === "/without-session" && ctx.n === 1) {
        ctx.send(ctx.welcome({ sid: SID, resumed: true, reason: undefined }));
      } else if (ctx.path === "/other-sid" && ctx.n === 2) {
        // Another session, said to be resumed; its messages are numbered from 1.
        ctx.send(ctx.welcome({ sid: OTHER_SID, resumed: true, reason: undefined, rx: 1 }));
        for (let i = 1; i <= 4; i++) ctx.send(`D${i},1;new-${i}`);
      } else return ctx.serveNewSession(hello);
      while (await ctx.next(10_000).catch(() => null));
    });
    try {
      const r = {};
      for (const name of ["without-session", "other-sid"]) {
        r[name] = await evalInPage(page, async ({ url }) => {
          const ws = new TetherSocket(url, undefined, { continuity: "prefer", minReconnectionDelay: 50, maxReconnectionDelay: 200 });
          const got = [];
          const rec = C.record(ws, (d) => got.push(d));
          await T.nextEvent(ws, "open", 5000);
          ws.send("m1");
          await T.sleep(1500);
          const out = { got, resumes: C.of(rec, "resume").map((e) => e.resumed) };
          ws.close();
          return out;
        }, { url: server.url(`/${name}`, name) });
      }
      const [noSession, otherSid] = [server.forKey("without-session"), server.forKey("other-sid")];
      console.log(
        `resumed without a session: resume events ${r["without-session"].resumes}, close code ${noSession[0].closeCode}; ` +
          `resumed with another sid: delivered ${r["other-sid"].got}, resume events ${r["other-sid"].resumes}, close code ${otherSid[1]?.closeCode}`,
      );
      assert.equal(noSession[0].closeCode, 4002, "a resumed welcome to a hello without a session: 4002");
      assert.ok(!r["without-session"].resumes.includes(true), "no resume event says resumed on a first connection");
      assert.equal(otherSid[1].closeCode, 4002, "a resumed welcome with another sid: 4002");
      assert.ok(!r["other-sid"].got.includes("new-4") || r["other-sid"].got.includes("new-1"), `no silent loss: ${r["other-sid"].got}`);
    } finally {
      await server.close();
    }
  },
);

browserTest("tokens: a forged one is refused (\"auth\") without harm to the session; a resume from elsewhere takes the session over (4001); the page's token stays good until the other side shows it got its welcome", { timeout: 30_000 }, async (page) => {
  await openContinuity(page);
  await withResources(async (add) => {
    const server = add(await startServer({}));
    const proxy = add(await startProxy({ upstreamPort: server.port, sniff: true }));
    await evalInPage(page, async ({ url }) => {
      const ws = new TetherSocket(url, undefined, { continuity: "prefer", minReconnectionDelay: 100, maxReconnectionDelay: 200 });
      const S = (window.S = { ws, got: [] });
      S.rec = C.record(ws, (d) => S.got.push(d));
      await T.nextEvent(ws, "open", 5000);
      ws.send("x");
      await T.waitFor(() => S.got.length === 1, 5000, "the echo");
      await T.sleep(400); // the delayed ack goes
    }, { url: proxy.url("/") });
    const w0 = lastWelcome(proxy, 0);
    const forged = await helloFromNode(server.url("/"), { sid: w0.sid, tok: "f".repeat(32), rx: 1 });
    assert.equal(forged.resumed, false);
    assert.equal(forged.reason, "auth");
    assert.notEqual(forged.sid, w0.sid, "a new session, not the page's");
    // The page's session is untouched.
    const still = await evalInPage(page, async () => {
      window.S.ws.send("y");
      await T.waitFor(() => window.S.got.length === 2, 5000, "the echo after the forged attempt");
      await T.sleep(400);
      return { got: window.S.got, closes: C.of(window.S.rec, "close").length };
    });
    assert.deepEqual(still, { got: ["x", "y"], closes: 0 });

    // The page's own token (sniffed from its welcome), from Node: a take-over. Node never
    // shows it got the welcome, as if that welcome had been lost: the page's token (the one
    // the take-over was made with) is still good, and the page takes its session back.
    const over1 = await helloFromNode(server.url("/"), { sid: w0.sid, tok: w0.tok, rx: 2 });
    assert.equal(over1.resumed, true);
    assert.equal(over1.sid, w0.sid);
    await waitFor(() => evalInPage(page, () => C.of(window.S.rec, "resume").length === 2 && window.S.ws.state === "open"), 5000, "the page's resume");
    // Again, with the page's newest token, and this time Node acks: the page's is stale.
    const w1 = lastWelcome(proxy, 1);
    assert.equal(w1.sid, w0.sid);
    const over2 = await helloFromNode(server.url("/"), { sid: w1.sid, tok: w1.tok, rx: 2 }, { ack: 2 });
    assert.equal(over2.resumed, true);
    const r = await evalInPage(page, async () => {
      const S = window.S;
      await T.waitFor(() => C.of(S.rec, "resume").length === 3 && S.ws.state === "open", 5000, "the page's next session");
      S.ws.send("z");
      await T.waitFor(() => S.got.length === 3, 5000, "the echo in the new session");
      const out = { events: S.rec.events, got: S.got };
      S.ws.close();
      return out;
    });
    assert.deepEqual(r.events.filter((e) => e.type === "close").map((e) => e.code), [4001, 4001], "both take-overs closed the page's socket with 4001 (superseded)");
    assert.deepEqual(resumes(r.events), [
      { resumed: false, reason: "new", resent: 0, dropped: 0 },
      { resumed: true, reason: null, resent: 0, dropped: 0 },
      { resumed: false, reason: "auth", resent: 0, dropped: 0 },
    ]);
    assert.deepEqual(r.got, ["x", "y", "z"]);
  });
});

// Was a bug (found by this file), fixed: under "prefer", a session whose next server selects the
// protocol and never welcomes ("no-welcome") goes on plain; the messages the session had sent
// without an acknowledgement are then neither sent again nor reported: the `resume` events
// say resent 0, dropped 0, and there is no `drop` event. A silent loss.
browserTest(
  "falling back to plain after a session (\"no-welcome\", then \"unsupported\"): the messages in doubt are re-sent plainly and counted, never lost silently",
  { timeout: 30_000 },
  async (page) => {
    await openContinuity(page);
    const server = await startScripted(async (ctx) => {
      if (ctx.protocol === "") {
        // Plain: an echo.
        for (let m; (m = await ctx.next(30_000)); ) ctx.send(m.text ?? m.binary, m.text === undefined);
        return;
      }
      await ctx.next(); // hello
      if (ctx.n === 1) {
        // A session; the page's three messages are taken and never acknowledged; then a drop.
        ctx.send(ctx.welcome({ sid: SID }));
        for (let i = 0; i < 3; i++) await ctx.next();
        await sleep(100);
        ctx.terminate();
        return;
      }
      while (await ctx.next(30_000).catch(() => null)); // never a welcome
    });
    try {
      const r = await evalInPage(page, async ({ url }) => {
        const ws = new TetherSocket(url, undefined, { continuity: "prefer", connectionTimeout: 800, minReconnectionDelay: 50, maxReconnectionDelay: 200 });
        const got = [];
        const rec = C.record(ws, (d) => got.push(d));
        await T.nextEvent(ws, "open", 5000);
        for (const m of ["m1", "m2", "m3"]) ws.send(m);
        await T.waitFor(() => C.of(rec, "resume").length === 3 && ws.state === "open", 8000, "the plain connection");
        ws.send("after");
        await T.waitFor(() => got.includes("after"), 5000, "the plain echo");
        const out = { got, events: rec.events };
        ws.close();
        return out;
      }, { url: server.url("/", "fallback") });
      const rs = resumes(r.events);
      const drops = r.events.filter((e) => e.type === "drop").map((e) => e.data);
      console.log(`fallback after a session: resume events ${JSON.stringify(rs)}; drop events ${JSON.stringify(drops)}; echoed on the plain connection ${JSON.stringify(r.got)}`);
      assert.deepEqual(rs.map((e) => e.reason), ["new", "no-welcome", "unsupported"]);
      const resent = rs.reduce((n, e) => n + e.resent, 0);
      const dropped = rs.reduce((n, e) => n + e.dropped, 0);
      assert.equal(resent + dropped, 3, "the three messages in doubt are re-sent or reported");
      assert.deepEqual(r.got.filter((m) => m !== "after").concat(drops).sort(), ["m1", "m2", "m3"], "each in-doubt message echoed on the plain connection or in a drop event");
    } finally {
      await server.close();
    }
  },
);

// ------------------------------------------------------------------ 8. binary payloads

browserTest("binary payloads both ways: ArrayBuffer or Blob as binaryType says, without the header; text stays a string", { timeout: 30_000 }, async (page) => {
  await openContinuity(page);
  const server = await startServer({});
  try {
    const r = await evalInPage(page, async ({ url }) => {
      const out = {};
      for (const binaryType of ["arraybuffer", "blob"]) {
        const ws = new TetherSocket(url, undefined, { continuity: "prefer", binaryType });
        const got = [];
        ws.addEventListener("message", (e) => got.push(e.data));
        await T.nextEvent(ws, "open", 5000);
        const header = [68, 49, 44, 48, 59]; // "D1,0;": a payload may look like a header
        const big = new Uint8Array(70_000).map((_, i) => (i * 7) & 255);
        const view = new Uint8Array([9, 9, 1, 2, 3, 9]).subarray(2, 5);
        ws.send(new Uint8Array([0, 1, 2, 255]).buffer);
        ws.send(view);
        ws.send(new Blob([new Uint8Array([7, 8])]));
        ws.send(new Uint8Array(header));
        ws.send(big);
        ws.send(new ArrayBuffer(0));
        ws.send("text é ✓");
        ws.send('{"t":"bye"}');
        await T.waitFor(() => got.length === 8, 5000, "8 echoes");
        const described = [];
        for (const d of got) {
          if (typeof d === "string") described.push({ kind: "string", value: d });
          else if (d instanceof ArrayBuffer) described.push({ kind: "arraybuffer", bytes: Array.from(new Uint8Array(d)) });
          else if (d instanceof Blob) described.push({ kind: "blob", bytes: Array.from(new Uint8Array(await d.arrayBuffer())) });
          else described.push({ kind: Object.prototype.toString.call(d) });
        }
        const bigBack = described[4];
        const bigOk = bigBack.bytes.length === big.length && bigBack.bytes.every((b, i) => b === big[i]);
        described[4] = { kind: bigBack.kind, big: bigOk };
        out[binaryType] = { described, binaryType: ws.binaryType };
        ws.close();
      }
      return out;
    }, { url: server.url("/") });
    for (const kind of ["arraybuffer", "blob"]) {
      assert.equal(r[kind].binaryType, kind);
      assert.deepEqual(r[kind].described, [
        { kind, bytes: [0, 1, 2, 255] },
        { kind, bytes: [1, 2, 3] },
        { kind, bytes: [7, 8] },
        { kind, bytes: [68, 49, 44, 48, 59] },
        { kind, big: true },
        { kind, bytes: [] },
        { kind: "string", value: "text é ✓" },
        { kind: "string", value: '{"t":"bye"}' },
      ], kind);
    }
  } finally {
    await server.stop();
  }
});

// --------------------------------------------- 9. the default entry; close() sends bye

browserTest("the default entry refuses continuity; close() sends bye and the server forgets the session (a cut does not)", { timeout: 30_000 }, async (page) => {
  await openContinuity(page);
  const refusal = await evalInPage(page, async () => {
    const { TetherSocket: Plain } = await import("/pkg/index.js");
    const out = {};
    for (const c of ["prefer", "required", { mode: "prefer" }, "off"]) {
      try {
        new Plain("ws://127.0.0.1:1/", undefined, { continuity: c, startClosed: true }).free();
        out[JSON.stringify(c)] = "accepted";
      } catch (e) {
        out[JSON.stringify(c)] = e instanceof Error ? `Error: ${e.message}` : `not an Error: ${e}`;
      }
    }
    return out;
  });
  const clear = 'Error: TetherSocket: `continuity` needs "tether-ws/continuity"';
  assert.deepEqual(refusal, { '"prefer"': clear, '"required"': clear, '{"mode":"prefer"}': clear, '"off"': "accepted" });

  await withResources(async (add) => {
    const server = add(await startServer({}));
    const proxy = add(await startProxy({ upstreamPort: server.port, sniff: true }));
    // One socket closed with close(), one whose connection is cut (it cannot come back).
    const r = await evalInPage(page, async ({ url }) => {
      const out = {};
      for (const name of ["closed", "cut"]) {
        const ws = new TetherSocket(url, undefined, { continuity: "prefer", minReconnectionDelay: 100, maxReconnectionDelay: 200 });
        const got = [];
        ws.addEventListener("message", (e) => got.push(e.data));
        await T.nextEvent(ws, "open", 5000);
        ws.send(`to be ${name}`);
        await T.waitFor(() => got.length === 1, 5000, "the echo");
        await T.sleep(400); // the client's delayed ack goes
        window[name] = ws;
        if (name === "closed") {
          ws.close();
          const e = await T.nextEvent(ws, "close", 5000);
          out.close = { code: e.code, wasClean: e.wasClean };
        }
      }
      return out;
    }, { url: proxy.url("/") });
    assert.deepEqual(r.close, { code: 1000, wasClean: true });
    proxy.refuse(true);
    assert.equal(proxy.cutAll(), 1, "the second socket's connection is cut");
    await waitFor(() => evalInPage(page, () => window.cut.state === "reconnecting"), 5000, "the cut socket to wait for a retry");

    // On the wire, from the closed socket: its data, then bye, then the close frame.
    const up0 = proxy.frames.filter((f) => f.conn === 0 && f.dir === "up").map((f) => (f.op === 8 ? `close ${f.code}` : f.text?.replace(/^D\d+,\d+;/, "D ")));
    assert.deepEqual(up0.filter((t) => !/^A\d+$/.test(t)), ['{"t":"hello","v":1,"sid":null,"tok":null,"rx":0,"window":256,"windowBytes":1048576}', "D to be closed", '{"t":"bye"}', "close 1000"]);
    const up1 = proxy.frames.filter((f) => f.conn === 1 && f.dir === "up").map((f) => f.text ?? `op ${f.op}`);
    assert.ok(!up1.includes('{"t":"bye"}'), "no bye from the cut one");

    // Each session's last credentials (sniffed from its welcome), in a hello from Node.
    const [w0, w1] = [lastWelcome(proxy, 0), lastWelcome(proxy, 1)];
    const afterBye = await helloFromNode(server.url("/"), { sid: w0.sid, tok: w0.tok, rx: 1 });
    const afterCut = await helloFromNode(server.url("/"), { sid: w1.sid, tok: w1.tok, rx: 1 });
    console.log(`bye: a resume of the closed session → ${JSON.stringify(afterBye)}; of the cut one → resumed ${afterCut.resumed}`);
    assert.equal(afterBye.t, "welcome");
    assert.equal(afterBye.resumed, false);
    assert.equal(afterBye.reason, "unknown", "the closed session was forgotten");
    assert.notEqual(afterBye.sid, w0.sid);
    assert.equal(afterCut.resumed, true, "the cut session, not closed, was still there");
    assert.equal(afterCut.sid, w1.sid);
    await evalInPage(page, () => window.cut.free());
  });
});

// --------------------------------- the heartbeat on a session: the protocol's ping

for (const impl of SERVER_IMPLS) {
browserTest("heartbeat on a session: the protocol's ping (never heartbeat.message), answered by pong; a connection whose server falls silent is given up and the session resumes" + ` [${impl} server]`, { timeout: 30_000 }, async (page) => {
  await openContinuity(page);
  await withResources(async (add) => {
    const server = add(await startServer({ impl }));
    const proxy = add(await startProxy({ upstreamPort: server.port, sniff: true }));
    await evalInPage(page, ({ url }) => {
      const ws = new TetherSocket(url, undefined, {
        continuity: "required",
        heartbeat: { intervalMs: 300, timeoutMs: 600, message: "hb" },
        minReconnectionDelay: 50,
        maxReconnectionDelay: 200,
      });
      const S = (window.S = { ws, got: [] });
      S.rec = C.record(ws, (data) => S.got.push(data));
    }, { url: proxy.url("/") });
    await pageOpen(page);
    await sleep(2000); // about 6 heartbeats
    const texts = (dir) => proxy.frames.filter((f) => f.conn === 0 && f.dir === dir).map((f) => f.text);
    const pings = texts("up").filter((t) => t === '{"t":"ping"}').length;
    const pongs = texts("down").filter((t) => t === '{"t":"pong"}').length;
    console.log(`[${impl}] in 2 s: ${pings} pings, ${pongs} pongs`);
    assert.ok(pings >= 3, `pings went out (${pings})`);
    assert.equal(pongs, pings, "each answered");
    assert.ok(!texts("up").some((t) => t?.includes("hb")), "heartbeat.message is not sent on a session");
    let r = await evalInPage(page, () => ({ events: window.S.rec.events, got: window.S.got }));
    assert.deepEqual(r.got, [], "no ping or pong delivered to the app");
    assert.deepEqual(r.events.filter((e) => e.type !== "open" && e.type !== "resume"), [], "one connection, nothing lost");

    // The server's frames stop arriving (pongs included): given up within the timeout.
    proxy.discardDown(true);
    const silentAt = Date.now();
    await waitFor(() => evalInPage(page, () => window.S.rec.events.some((e) => e.type === "reconnecting")), 5000, "a reconnect after the pongs stop");
    const gaveUpMs = Date.now() - silentAt;
    proxy.discardDown(false);
    r = await evalInPage(page, () => window.S.rec.events);
    const reconnecting = r.find((e) => e.type === "reconnecting");
    assert.equal(reconnecting.reason, "heartbeat-timeout");
    // Silent from the first ping after the cut-off until its timeout: at most interval + timeout.
    assert.ok(gaveUpMs <= 300 + 600 + 1500, `given up ${gaveUpMs} ms after the server fell silent`);
    await waitFor(() => evalInPage(page, () => window.S.rec.events.filter((e) => e.type === "open").length === 2), 5000, "the second connection");
    r = await evalInPage(page, () => window.S.rec.events);
    assert.deepEqual(resumes(r), [
      { resumed: false, reason: "new", resent: 0, dropped: 0 },
      { resumed: true, reason: null, resent: 0, dropped: 0 },
    ]);
    // The resumed session still carries messages (the echo comes back once).
    await evalInPage(page, () => window.S.ws.send("after"));
    await waitFor(() => evalInPage(page, () => window.S.got.includes("after")), 5000, "the echo after the resume");
    assert.deepEqual(await evalInPage(page, () => window.S.got), ["after"]);
    await evalInPage(page, () => window.S.ws.free());
  });
});
}

// --------------------------------- a server window smaller than the client's

for (const impl of SERVER_IMPLS) {
browserTest("a server window of 8 against the client's 256: the client acks every 4 at once, so a one-way feed never waits for the 250 ms ack timer" + ` [${impl} server]`, { timeout: 30_000 }, async (page) => {
  await openContinuity(page);
  await withResources(async (add) => {
    // A message every 2 ms, and the client sends nothing (no data frame to carry its acks).
    const server = add(await startServer({ impl, window: 8, feedMs: 2 }));
    const r = await evalInPage(page, async ({ url }) => {
      const ws = new TetherSocket(url, undefined, { continuity: "required" });
      const feed = [];
      ws.addEventListener("message", (e) => feed.push(JSON.parse(e.data).n));
      await new Promise((resolve) => ws.addEventListener("open", resolve, { once: true }));
      const start = feed.length;
      await T.sleep(1500);
      const got = feed.length - start;
      ws.free();
      return { got, inOrder: feed.every((n, i) => n === i + 1) };
    }, { url: server.url("/") });
    console.log(`[${impl}] server window 8: ${r.got} feed messages in 1.5 s`);
    assert.ok(r.inOrder);
    // Paced by the ack timer it would be 8 per 250 ms: at most 56 in 1.5 s.
    assert.ok(r.got >= 150, `${r.got} feed messages in 1.5 s: the client's acks waited for the timer`);
  });
});
}
