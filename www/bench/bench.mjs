// The benchmark page's code: loads tether-ws (pkg/, the npm package as users get it, from
// the snapshot www/bench/dist/pkg/ that scripts/bench.sh takes after building it), the
// esbuild bundles of reconnecting-websocket and partysocket, and the Rust-API bench crate
// (www/bench/rust → dist/rust), and exposes `window.bench`, which www/bench/run.mjs drives.
// `?ws=` is the Rust echo server (tests/server), `?cws=` the continuity reference server
// (www/server, `tether-server`: echoes every message to its session).
//
// Libraries ("lib" below):
//   raw          the browser WebSocket, nothing else (the limit); for the queue, reconnect
//                and memory scenarios a minimal hand-written reconnect + queue around it
//   raw-cont     the continuity protocol by hand over a browser WebSocket, against the
//                reference server (`?cws=`): the least client work the protocol allows
//                (throughput and latency only; see RawContinuity)
//   tether       TetherSocket from JS (pkg/index.js, the default entry)
//   tether-cont  TetherSocket from pkg/continuity.js ("tether-ws/continuity") with
//                continuity: "required", against the reference server (`?cws=`); its
//                message events carry the payload without the protocol's header
//   tether-cont-persist  the same with `persist: "session"` (the session and every message
//                not yet acknowledged written through to sessionStorage)
//   rust         tether_ws::Socket driven from Rust (everything inside the wasm bench crate)
//   rws          reconnecting-websocket 4.4
//   partysocket  partysocket 1.x (partysocket/ws, its generic ReconnectingWebSocket)
//   echo-tether, echo-gloo, echo-ws-stream
//                the same minimal echo app (www/bench/echo: common.rs) written with
//                tether-ws's Rust API, gloo-net's futures WebSocket and ws_stream_wasm, each
//                its own wasm (dist/echo/<name>/app.js; `?echo=` another dir, e.g. the builds
//                with names for profiling, dist/echo-names); throughput and latency only
//
// Every function has a time bound and rejects when it is exceeded.

const params = new URLSearchParams(location.search);
const WS = params.get("ws") || `ws://${location.hostname}:${Number(location.port) + 1}`;
const CWS = params.get("cws") || `ws://${location.hostname}:${Number(location.port) + 3}`;

let seq = 0;
// (The reference server ignores the path and the query: every connection is the echo.)
const url = (lib) => `${lib.includes("-cont") ? CWS : WS}/echo?key=bench-${lib}-${Date.now().toString(36)}-${++seq}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.now();

/** The same reconnect settings for every library: fixed 100 ms retry delay, no jitter. */
const COMMON = {
  minReconnectionDelay: 100,
  maxReconnectionDelay: 100,
  reconnectionDelayGrowFactor: 1.3,
  minUptime: 5000,
  connectionTimeout: 4000,
  maxRetries: Infinity,
  maxEnqueuedMessages: Infinity,
};

/** Minimal reconnect + queue around a raw WebSocket (what a hand-written client does). */
class RawReconnecting extends EventTarget {
  constructor(u, { startClosed = false } = {}) {
    super();
    this.url = u;
    this.queue = [];
    this.closed = false;
    this.timer = 0;
    this.ws = null;
    if (!startClosed) this._connect();
  }
  _connect() {
    const ws = (this.ws = new WebSocket(this.url));
    ws.binaryType = "arraybuffer";
    ws.onopen = () => {
      for (const m of this.queue) ws.send(m);
      this.queue = [];
      this.dispatchEvent(new Event("open"));
    };
    ws.onmessage = (e) => this.dispatchEvent(new MessageEvent("message", { data: e.data }));
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.dispatchEvent(new Event("close"));
      if (!this.closed) this.timer = setTimeout(() => this._connect(), COMMON.minReconnectionDelay);
    };
  }
  send(d) {
    if (this.ws && this.ws.readyState === 1) this.ws.send(d);
    else this.queue.push(d);
  }
  reconnect() {
    clearTimeout(this.timer);
    const old = this.ws;
    this.ws = null;
    if (old) {
      old.onopen = old.onmessage = old.onclose = null;
      old.close();
    }
    this.closed = false;
    this._connect();
  }
  close() {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close();
  }
}

/**
 * The continuity protocol written by hand over a raw WebSocket, as small as it can be: hello,
 * welcome, the data header on each message (with the ack riding on it), the header stripped
 * from each echo, the server's window respected (held messages go out as acks free it), an
 * ack frame when half the server's window is delivered unacked. No resume, no timers: a
 * floor for what the protocol and the reference server cost the main thread, to tell them
 * apart from the library's own cost (the `raw-cont` lib; only in throughput and latency).
 */
class RawContinuity extends EventTarget {
  constructor(u) {
    super();
    const ws = (this.ws = new WebSocket(u, ["tether.v1"]));
    ws.binaryType = "arraybuffer";
    this.seq = 0; // last seq sent
    this.acked = 0; // highest of ours the server acked
    this.rx = 0; // highest of the server's delivered
    this.rxAcked = 0; // highest rx we told the server
    this.window = 256;
    this.held = [];
    this.live = false;
    this.enc = new TextEncoder();
    ws.onopen = () => ws.send(JSON.stringify({ t: "hello", v: 1, sid: null, tok: null, rx: 0 }));
    ws.onmessage = (e) => this._frame(e.data);
    ws.onclose = () => this.dispatchEvent(new Event("close"));
  }
  _frame(d) {
    let first, ack, body;
    if (typeof d === "string") {
      first = d.charCodeAt(0);
      if (first === 0x7b) {
        const c = JSON.parse(d);
        if (c.t === "welcome") {
          this.live = true;
          if (c.window) this.window = Math.min(this.window, c.window);
          this.dispatchEvent(new Event("open"));
        }
        return;
      }
      if (first === 0x41) return this._acked(Number(d.slice(1)));
      const comma = d.indexOf(",");
      const semi = d.indexOf(";", comma);
      this.rx = Number(d.slice(1, comma));
      ack = Number(d.slice(comma + 1, semi));
      body = d.slice(semi + 1);
    } else {
      const b = new Uint8Array(d);
      let i = 1, seq = 0;
      for (; b[i] !== 0x2c; i++) seq = seq * 10 + b[i] - 48;
      ack = 0;
      for (i++; b[i] !== 0x3b; i++) ack = ack * 10 + b[i] - 48;
      this.rx = seq;
      body = d.slice(i + 1);
    }
    this._acked(ack);
    this.dispatchEvent(new MessageEvent("message", { data: body }));
    if (this.rx - this.rxAcked >= 128) this._ack();
  }
  _acked(ack) {
    if (ack > this.acked) this.acked = ack;
    while (this.held.length && this.seq - this.acked < this.window) this._write(this.held.shift());
  }
  _ack() {
    this.rxAcked = this.rx;
    this.ws.send(`A${this.rx}`);
  }
  _write(data) {
    const head = `D${++this.seq},${this.rx};`;
    this.rxAcked = this.rx;
    if (typeof data === "string") return this.ws.send(head + data);
    const h = this.enc.encode(head);
    const out = new Uint8Array(h.length + data.byteLength);
    out.set(h);
    out.set(data, h.length);
    this.ws.send(out);
  }
  send(data) {
    if (this.live && !this.held.length && this.seq - this.acked < this.window) this._write(data);
    else this.held.push(data);
  }
  close() {
    if (this.live) this.ws.send('{"t":"bye"}');
    this.ws.close(1000);
  }
}

let mods = null;
let tetherWasm = null;
let contWasm = null;
let rustWasm = null;
/** The minimal echo apps (www/bench/echo), by lib: dist/echo/<dir>/app.js. */
const ECHO = { "echo-tether": "tether", "echo-gloo": "gloo", "echo-ws-stream": "ws_stream" };
const ECHO_DIR = params.get("echo") || "./dist/echo";
const echoWasm = {};

function make(lib, u, { startClosed = false, plain = false } = {}) {
  switch (lib) {
    case "raw": {
      if (plain) {
        const ws = new WebSocket(u);
        ws.binaryType = "arraybuffer";
        return ws;
      }
      return new RawReconnecting(u, { startClosed });
    }
    case "tether":
      return new mods.TetherSocket(u, null, { ...COMMON, jitter: 0, binaryType: "arraybuffer", startClosed });
    case "raw-cont":
      return new RawContinuity(u);
    case "tether-cont":
      // The protocol's defaults (window 256 messages / 1 MiB, acks delayed up to 250 ms):
      // what an application gets.
      return new mods.TetherSocketC(u, null, { ...COMMON, jitter: 0, binaryType: "arraybuffer", startClosed, continuity: "required" });
    case "tether-cont-persist": {
      // The same, with the session written through to sessionStorage (a key per socket:
      // free() clears it).
      const continuity = { mode: "required", persist: "session", persistKey: `bench-${++seq}` };
      return new mods.TetherSocketC(u, null, { ...COMMON, jitter: 0, binaryType: "arraybuffer", startClosed, continuity });
    }
    case "rws": {
      const s = new mods.RWS(u, [], { ...COMMON, startClosed });
      s.binaryType = "arraybuffer";
      return s;
    }
    case "partysocket": {
      const s = new mods.PS(u, [], { ...COMMON, startClosed });
      s.binaryType = "arraybuffer";
      return s;
    }
    default:
      throw new Error(`unknown lib ${lib}`);
  }
}

function dispose(s) {
  try {
    s.close();
  } catch {}
  if (typeof s.free === "function") {
    try {
      s.free();
    } catch {}
  }
}

/** Resolves on the next `type` event of `s`, rejects after `ms`. */
function once(s, type, ms, what = type) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      s.removeEventListener(type, f);
      reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
    }, ms);
    const f = (e) => {
      clearTimeout(t);
      s.removeEventListener(type, f);
      resolve(e);
    };
    s.addEventListener(type, f);
  });
}

async function open(lib, opts) {
  const s = make(lib, url(lib), opts);
  try {
    await once(s, "open", 10_000, `${lib} open`);
  } catch (e) {
    dispose(s);
    throw e;
  }
  return s;
}

function payload(size, binary) {
  return binary ? new Uint8Array(size).fill(0x5a) : "x".repeat(size);
}

/** `p`, or a rejection after `ms` (the echo apps have no timer of their own). */
function bounded(p, ms, what) {
  let t;
  const timeout = new Promise((_, reject) => {
    t = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(t));
}

function echoOnly(lib, what) {
  if (ECHO[lib]) throw new Error(`${what}: not measured for ${lib} (the echo apps do throughput and latency only)`);
}

/** Keeps `window` sends in flight until `n` echoes came back; ms from first send to last echo. */
function pipeline(s, n, data, windowSize, timeoutMs) {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let received = 0;
    let bytes = 0;
    const timer = setTimeout(() => {
      s.removeEventListener("message", onMessage);
      reject(new Error(`pipeline: ${received}/${n} echoes after ${timeoutMs} ms`));
    }, timeoutMs);
    // Every listener reads `data`, as real code does: for text, Chromium makes the JS
    // string on first access, so a listener that ignores `data` would flatter raw WebSocket.
    const onMessage = (e) => {
      bytes += typeof e.data === "string" ? e.data.length : e.data.byteLength;
      received += 1;
      if (sent < n) {
        s.send(data);
        sent += 1;
      }
      if (received === n) {
        const ms = now() - t0;
        clearTimeout(timer);
        s.removeEventListener("message", onMessage);
        resolve(ms);
      }
    };
    s.addEventListener("message", onMessage);
    const t0 = now();
    const first = Math.min(n, windowSize);
    for (; sent < first; sent += 1) s.send(data);
  });
}

async function throughput({ lib, n, size, binary, window: windowSize, timeoutMs }) {
  if (lib === "rust") return mods.rust.throughput(url(lib), n, size, binary, windowSize, timeoutMs);
  if (ECHO[lib]) return bounded(mods.echo[lib].throughput(url(lib), n, size, binary, windowSize), timeoutMs, `${lib} throughput`);
  const s = await open(lib, { plain: true });
  try {
    return await pipeline(s, n, payload(size, binary), windowSize, timeoutMs);
  } finally {
    dispose(s);
  }
}

async function latency({ lib, n, warmup, size, timeoutMs }) {
  if (lib === "rust") return Array.from(await mods.rust.latency(url(lib), n, warmup, size, timeoutMs));
  if (ECHO[lib]) return Array.from(await bounded(mods.echo[lib].latency(url(lib), n, warmup, size), timeoutMs, `${lib} latency`));
  const deadline = now() + timeoutMs;
  const s = await open(lib, { plain: true });
  let pending = null;
  const onMessage = (e) => {
    if (typeof e.data !== "string") throw new Error("expected a text echo");
    const r = pending;
    pending = null;
    if (r) r();
  };
  s.addEventListener("message", onMessage);
  const data = payload(size, false);
  const samples = [];
  try {
    for (let i = 0; i < warmup + n; i++) {
      if (now() > deadline) throw new Error(`latency: ${i} round trips after ${timeoutMs} ms`);
      const got = new Promise((r) => (pending = r));
      const t0 = now();
      s.send(data);
      await got;
      if (i >= warmup) samples.push(now() - t0);
    }
    return samples;
  } finally {
    s.removeEventListener("message", onMessage);
    dispose(s);
  }
}

async function queueFlush({ lib, n, size, timeoutMs }) {
  if (lib === "rust") return mods.rust.queueFlush(url(lib), n, size, timeoutMs);
  echoOnly(lib, "queueFlush");
  const s = make(lib, url(lib), { startClosed: true });
  const data = payload(size, false);
  try {
    for (let i = 0; i < n; i++) s.send(data);
    return await new Promise((resolve, reject) => {
      let received = 0;
      const timer = setTimeout(
        () => reject(new Error(`queueFlush: ${received}/${n} echoes after ${timeoutMs} ms`)),
        timeoutMs,
      );
      s.addEventListener("message", (e) => {
        if (typeof e.data !== "string") return;
        received += 1;
        if (received === n) {
          clearTimeout(timer);
          resolve(now() - t0);
        }
      });
      const t0 = now();
      s.reconnect();
    });
  } finally {
    dispose(s);
  }
}

const control = (path) =>
  fetch(path, { cache: "no-store", signal: AbortSignal.timeout(5000) }).then((r) => {
    if (!r.ok) throw new Error(`GET ${path}: HTTP ${r.status}`);
    return r.text();
  });

async function reconnect({ lib, reps, downMs, timeoutMs }) {
  if (lib === "rust") return Array.from(await mods.rust.reconnect(url(lib), reps, downMs, control, timeoutMs));
  echoOnly(lib, "reconnect");
  const deadline = now() + timeoutMs;
  const s = await open(lib);
  const samples = [];
  try {
    for (let i = 0; i < reps; i++) {
      const left = () => Math.max(1, deadline - now());
      const closed = once(s, "close", left(), `${lib} close after /down`);
      await control("/down");
      await closed;
      await sleep(downMs);
      const opened = once(s, "open", left(), `${lib} open after /up`);
      const t0 = now();
      await control("/up");
      await opened;
      samples.push(now() - t0);
    }
    return samples;
  } finally {
    await control("/up").catch(() => {});
    dispose(s);
  }
}

// ----------------------------------------------------------------------- memory scenario
// Steps called one by one so that run.mjs can force GC and measure between them. The
// socket lives from memOpen to memClose.

let memSocket = null;

async function memOpen({ lib, timeoutMs }) {
  if (lib === "rust") return mods.rust.memOpen(url(lib), timeoutMs);
  echoOnly(lib, "memOpen");
  memSocket = await open(lib);
}

async function memMessages({ lib, n, size, window: windowSize, timeoutMs }) {
  if (lib === "rust") return mods.rust.memMessages(n, size, windowSize, timeoutMs);
  return pipeline(memSocket, n, payload(size, false), windowSize, timeoutMs);
}

async function memReconnects({ lib, cycles, budgetMs }) {
  if (lib === "rust") return mods.rust.memReconnects(cycles, budgetMs);
  const s = memSocket;
  const deadline = now() + budgetMs;
  let done = 0;
  while (done < cycles && now() < deadline) {
    const opened = once(s, "open", 10_000, `${lib} open after reconnect() #${done + 1}`);
    s.reconnect();
    await opened;
    done += 1;
  }
  return done;
}

function memClose({ lib }) {
  if (lib === "rust") return mods.rust.memClose();
  if (memSocket) dispose(memSocket);
  memSocket = null;
}

// ------------------------------------------------- reference server memory per session
// `n` continuity sockets (so `n` sessions, each on its own connection), each echoing
// `messages` 64 B texts, left open until sessionsClose; run.mjs reads the server's RSS
// around them.

let sessionSockets = [];

async function sessionsOpen({ n, messages, timeoutMs }) {
  const deadline = now() + timeoutMs;
  const left = () => Math.max(1, deadline - now());
  const opened = [];
  for (let i = 0; i < n; i++) {
    const s = make("tether-cont", url("tether-cont"));
    sessionSockets.push(s);
    opened.push(once(s, "open", left(), `session ${i + 1} open`));
  }
  await Promise.all(opened);
  await Promise.all(sessionSockets.map((s) => pipeline(s, messages, payload(64, false), messages, left())));
  return sessionSockets.length;
}

function sessionsClose() {
  for (const s of sessionSockets) dispose(s);
  sessionSockets = [];
}

/** Bytes of the wasm linear memory used by `lib` (0 for the pure-JS ones). */
function wasmMemory({ lib }) {
  if (lib === "tether") return tetherWasm.memory.buffer.byteLength;
  if (lib.startsWith("tether-cont")) return contWasm.memory.buffer.byteLength;
  if (lib === "rust") return rustWasm.memory.buffer.byteLength;
  if (ECHO[lib]) return echoWasm[lib].memory.buffer.byteLength;
  return 0;
}

try {
  const [tether, tetherC, RWS, PS, rust, ...echo] = await Promise.all([
    // The copy of pkg/ that scripts/bench.sh took right after building it (so that a
    // concurrent rebuild of pkg/ cannot change the package under a running benchmark).
    import(params.get("pkg") || "./dist/pkg/index.js"),
    // The continuity entry: its own bundle and its own wasm instance.
    import(params.get("cpkg") || "./dist/pkg/continuity.js"),
    import("./dist/rws.js").then((m) => m.default),
    import("./dist/partysocket.js").then((m) => m.default),
    import("./dist/rust/tether_bench.js"),
    ...Object.values(ECHO).map((dir) => import(`${ECHO_DIR}/${dir}/app.js`)),
  ]);
  tetherWasm = await tether.init();
  contWasm = await tetherC.init();
  rustWasm = await rust.default();
  const echoMods = {};
  for (const [i, lib] of Object.keys(ECHO).entries()) {
    echoWasm[lib] = await echo[i].default();
    echoMods[lib] = echo[i];
  }
  mods = { TetherSocket: tether.TetherSocket, TetherSocketC: tetherC.TetherSocket, RWS, PS, rust, echo: echoMods };
  window.bench = {
    throughput,
    latency,
    queueFlush,
    reconnect,
    memOpen,
    memMessages,
    memReconnects,
    memClose,
    wasmMemory,
    sessionsOpen,
    sessionsClose,
    crossOriginIsolated: self.crossOriginIsolated,
  };
  window.ready = true;
} catch (e) {
  window.loadError = String((e && e.stack) || e);
}
