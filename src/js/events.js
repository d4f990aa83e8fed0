// The TetherSocket's listeners and the events it fires, in plain JS.
//
// Listeners keeps the listeners (addEventListener's rules: functions and {handleEvent} objects,
// capture, once, signal, duplicates ignored) and the on* handlers, and calls them. Messages
// are handed over as the browser's own MessageEvent, straight from the socket's listener:
// no event is built, nothing is dispatched and no payload passes through wasm. The other
// events are built here and dispatched on a private EventTarget, whose only listener calls
// its listeners, so that for them `target` and `currentTarget` are that target.

import { sizeAbove } from "./helpers.js";

function report(error) {
  // Like an exception thrown by an event listener: reported, never propagated to the caller.
  if (typeof reportError === "function") reportError(error);
  else setTimeout(() => { throw error; });
}

// The event classes partysocket exports, with its constructor signatures. They are used for
// close events where the platform has no CloseEvent (Node 22 has a global WebSocket but no
// CloseEvent), and for every error event the socket fires (`message` says what failed:
// "TIMEOUT" for a connection timeout, as in reconnecting-websocket and partysocket).
export class CloseEvent extends Event {
  constructor(code = 1000, reason = "") {
    super("close");
    this.code = code;
    this.reason = reason;
    this.wasClean = true;
  }
}

export class ErrorEvent extends Event {
  constructor(error) {
    super("error");
    this.message = error instanceof Error ? error.message : "";
    this.error = error;
  }
}

// The on* handler properties, by the index the class uses.
const ON = ["open", "message", "close", "error"];

function handlers() {
  const on = Object.create(null);
  for (const type of ON) on[type] = null;
  return on;
}

// addEventListener's options argument: a boolean (capture) or an options object.
function readOptions(options, full) {
  if (options === undefined || options === null) return { capture: false };
  if (typeof options !== "object" && typeof options !== "function") return { capture: Boolean(options) };
  const capture = Boolean(options.capture);
  if (!full) return { capture };
  const once = Boolean(options.once);
  const signal = options.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError("Failed to execute 'addEventListener': option 'signal' is not an AbortSignal.");
  }
  return { capture, once, signal };
}

function checkListener(listener, method) {
  if (listener !== null && listener !== undefined && typeof listener !== "object" && typeof listener !== "function") {
    throw new TypeError(`Failed to execute '${method}': parameter 2 is not of type 'Object'.`);
  }
}

export class Listeners {
  constructor() {
    // type → array of listener records. The arrays are never changed in place (changes make
    // a new one), so a dispatch walks the listeners as they were when it started.
    this.lists = new Map();
    this.on = handlers();
    this.target = new EventTarget();
    this.runner = (e) => this.run(e.type, e, e.currentTarget);
    this.keep = undefined;
  }

  add(type, listener, options) {
    type = `${type}`;
    checkListener(listener, "addEventListener");
    const { capture, once, signal } = readOptions(options, true);
    if (listener === null || listener === undefined || (signal && signal.aborted) || this.lists === null) return;
    const list = this.lists.get(type) || [];
    if (list.some((r) => r.listener === listener && r.capture === capture)) return;
    const record = { listener, capture, once, signal, abort: null, removed: false };
    if (signal) {
      record.abort = () => this.drop(type, record);
      signal.addEventListener("abort", record.abort);
    }
    this.lists.set(type, [...list, record]);
  }

  remove(type, listener, options) {
    type = `${type}`;
    checkListener(listener, "removeEventListener");
    const { capture } = readOptions(options, false);
    const list = this.lists && this.lists.get(type);
    const record = list && list.find((r) => r.listener === listener && r.capture === capture);
    if (record) this.drop(type, record);
  }

  drop(type, record) {
    if (record.removed) return;
    record.removed = true;
    if (record.signal) record.signal.removeEventListener("abort", record.abort);
    const list = this.lists && this.lists.get(type);
    if (!list) return;
    const rest = list.filter((r) => r !== record);
    if (rest.length) this.lists.set(type, rest);
    else this.lists.delete(type);
  }

  // Calls the on* handler, then the listeners, with `self` as `this` for functions.
  run(type, event, self) {
    if (this.keep !== undefined && type !== this.keep) return;
    const handler = this.on[type];
    if (handler) {
      try { handler.call(self, event); } catch (e) { report(e); }
    }
    const list = this.lists && this.lists.get(type);
    if (!list) return;
    for (const r of list) {
      if (r.removed) continue;
      if (r.once) this.drop(type, r);
      try {
        const l = r.listener;
        if (typeof l === "function") l.call(self, event);
        else {
          const f = l.handleEvent;
          if (typeof f !== "function") throw new TypeError("The listener's handleEvent is not a function.");
          f.call(l, event);
        }
      } catch (e) { report(e); }
    }
  }

  getOn(i) {
    return this.on[ON[i]];
  }

  // Like the browser: anything but a function clears the handler.
  setOn(i, f) {
    this.on[ON[i]] = typeof f === "function" ? f : null;
  }

  // The `message` listener for socket `ws`: delivers here, and hands to `core` (the driver)
  // the messages it must see, those larger than `limit` bytes (the driver then closes).
  route(ws, core, limit) {
    return limit === Infinity
      ? (e) => this.run("message", e, ws)
      : (e) => (sizeAbove(e.data, limit) ? core(e) : this.run("message", e, ws));
  }

  // A message event from socket `ws` (its currentTarget, known without asking the event).
  message(event, ws) {
    this.run("message", event, ws);
  }

  fire(event) {
    if (this.lists === null) return;
    this.target.addEventListener(event.type, this.runner); // (a no-op after the first time)
    this.target.dispatchEvent(event);
  }

  // From now on only `type` events are delivered (free(): the queued messages' drop events,
  // not what the socket had decided before).
  keepOnly(type) {
    this.keep = type;
  }

  // Removes every listener and handler: nothing more is called, nothing is kept.
  dispose() {
    const lists = this.lists;
    if (lists === null) return;
    this.lists = null;
    this.on = handlers();
    for (const [type, list] of lists) for (const r of list) this.drop(type, r);
  }

  fireOpen() {
    this.fire(new Event("open"));
  }

  fireError(error) {
    this.fire(new ErrorEvent(error));
  }

  fireClose(code, reason, wasClean) {
    // The platform's CloseEvent, unless there is none or it is not this realm's Event (a
    // test setup that copies jsdom's CloseEvent onto Node's globals).
    const Platform = globalThis.CloseEvent;
    let event = typeof Platform === "function" ? new Platform("close", { code, reason, wasClean }) : null;
    if (!(event instanceof Event)) event = Object.assign(new CloseEvent(code, reason), { wasClean });
    this.fire(event);
  }

  fireWith(type, props) {
    this.fire(Object.assign(new Event(type), props));
  }

  fireReconnecting(attempt, delayMs, reason) {
    this.fireWith("reconnecting", { attempt, delayMs, reason });
  }

  fireStateChange(from, to) {
    this.fireWith("statechange", { from, to });
  }

  fireDrop(data, reason) {
    this.fireWith("drop", { data, reason });
  }

  fireRequeue(count, bytes) {
    this.fireWith("requeue", { count, bytes });
  }
}

// Calls a user hook; a throw is reported and `fallback` returned instead.
export function callHook(hook, arg, fallback) {
  try { return Boolean(hook(arg)); } catch (e) { report(e); return fallback; }
}

// Hides query strings and credentials in debug logs: they often carry tokens.
export function redactUrl(url) {
  if (url === "") return "(URL from a provider)";
  try {
    const u = new URL(url);
    if (u.search) u.search = "?redacted";
    if (u.username || u.password) { u.username = "redacted"; u.password = ""; }
    return u.href;
  } catch { return "(unparsable URL)"; }
}
