// The persistence test page's module (tests/js/persist.test.mjs): on every load it imports
// the npm entry `tether-ws/continuity` (/pkg/continuity.js), makes one socket per persist
// key with `continuity: { mode: "required", persist: "session", persistKey }`, sends
// numbered messages and records, synchronously in its listeners, everything that comes
// back, in its own sessionStorage keys (`<log>:…`, apart from the library's `tether-ws:…`).
// sessionStorage lives as long as the tab, so after any number of reloads (or a crash and a
// new navigation in the same tab) the test reads one log of every load and accounts for
// every message by number.
//
// Settings, from the query (or the hash, which wins):
//   ws=URL          the server (through the test's proxy)
//   keys=a,b        one socket per persist key (default "k"); "-": no persistKey (the URL is the key)
//   persist=off     the same sockets without persistence (a control: the test must see loss)
//   count=N         numbers to send per socket over all loads (default 0: only P.send())
//   every=MS        between two sends (default 20), batch=N messages each time (default 1)
//   bin=K           every K-th number is binary (0: none), cycling through FORMS
//                   (P.send(s, n, "big:N") sends text `c<i>~` and N "x"s: kinds "T")
//   binaryType=T    the sockets' binaryType (default "arraybuffer"; "blob" is read async)
//   resend=0        continuity.resend: false
//   window=N        continuity.window
//   storage=MODE    before the sockets are made: "throw" (setItem throws QuotaExceededError for
//                   the library's keys), "fill" (sessionStorage filled to its quota, for real),
//                   "unavailable" (reading window.sessionStorage throws SecurityError)
//   log=PREFIX      this test's log keys (default "test"); also localStorage PREFIX:hide
//
// The log, per socket s (0, 1, …), in sessionStorage:
//   <log>:s<s>      { pre, post, threw }: the last number given to send() (written before
//                   the call) and the last whose send() returned (written after it): every
//                   number ≤ post must come back exactly once, one in (post, pre] at most once
//   <log>:s<s>:L<n> what load n of the page saw: resumes, errors, closes, drops, echoes (the
//                   numbers, in order of arrival), kinds (one letter per echo: t text,
//                   a ArrayBuffer, B Blob), got (messages received, any kind), feed (the
//                   server's {"n":k} as [k, its place among the messages of this load]),
//                   bad (foreign or malformed messages); each resume with gotAt (the
//                   messages of this load before it)
//   <log>:page      { loads, stopped, uncaught: [...] }
// and in localStorage <log>:hide, counts of pagehide, unload, beforeunload, visibilitychange
// to hidden and freeze, across loads (a crash runs none of them).
//
// window.P is the page's API for the test (every method returns plain data).

const params = new URLSearchParams(location.search);
if (location.hash.length > 1) for (const [k, v] of new URLSearchParams(location.hash.slice(1))) params.set(k, v);
const num = (name, dflt) => (params.has(name) ? Number(params.get(name)) : dflt);
const cfg = {
  ws: params.get("ws"),
  keys: (params.get("keys") ?? "k").split(","),
  persist: params.get("persist") ?? "session",
  count: num("count", 0),
  every: num("every", 20),
  batch: num("batch", 1),
  bin: num("bin", 0),
  binaryType: params.get("binaryType") ?? "arraybuffer",
  resend: params.get("resend") !== "0",
  window: params.has("window") ? num("window") : undefined,
  storage: params.get("storage") ?? "",
  log: params.get("log") ?? "test",
};
/** The binary forms send() is given: all carry the same 261 bytes (see `payload`). */
const FORMS = ["ab", "u8", "view", "dv"];

// The page's own storage, taken before anything can hide it (storage=unavailable).
const store = window.sessionStorage;
const setItem = Storage.prototype.setItem;
const getItem = Storage.prototype.getItem;

const P = (window.P = { cfg, ready: false, load: 0, socks: [], logFailures: 0, filled: 0 });
const get = (k) => {
  try {
    const v = getItem.call(store, k);
    return v === null ? null : JSON.parse(v);
  } catch {
    return null;
  }
};
const put = (k, v) => {
  try {
    setItem.call(store, k, JSON.stringify(v));
  } catch {
    P.logFailures += 1; // (storage=fill: the log lives in memory only)
  }
};

const pageKey = `${cfg.log}:page`;
const pageMeta = get(pageKey) ?? { loads: 0, stopped: false, uncaught: [] };
pageMeta.loads += 1;
P.load = pageMeta.loads;
put(pageKey, pageMeta);
const uncaught = (what) => {
  pageMeta.uncaught.push(`load ${P.load}: ${what}`);
  put(pageKey, pageMeta);
};
addEventListener("error", (e) => uncaught(`error: ${e.message}`));
addEventListener("unhandledrejection", (e) => uncaught(`unhandled rejection: ${e.reason?.stack ?? e.reason}`));

// What the page's lifecycle ran, in localStorage (a crash runs none of it).
const hideKey = `${cfg.log}:hide`;
const bump = (what) => {
  const h = JSON.parse(localStorage.getItem(hideKey) ?? "{}");
  h[what] = (h[what] ?? 0) + 1;
  localStorage.setItem(hideKey, JSON.stringify(h));
};
for (const t of ["pagehide", "unload", "beforeunload"]) addEventListener(t, () => bump(t));
document.addEventListener("visibilitychange", () => document.visibilityState === "hidden" && bump("hidden"));
document.addEventListener("freeze", () => bump("freeze"));

/** The 261 bytes of binary message `i` of socket `s`: s, i (u32, big endian), then 0..255. */
function payload(s, i) {
  const b = new Uint8Array(261);
  b[0] = s;
  new DataView(b.buffer).setUint32(1, i);
  for (let j = 0; j < 256; j++) b[5 + j] = j;
  return b;
}
/** Binary message `i` of socket `s` in `form`: an ArrayBuffer, a Uint8Array, a Uint8Array
 * view into the middle of a larger buffer, or a DataView likewise. */
function binary(s, i, form) {
  const b = payload(s, i);
  if (form === "ab") return b.buffer;
  if (form === "u8") return b;
  const big = new Uint8Array(261 + 20);
  big.fill(0xee);
  big.set(b, 7);
  if (form === "view") return new Uint8Array(big.buffer, 7, 261);
  if (form === "dv") return new DataView(big.buffer, 7, 261);
  throw new Error(`unknown form ${form}`);
}
/** The number in binary message `bytes` for socket `s`, or a string saying what is wrong. */
function parseBinary(s, bytes) {
  if (bytes.length !== 261) return `binary of ${bytes.length} bytes`;
  if (bytes[0] !== s) return `binary of socket ${bytes[0]}`;
  for (let j = 0; j < 256; j++) if (bytes[5 + j] !== j) return `binary byte ${5 + j} is ${bytes[5 + j]}`;
  return new DataView(bytes.buffer, bytes.byteOffset).getUint32(1);
}

function applyStorageMode(mode) {
  if (mode === "throw") P.breakStorage();
  else if (mode === "fill") P.fillStorage();
  else if (mode === "unavailable") {
    Object.defineProperty(window, "sessionStorage", {
      configurable: true,
      get() {
        throw new DOMException("sessionStorage is unavailable (test)", "SecurityError");
      },
    });
  } else if (mode) throw new Error(`unknown storage mode ${mode}`);
}

/** Makes setItem throw QuotaExceededError, from now on, for the library's keys. */
P.breakStorage = () => {
  Storage.prototype.setItem = function (k, v) {
    if (String(k).startsWith("tether-ws:")) {
      throw new DOMException(`Setting the value of '${k}' exceeded the quota (test).`, "QuotaExceededError");
    }
    return setItem.call(this, k, v);
  };
};
/** Fills sessionStorage (junk keys) until setItem really throws QuotaExceededError. */
P.fillStorage = () => {
  let size = 1 << 20;
  let i = 0;
  while (size >= 1) {
    try {
      setItem.call(store, `junk:${i++}`, "x".repeat(size));
      P.filled += size;
    } catch {
      size >>= 1;
    }
  }
  return P.filled;
};

const FEED = '{"n":';

function makeSocket(idx, key) {
  const tag = idx === 0 ? "" : `s${idx}:`;
  const metaKey = `${cfg.log}:s${idx}`;
  const meta = get(metaKey) ?? { pre: 0, post: 0, threw: [] };
  const recKey = `${metaKey}:L${P.load}`;
  const storageName = `tether-ws:${key === "-" ? cfg.ws : key}`;
  let before = { record: null, messages: 0 };
  try {
    const r = getItem.call(store, storageName);
    before.record = r && JSON.parse(r);
    for (let i = 0; i < store.length; i++) {
      const k = store.key(i) ?? "";
      if (k.startsWith(storageName) && /^[:#]\d+$/.test(k.slice(storageName.length))) before.messages += 1;
    }
  } catch (e) {
    before = { error: String(e) };
  }
  // got: the messages this load received (any kind), so that each feed message is kept as
  // [n, its place among them] and each resume with the count before it (gotAt).
  const rec = { load: P.load, t0: Date.now(), before, resumes: [], errors: [], closes: [], drops: [], opens: 0, got: 0, echoes: [], kinds: "", feed: [], bad: [] };
  const s = { idx, key, tag, meta, rec, ws: null };
  const save = () => put(recKey, rec);
  s.save = save;
  s.saveMeta = () => put(metaKey, meta);
  save();
  const continuity = { mode: "required", persist: cfg.persist };
  if (key !== "-") continuity.persistKey = key;
  if (cfg.window !== undefined) continuity.window = cfg.window;
  if (!cfg.resend) continuity.resend = false;
  const ws = (s.ws = new window.TetherSocket(cfg.ws, [], {
    continuity,
    binaryType: cfg.binaryType,
    minReconnectionDelay: 20,
    maxReconnectionDelay: 300,
    connectionTimeout: 2000,
  }));
  ws.addEventListener("resume", (e) => {
    rec.resumes.push({ resumed: e.resumed, reason: e.reason, resent: e.resent, dropped: e.dropped, restored: e.restored, echoAt: rec.echoes.length, feedAt: rec.feed.length, gotAt: rec.got });
    save();
  });
  ws.addEventListener("open", () => {
    rec.opens += 1;
    save();
  });
  ws.addEventListener("error", (e) => {
    rec.errors.push(String(e.message));
    save();
  });
  ws.addEventListener("close", (e) => {
    rec.closes.push(e.code);
    save();
  });
  ws.addEventListener("drop", (e) => {
    const d = e.data;
    let what = typeof d === "string" ? d : d instanceof ArrayBuffer ? parseBinary(idx, new Uint8Array(d)) : Object.prototype.toString.call(d);
    if (typeof d === "string" && d.startsWith(`${tag}c`)) what = Number(d.slice(tag.length + 1));
    rec.drops.push({ reason: e.reason, what });
    save();
  });
  ws.addEventListener("message", (e) => {
    const d = e.data;
    rec.got += 1;
    if (typeof d === "string") {
      if (d.startsWith(FEED)) rec.feed.push([JSON.parse(d).n, rec.got]);
      else if (d.startsWith(`${tag}c`) && /^\d+(~x*)?$/.test(d.slice(tag.length + 1))) {
        const [n, pad] = d.slice(tag.length + 1).split("~");
        rec.echoes.push(Number(n));
        rec.kinds += pad === undefined ? "t" : "T";
      } else rec.bad.push(`text ${d.slice(0, 60)}`);
    } else if (d instanceof ArrayBuffer) {
      const n = parseBinary(idx, new Uint8Array(d));
      if (typeof n === "number") {
        rec.echoes.push(n);
        rec.kinds += "a";
      } else rec.bad.push(n);
    } else if (typeof Blob === "function" && d instanceof Blob) {
      // Read asynchronously: its place in the order is kept now, its number filled in later.
      const at = rec.echoes.length;
      rec.echoes.push(null);
      rec.kinds += "B";
      d.arrayBuffer().then((buf) => {
        const n = parseBinary(idx, new Uint8Array(buf));
        if (typeof n === "number") rec.echoes[at] = n;
        else rec.bad.push(n);
        save();
      });
    } else rec.bad.push(`message of type ${Object.prototype.toString.call(d)}`);
    save();
  });
  return s;
}

/** Sends the next number on socket `s` (a form from FORMS: binary; else by `bin`). */
function sendNext(s, form) {
  const m = s.meta;
  const i = (m.pre = Math.max(m.pre, m.post) + 1);
  s.saveMeta();
  if (form === undefined && cfg.bin > 0 && i % cfg.bin === 0) form = FORMS[(i / cfg.bin) % FORMS.length];
  const data = form?.startsWith("big:") ? `${s.tag}c${i}~${"x".repeat(Number(form.slice(4)))}` : form ? binary(s.idx, i, form) : `${s.tag}c${i}`;
  try {
    s.ws.send(data);
  } catch (e) {
    m.threw.push(i);
    s.rec.errors.push(`send(${i}) threw: ${e.message}`);
    s.save();
  }
  m.post = i;
  s.saveMeta();
  return i;
}

/** Sends `n` more numbers on socket `idx` (binary in `form`, if given); returns the last. */
P.send = (idx = 0, n = 1, form) => {
  let last = 0;
  for (let k = 0; k < n; k++) last = sendNext(P.socks[idx], form);
  return last;
};
/** Stops the automatic stream, on this load and the next ones. */
P.stop = () => {
  clearInterval(P.timer);
  pageMeta.stopped = true;
  put(pageKey, pageMeta);
};
/** Each socket: its state, what it holds, what this load saw so far. */
P.state = () =>
  P.socks.map((s) => ({
    state: s.ws.state,
    queued: s.ws.queuedMessages,
    pre: s.meta.pre,
    post: s.meta.post,
    resumes: s.rec.resumes.length,
    lastResume: s.rec.resumes.at(-1) ?? null,
    opens: s.rec.opens,
    echoes: s.rec.echoes.length,
    feed: s.rec.feed.length,
    errors: s.rec.errors.length,
  }));
/** The library's keys in sessionStorage: { name: value } (values cut at 300 chars). */
P.storage = () => {
  const out = {};
  for (let i = 0; i < store.length; i++) {
    const k = store.key(i);
    if (k.startsWith("tether-ws:")) out[k] = getItem.call(store, k).slice(0, 300);
  }
  return out;
};
/** The whole log: every load of every socket (this load's from memory, the freshest). */
P.dump = () => ({
  load: P.load,
  page: get(pageKey) ?? pageMeta,
  uncaught: pageMeta.uncaught,
  logFailures: P.logFailures,
  hide: JSON.parse(localStorage.getItem(hideKey) ?? "{}"),
  socks: P.socks.map((s) => {
    const loads = [];
    for (let n = 1; n <= P.load; n++) loads.push(n === P.load ? s.rec : get(`${cfg.log}:s${s.idx}:L${n}`));
    return { key: s.key, meta: s.meta, loads };
  }),
});
/** Each socket: the last number sent, how many echoes all loads got, its state. */
P.progress = () =>
  P.socks.map((s) => {
    let echoed = 0;
    let feed = 0;
    for (let n = 1; n <= P.load; n++) {
      const r = n === P.load ? s.rec : get(`${cfg.log}:s${s.idx}:L${n}`);
      echoed += (r?.echoes ?? []).filter((x) => x !== null).length;
      feed += r?.feed.length ?? 0;
    }
    return { post: s.meta.post, echoed, feed, state: s.ws.state, queued: s.ws.queuedMessages, resumes: s.rec.resumes.length };
  });
/** Tries to make one more socket with persist key `key`: {ok} (then frees it) or {threw}. */
P.construct = (key) => {
  try {
    const ws = new window.TetherSocket(cfg.ws, [], { continuity: { mode: "required", persist: "session", persistKey: key } });
    ws.free();
    return { ok: true };
  } catch (e) {
    return { threw: String(e.message), isError: e instanceof Error };
  }
};
/** send(Blob) on socket `idx`: what happened. */
P.sendBlob = (idx = 0) => {
  try {
    return { returned: P.socks[idx].ws.send(new Blob(["a blob"])) };
  } catch (e) {
    return { threw: String(e.message), isError: e instanceof Error };
  }
};
/** A continuity socket WITHOUT persistence sends a Blob: resolves with what came back. */
P.plainBlob = () =>
  new Promise((resolve) => {
    const ws = new window.TetherSocket(cfg.ws, [], { continuity: "required", binaryType: "arraybuffer" });
    const timer = setTimeout(() => {
      ws.free();
      resolve({ timeout: true });
    }, 10_000);
    ws.addEventListener("message", (e) => {
      if (typeof e.data === "string") return; // the feed
      clearTimeout(timer);
      const text = new TextDecoder().decode(e.data);
      ws.free();
      resolve({ echoed: text });
    });
    try {
      ws.send(new Blob(["a blob"]));
    } catch (e) {
      clearTimeout(timer);
      ws.free();
      resolve({ threw: String(e.message) });
    }
  });
/** Frees socket `idx` (its session ends: the library removes what it kept). */
P.free = (idx = 0) => P.socks[idx].ws.free();

try {
  const mod = await import("/pkg/continuity.js");
  window.TetherSocket = mod.TetherSocket;
  applyStorageMode(cfg.storage);
  cfg.keys.forEach((key, idx) => P.socks.push(makeSocket(idx, key)));
  if (cfg.count > 0 && !pageMeta.stopped) {
    P.timer = setInterval(() => {
      let more = false;
      for (const s of P.socks) {
        for (let k = 0; k < cfg.batch && s.meta.post < cfg.count; k++) sendNext(s);
        more ||= s.meta.post < cfg.count;
      }
      if (!more) clearInterval(P.timer);
    }, cfg.every);
  }
  P.ready = true;
} catch (e) {
  P.loadError = String((e && e.stack) || e);
  console.error("tether-ws persistence page:", P.loadError);
}
