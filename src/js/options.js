// Reads the TetherSocket constructor's arguments: URL, protocols and the options object,
// with a clear error for every value of the wrong type or out of range. Done in JS so that
// none of it has to be in the wasm binary; the ranges are those of Config::validate
// (src/core/config.rs), which the Rust API applies and Core checks again.

import { checkProtocols, checkUrl, payloadKind } from "../browser/helpers.js";

// The order in which Core (src/js/core.rs) reads the numbers of `n`.
const NUMBERS = [
  // name, default, kind: "n" number, "c" whole number >= 0 or Infinity, "b" boolean
  ["minReconnectionDelay", 1000, "n"],
  ["maxReconnectionDelay", 10000, "n"],
  ["reconnectionDelayGrowFactor", 1.3, "n"],
  ["minUptime", 5000, "n"],
  ["maxRetries", Infinity, "c"],
  ["jitter", 0.5, "n"],
  ["connectionTimeout", 4000, "n"],
  ["maxEnqueuedMessages", Infinity, "c"],
  ["maxEnqueuedBytes", Infinity, "c"],
  ["maxMessageBytes", Infinity, "c"],
];
const OVERFLOW = ["drop-oldest", "drop-newest", "reject"];
const MS = "a number of milliseconds >= 0";
const HEARTBEAT_MS = "a finite number of milliseconds > 0";

// binaryType values: the browser's, and the `ws` package's own.
export const BINARY_TYPES = ["blob", "arraybuffer", "nodebuffer", "fragments"];
export const BINARY_TYPES_TEXT = '"blob" or "arraybuffer" (or, with the `ws` package, "nodebuffer" or "fragments")';

// The WebSocket class to use for the next attempt: the `WebSocket` option, else the global
// one; undefined when neither is a WebSocket class (a function with CLOSING = 2, the test
// reconnecting-websocket and partysocket use).
export function webSocketClass(options) {
  let W;
  try {
    W = options?.WebSocket ?? globalThis.WebSocket;
    return typeof W === "function" && W.CLOSING === 2 ? W : undefined;
  } catch {
    return undefined;
  }
}

// The Error for a missing or invalid WebSocket class.
export function noWebSocket(options) {
  let given;
  try { given = options?.WebSocket; } catch { /* a throwing getter: invalid */ }
  return given === undefined || given === null
    ? fail("no WebSocket class: this environment has no global WebSocket; pass one as the `WebSocket` option (in Node 20, the `ws` package's class)")
    : optionError("WebSocket", "a WebSocket class (a constructor with CLOSING = 2, like the browser's or the `ws` package's)");
}

export function fail(message) {
  return new Error(`TetherSocket: ${message}`);
}

function optionError(name, expected) {
  return fail(`invalid option \`${name}\`: expected ${expected}`);
}

// Reads options from `obj` (absent: undefined or null) with names prefixed by `prefix`.
function reader(obj, prefix) {
  const get = (key) => {
    if (!obj) return undefined;
    let v;
    try { v = obj[key]; } catch { throw optionError(prefix + key, "a readable property"); }
    return v === null ? undefined : v;
  };
  const number = (key, fallback) => {
    const v = get(key);
    if (v === undefined) return fallback;
    if (typeof v !== "number" || Number.isNaN(v)) throw optionError(prefix + key, "a number");
    return v;
  };
  return {
    get,
    number,
    count(key) {
      const n = number(key, Infinity);
      if (n < 0 || (Number.isFinite(n) && !Number.isInteger(n))) {
        throw optionError(prefix + key, "a whole number >= 0 or Infinity");
      }
      return n;
    },
    boolean(key, fallback) {
      const v = get(key);
      if (v === undefined) return fallback;
      if (typeof v !== "boolean") throw optionError(prefix + key, "true or false");
      return v;
    },
    func(key) {
      const v = get(key);
      if (v !== undefined && typeof v !== "function") throw optionError(prefix + key, "a function");
      return v;
    },
  };
}

// An object in the broad sense (Object.create(null) and other realms' objects included).
function isObject(v) {
  return v !== null && (typeof v === "object" || typeof v === "function");
}

function check(ok, name, expected) {
  if (!ok) throw optionError(name, expected);
}

// `new TetherSocket(url, protocols, options)`: { url, shownUrl, protocols, n, debug,
// debugLogger, binaryType, options, pauseWhenHidden, maxMessageBytes, shouldReconnect,
// message, isPong }, or a thrown Error. `url` and `protocols`
// are checked values or provider functions; `message` and `isPong` are set only with a
// heartbeat.
export function parseOptions(url, protocols, options) {
  const out = {};
  if (typeof url === "function") {
    out.url = url;
    out.shownUrl = "";
  } else {
    if (typeof url !== "string") throw fail("url must be a string or a function returning one");
    try { out.url = out.shownUrl = checkUrl(url); } catch (e) { throw fail(e.message); }
  }
  if (typeof protocols === "function") out.protocols = protocols;
  else {
    try { out.protocols = checkProtocols(protocols); } catch (e) { throw fail(e.message); }
  }
  if (options !== undefined && options !== null && !isObject(options)) {
    throw fail("options must be an object");
  }
  const r = reader(options, "");
  const n = NUMBERS.map(([key, fallback, kind]) => (kind === "c" ? r.count(key) : r.number(key, fallback)));
  const overflow = r.get("overflow");
  const overflowIndex = overflow === undefined ? 0 : OVERFLOW.indexOf(overflow);
  if (overflowIndex < 0) throw optionError("overflow", '"drop-oldest", "drop-newest" or "reject"');
  n.push(
    overflowIndex,
    r.boolean("startClosed", false),
    r.boolean("reconnectOnOnline", true),
    (out.pauseWhenHidden = r.boolean("pauseWhenHidden", false)),
  );
  out.debug = r.boolean("debug", false);
  out.debugLogger = r.func("debugLogger");
  // partysocket calls it shouldReconnectOnClose.
  out.shouldReconnect = r.func("shouldReconnect") ?? r.func("shouldReconnectOnClose");
  const binaryType = r.get("binaryType");
  if (typeof binaryType === "string" && !BINARY_TYPES.includes(binaryType)) {
    throw optionError("binaryType", BINARY_TYPES_TEXT);
  }
  out.binaryType = typeof binaryType === "string" ? binaryType : "blob";
  // The WebSocket class is read again before every attempt (as reconnecting-websocket
  // does); here it only has to exist, except that a socket made with startClosed and no
  // `WebSocket` option (server-side rendering in Node 20, say) is checked at reconnect().
  out.options = options;
  if (!webSocketClass(options) && (r.get("WebSocket") !== undefined || !r.boolean("startClosed", false))) {
    throw noWebSocket(options);
  }
  const heartbeat = r.get("heartbeat");
  if (heartbeat === undefined) n.push(NaN, NaN);
  else {
    if (!isObject(heartbeat)) throw optionError("heartbeat", "an object");
    const h = reader(heartbeat, "heartbeat.");
    n.push(h.number("intervalMs", 30000), h.number("timeoutMs", 10000));
    const message = h.get("message");
    if (message !== undefined && !payloadKind(message)) {
      throw optionError("heartbeat.message", "a string, ArrayBuffer, ArrayBufferView or Blob");
    }
    out.message = message === undefined ? "ping" : message;
    out.isPong = h.func("isPong");
  }
  // The ranges (Config::validate), in its order.
  const [min, max, factor, uptime, , jitter, timeout, , , maxMessageBytes] = n;
  out.maxMessageBytes = maxMessageBytes;
  check(min >= 0 && Number.isFinite(min), "minReconnectionDelay", "a finite number of milliseconds >= 0");
  check(max >= 0, "maxReconnectionDelay", MS);
  check(factor >= 1 && Number.isFinite(factor), "reconnectionDelayGrowFactor", "a finite number >= 1");
  check(uptime >= 0, "minUptime", MS);
  check(jitter >= 0 && jitter <= 1, "jitter", "a number from 0 to 1");
  check(timeout > 0, "connectionTimeout", "a number of milliseconds > 0");
  if (heartbeat !== undefined) {
    const [interval, dead] = n.slice(-2);
    check(interval > 0 && Number.isFinite(interval), "heartbeat.intervalMs", HEARTBEAT_MS);
    check(dead > 0 && Number.isFinite(dead), "heartbeat.timeoutMs", HEARTBEAT_MS);
  }
  out.n = n.map(Number);
  return out;
}

// `send(data, { key })`: the replace key, or undefined.
export function sendKey(options) {
  if (options === undefined || options === null) return undefined;
  if (!isObject(options)) throw fail("send() options must be an object");
  let key;
  try { key = options.key; } catch { return undefined; }
  if (key === undefined || key === null) return undefined;
  if (typeof key !== "string") throw fail("send() option `key` must be a string");
  return key;
}
