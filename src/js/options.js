// Reads the TetherSocket constructor's arguments: URL, protocols and the options object,
// with a clear error for every value of the wrong JS type. The options the core owns travel
// to Core as numbers; Core fills in their defaults and checks their ranges (Config::from_js,
// src/core/config.rs), so that each is written once, there.

import { checkProtocols, checkUrl, payloadKind } from "./helpers.js";

/* global CONTINUITY */

// The core's options (Config::js_options), in the order of the numbers Core takes (NaN: not
// given): name and type. tests/js_contract.rs checks this copy against the core's table.
const CORE_OPTIONS = [
  ["minReconnectionDelay", "number"],
  ["maxReconnectionDelay", "number"],
  ["reconnectionDelayGrowFactor", "number"],
  ["minUptime", "number"],
  ["maxRetries", "count"],
  ["jitter", "number"],
  ["connectionTimeout", "number"],
  ["maxEnqueuedMessages", "count"],
  ["maxEnqueuedBytes", "count"],
  ["maxMessageBytes", "count"],
  ["overflow", "overflow"],
  ["startClosed", "boolean"],
  ["reconnectOnOnline", "boolean"],
  ["pauseWhenHidden", "boolean"],
  ["heartbeat", "object"],
  ["heartbeat.intervalMs", "number"],
  ["heartbeat.timeoutMs", "number"],
];
// Then the continuity protocol's (read only by the "tether-ws/continuity" build's Core).
const CONTINUITY_OPTIONS = [
  ["continuity", "mode"],
  ["continuity.window", "count"],
  ["continuity.windowBytes", "count"],
  ["continuity.ackDelayMs", "number"],
  ["continuity.resend", "boolean"],
];
if (CONTINUITY) CORE_OPTIONS.push(...CONTINUITY_OPTIONS);
// Overflow's variants, by index (src/core/config.rs).
const OVERFLOW = ["drop-oldest", "drop-newest", "reject"];
// The continuity modes, by the number Core takes.
const MODES = ["off", "prefer", "required"];

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
    ? fail("no global WebSocket here: pass a class as the `WebSocket` option (in Node 20, the `ws` package's)")
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
  const number = (key) => {
    const v = get(key);
    if (v !== undefined && (typeof v !== "number" || Number.isNaN(v))) throw optionError(prefix + key, "a number");
    return v;
  };
  const boolean = (key) => {
    const v = get(key);
    if (v !== undefined && typeof v !== "boolean") throw optionError(prefix + key, "true or false");
    return v;
  };
  return {
    get,
    boolean,
    // The core's options named `prefix` + key, objects aside, into `n` (absent: left NaN).
    core(n) {
      CORE_OPTIONS.forEach(([name, type], i) => {
        const key = name.slice(prefix.length);
        if (!name.startsWith(prefix) || key.includes(".") || type === "object" || (CONTINUITY && type === "mode")) return;
        let v;
        if (type === "boolean") v = boolean(key);
        else if (type !== "overflow") v = number(key);
        else if ((v = get(key)) !== undefined && (v = OVERFLOW.indexOf(v)) < 0) {
          throw optionError(prefix + key, '"drop-oldest", "drop-newest" or "reject"');
        }
        if (v !== undefined) n[i] = Number(v);
      });
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

// `new TetherSocket(url, protocols, options)`: { url, shownUrl, protocols, n, debug,
// debugLogger, binaryType, options, shouldReconnect, message, isPong, continuity,
// persistKey }, or a thrown Error.
// `url` and `protocols` are checked values or provider functions; `n` is the core's options
// for `makeCore`; `message` and `isPong` are set only with a heartbeat.
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
  const n = (out.n = new Float64Array(CORE_OPTIONS.length).fill(NaN));
  r.core(n);
  out.debug = r.boolean("debug") ?? false;
  out.debugLogger = r.func("debugLogger");
  // partysocket calls it shouldReconnectOnClose.
  out.shouldReconnect = r.func("shouldReconnect") ?? r.func("shouldReconnectOnClose");
  const binaryType = r.get("binaryType");
  if (typeof binaryType === "string" && !BINARY_TYPES.includes(binaryType)) {
    throw optionError("binaryType", BINARY_TYPES_TEXT);
  }
  out.binaryType = typeof binaryType === "string" ? binaryType : "blob";
  // The WebSocket class is read again before every attempt (as reconnecting-websocket
  // does); here it only has to exist, except that a socket made with startClosed (absent:
  // false) and no `WebSocket` option (server-side rendering in Node 20, say) is checked at
  // reconnect().
  out.options = options;
  if (!webSocketClass(options) && (r.get("WebSocket") !== undefined || !r.boolean("startClosed"))) {
    throw noWebSocket(options);
  }
  // `continuity`: a mode, or an object with `mode` ("prefer" when absent) and the settings.
  const continuity = r.get("continuity");
  if (!CONTINUITY && continuity !== undefined && continuity !== "off") {
    throw fail('`continuity` needs "tether-ws/continuity"');
  }
  if (CONTINUITY && continuity !== undefined) {
    const c = reader(isObject(continuity) ? continuity : undefined, "continuity.");
    const mode = MODES.indexOf(isObject(continuity) ? c.get("mode") ?? "prefer" : continuity);
    if (mode < 0) throw optionError("continuity", '"off", "prefer" or "required", or an object with `mode`');
    n[CORE_OPTIONS.findIndex(([key]) => key === "continuity")] = mode;
    c.core(n);
    out.continuity = mode > 0;
    // `persist: "session"`: the session kept in sessionStorage across page loads, under
    // `persistKey` (default: the URL, which a URL provider does not have).
    const persist = c.get("persist");
    if (persist !== undefined && persist !== "off" && persist !== "session") {
      throw optionError("continuity.persist", '"off" or "session"');
    }
    const persistKey = c.get("persistKey");
    if (persistKey !== undefined && (typeof persistKey !== "string" || persistKey === "" || persistKey.includes("#"))) {
      throw optionError("continuity.persistKey", 'a non-empty string without "#"');
    }
    if (persist === "session" && mode > 0) {
      out.persistKey = persistKey ?? out.shownUrl;
      if (!out.persistKey) throw optionError("continuity.persistKey", "a string (required with a URL provider)");
    }
  }
  const heartbeat = r.get("heartbeat");
  if (heartbeat !== undefined) {
    if (!isObject(heartbeat)) throw optionError("heartbeat", "an object");
    n[CORE_OPTIONS.findIndex(([key]) => key === "heartbeat")] = 1;
    const h = reader(heartbeat, "heartbeat.");
    h.core(n);
    const message = h.get("message");
    if (message !== undefined && !payloadKind(message)) {
      throw optionError("heartbeat.message", "a string, ArrayBuffer, ArrayBufferView or Blob");
    }
    out.message = message === undefined ? "ping" : message;
    out.isPong = h.func("isPong");
  }
  return out;
}

// The Core for parsed options `p`: it fills in the defaults and checks the ranges (the
// problem in `text`, then thrown). Sets `p.maxMessageBytes` (Infinity: no limit) and
// `p.pauseWhenHidden` to the values in force.
export function makeCore(Core, p, seed, now) {
  const core = new Core(p.n, seed, now);
  const problem = core.text;
  if (problem) {
    core.free();
    throw fail(problem);
  }
  p.maxMessageBytes = core.a;
  p.pauseWhenHidden = core.b === 1;
  return core;
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
