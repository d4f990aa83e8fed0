// Builds and dispatches the TetherSocket events. Plain JS: event objects are created and
// handed to listeners without any payload passing through wasm memory.

function report(error) {
  // Like an exception thrown by an event listener: reported, never propagated to the caller.
  if (typeof reportError === "function") reportError(error);
  else setTimeout(() => { throw error; });
}

function fire(target, handler, event) {
  if (typeof handler === "function") {
    try { handler.call(target, event); } catch (e) { report(e); }
  }
  target.dispatchEvent(event);
}

function withProps(type, props) {
  return Object.assign(new Event(type), props);
}

export function fireOpen(target, handler) {
  fire(target, handler, new Event("open"));
}

export function fireError(target, handler) {
  fire(target, handler, new Event("error"));
}

export function fireMessage(target, handler, source) {
  // (lastEventId is always "" for WebSocket messages: leaving it out is measurably faster.)
  fire(target, handler, new MessageEvent("message", { data: source.data, origin: source.origin }));
}

export function fireClose(target, handler, code, reason, wasClean) {
  fire(target, handler, new CloseEvent("close", { code, reason, wasClean }));
}

export function fireReconnecting(target, attempt, delayMs, reason) {
  fire(target, undefined, withProps("reconnecting", { attempt, delayMs, reason }));
}

export function fireStateChange(target, from, to) {
  fire(target, undefined, withProps("statechange", { from, to }));
}

export function fireDrop(target, data, reason) {
  fire(target, undefined, withProps("drop", { data, reason }));
}

export function fireRequeue(target, count, bytes) {
  fire(target, undefined, withProps("requeue", { count, bytes }));
}

// Calls a user hook; a throw is reported and `fallback` returned instead.
export function callHook(hook, arg, fallback) {
  try { return Boolean(hook(arg)); } catch (e) { report(e); return fallback; }
}

export function isFunction(v) {
  return typeof v === "function";
}

// Hides query strings and credentials in debug logs: they often carry tokens.
export function redactUrl(url) {
  try {
    const u = new URL(url);
    if (u.search) u.search = "?…";
    if (u.username || u.password) { u.username = "…"; u.password = ""; }
    return u.href;
  } catch { return "(unparsable URL)"; }
}
