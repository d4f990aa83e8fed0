// Page-side helpers for the JS tests (a classic script, loaded before the package).
// Everything lives on `window.T`. Every wait is bounded and rejects with a message
// naming what it waited for.
"use strict";
(() => {
  const T = {};
  window.T = T;

  // ---- WebSocket construction counter --------------------------------------------------
  // A transparent subclass that records each construction (url + time) and keeps NO
  // reference to the socket, so garbage collection (liveWebSocketCount) is unaffected.
  // The wasm-bindgen glue looks `WebSocket` up on the global object at call time, so
  // the library constructs its sockets through this class.
  const NativeWebSocket = window.WebSocket;
  window.__NativeWebSocket = NativeWebSocket;
  T.created = [];
  class WebSocket extends NativeWebSocket {
    constructor(url, protocols) {
      if (protocols === undefined) super(url);
      else super(url, protocols);
      T.created.push({ url: String(url), t: performance.now() });
    }
  }
  window.WebSocket = WebSocket;
  /** Number of WebSocket objects constructed so far in this page. */
  T.createdCount = () => T.created.length;

  // ---- time ----------------------------------------------------------------------------
  T.now = () => performance.now();
  T.sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  /** Polls `cond` (sync or async) every `everyMs` until truthy; rejects after `timeoutMs`. */
  T.waitFor = async (cond, timeoutMs, what = "condition", everyMs = 10) => {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const v = await cond();
      if (v) return v;
      if (performance.now() > deadline) {
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      }
      await T.sleep(everyMs);
    }
  };

  /**
   * Resolves with the next `type` event of `target` (optionally the next one for which
   * `pred(ev)` is true); rejects after `timeoutMs`. The listener is removed either way.
   */
  T.nextEvent = (target, type, timeoutMs, pred = () => true) =>
    new Promise((resolve, reject) => {
      const listener = (ev) => {
        let ok;
        try {
          ok = pred(ev);
        } catch (e) {
          cleanup();
          reject(e);
          return;
        }
        if (ok) {
          cleanup();
          resolve(ev);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        let state = "";
        try {
          state = ` (state=${target.state}, readyState=${target.readyState})`;
        } catch (_) {
          /* freed */
        }
        reject(new Error(`timed out after ${timeoutMs} ms waiting for a "${type}" event${state}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        try {
          target.removeEventListener(type, listener);
        } catch (_) {
          /* freed */
        }
      };
      target.addEventListener(type, listener);
    });

  // ---- describing events and data as plain (serialisable) objects ----------------------
  T.bytesOf = (data) => {
    if (data instanceof ArrayBuffer) return Array.from(new Uint8Array(data));
    if (ArrayBuffer.isView(data)) {
      return Array.from(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    }
    return null;
  };

  T.describeData = (data) => {
    if (typeof data === "string") return { kind: "string", value: data };
    if (data instanceof ArrayBuffer) return { kind: "arraybuffer", bytes: T.bytesOf(data) };
    if (ArrayBuffer.isView(data)) {
      return { kind: data.constructor.name, bytes: T.bytesOf(data) };
    }
    if (data instanceof Blob) return { kind: "blob", size: data.size };
    return { kind: typeof data, value: String(data) };
  };

  const safe = (f) => {
    try {
      return f();
    } catch (e) {
      return `<threw ${e && e.message}>`;
    }
  };

  T.describeEvent = (type, ev, ws) => {
    const r = {
      type,
      t: performance.now(),
      state: safe(() => ws.state),
      readyState: safe(() => ws.readyState),
    };
    switch (type) {
      case "message":
        r.data = T.describeData(ev.data);
        break;
      case "close":
        r.code = ev.code;
        r.reason = ev.reason;
        r.wasClean = ev.wasClean;
        break;
      case "reconnecting":
        r.attempt = ev.attempt;
        r.delayMs = ev.delayMs;
        r.reason = ev.reason === undefined ? undefined : String(ev.reason);
        break;
      case "statechange":
        r.from = ev.from;
        r.to = ev.to;
        break;
      case "drop":
        r.data = T.describeData(ev.data);
        r.reason = ev.reason === undefined ? undefined : String(ev.reason);
        break;
      default:
        break;
    }
    return r;
  };

  T.EVENT_TYPES = ["open", "message", "close", "error", "reconnecting", "statechange", "drop"];

  /** Records every event of `ws` (as plain objects) into the returned array. */
  T.track = (ws, types = T.EVENT_TYPES) => {
    const log = [];
    for (const type of types) {
      ws.addEventListener(type, (ev) => log.push(T.describeEvent(type, ev, ws)));
    }
    return log;
  };

  // ---- registry: sockets that live across several page.evaluate() calls ----------------
  T.sockets = {};
  /** new TetherSocket(...) tracked under `name`; returns its event log. */
  T.make = (name, url, protocols, options) => {
    const ws = new window.TetherSocket(url, protocols, options);
    const log = T.track(ws);
    T.sockets[name] = { ws, log };
    return log;
  };
  T.ws = (name) => {
    const s = T.sockets[name];
    if (!s) throw new Error(`no socket named ${name}`);
    return s.ws;
  };
  T.log = (name) => T.sockets[name].log;

  // ---- the test server's control API (same origin as this page) ------------------------
  T.control = async (path) => {
    const res = await fetch(path, { cache: "no-store" });
    if (!res.ok) throw new Error(`GET ${path} → HTTP ${res.status}`);
    const text = await res.text();
    try {
      return JSON.parse(text);
    } catch (_) {
      return text;
    }
  };
  T.stats = (key) => T.control(`/stats?key=${encodeURIComponent(key)}`);

  /** Runs `fn` and describes what it threw (or that it did not throw). */
  T.throwsWhat = (fn) => {
    try {
      const value = fn();
      return { threw: false, value: safe(() => String(value)) };
    } catch (e) {
      return {
        threw: true,
        isError: e instanceof Error,
        isRuntimeError: typeof WebAssembly !== "undefined" && e instanceof WebAssembly.RuntimeError,
        name: e && e.name,
        message: String(e && e.message !== undefined ? e.message : e),
      };
    }
  };
})();

// ---- page visibility (headless Chromium has no hidden tabs) ------------------------------
// Headless Chromium keeps every page visible and the DevTools protocol has no command to
// hide one, so the tests override `document.visibilityState` / `document.hidden` (own
// properties shadowing Document.prototype's getters) and fire `visibilitychange` as the
// browser does when a tab goes to the background or comes back.
(() => {
  const T = window.T;
  /** Makes the page look hidden (true) or visible (false) and fires visibilitychange. */
  T.setHidden = (hidden) => {
    const state = hidden ? "hidden" : "visible";
    Object.defineProperty(document, "visibilityState", { configurable: true, get: () => state });
    Object.defineProperty(document, "hidden", { configurable: true, get: () => hidden });
    document.dispatchEvent(new Event("visibilitychange"));
  };
})();
