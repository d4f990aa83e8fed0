// tether-ws/react: `useTetherSocket(url, protocols?, options?)`, a TetherSocket owned by a
// component. Built by scripts/build-pkg.sh into pkg/react.js and pkg/react.cjs with `react`
// and `tether-ws` left as imports, so the app and the hook share one TetherSocket class.
//
// How it stays correct under React's rules:
// - The socket is created during render, with `startClosed: true` (nothing opens, no timer:
//   safe in SSR), once per url/protocols/options value, kept in a ref. A ref, not useState or
//   useMemo: StrictMode calls those initializers twice and drops one result, while React
//   19's second render pass keeps the first pass's refs, so StrictMode creates one socket.
//   (React 18's second pass starts afresh: one extra socket, never opened, is dropped.)
// - Effects only say whether the component wants the socket open; the decision is carried
//   out in a microtask. StrictMode (mount, cleanup, mount), Fast Refresh and <Activity>
//   run effect cleanups and effects in one synchronous batch, so the socket sees only the
//   net result: one reconnect() on mount, nothing at all for a cleanup followed at once by
//   the same effect, one close() on unmount.
// - The hook never calls free(): a component's socket may be used again after its effects
//   are cleaned up (StrictMode, Fast Refresh, <Activity> hiding and showing, a child's
//   cleanup removing its listeners), and a freed socket throws on every use. A closed
//   socket holds no timer and no connection, and its wasm memory is released when it is
//   garbage-collected.
// - Handlers (`onOpen`, `onMessage`, ... every function option named on + an upper-case
//   letter) and function options (`shouldReconnect`, `heartbeat.isPong`, a url or protocols
//   provider...) are read from the latest committed render when they are called, so a new
//   inline function every render neither reconnects nor goes stale.

import { useEffect, useLayoutEffect, useRef } from "react";
import { TetherSocket } from "tether-ws";

// Layout effects do not run on the server (and React 18 warns about them there).
const useCommitEffect = typeof document === "undefined" ? useEffect : useLayoutEffect;

const isHandler = (name, value) => /^on[A-Z]/.test(name) && typeof value === "function";

// Plain objects are walked (options, heartbeat, continuity...); anything else is a value.
function isPlain(v) {
  if (v === null || typeof v !== "object") return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

// The options the socket is made with: handlers, `enabled` and `startClosed` left out; each
// function replaced by one that calls the same option of the latest render (`read()`).
// The `WebSocket` class is passed as it is: a class cannot be stood in for by a function.
function socketOptions(options, read, top = true) {
  const out = {};
  for (const [name, value] of Object.entries(options)) {
    if (top && (name === "enabled" || name === "startClosed" || isHandler(name, value))) continue;
    if (typeof value === "function" && name !== "WebSocket") {
      out[name] = (...args) => {
        const latest = read()?.[name];
        return typeof latest === "function" ? latest(...args) : undefined;
      };
    } else if (isPlain(value)) {
      out[name] = socketOptions(value, () => read()?.[name], false);
    } else out[name] = value;
  }
  return out;
}

// What decides whether the socket has to be replaced: url, protocols and options compared by
// value (JSON), functions only by being there, handlers and `enabled` not at all.
function identity(url, protocols, options) {
  const kept = {};
  for (const [name, value] of Object.entries(options)) {
    if (name !== "enabled" && name !== "startClosed" && !isHandler(name, value)) kept[name] = value;
  }
  return JSON.stringify([url, protocols ?? null, kept], (_, v) => (typeof v === "function" ? "\0function" : v));
}

// Asks for the socket of `entry` to be open or closed; the last wish of the current
// synchronous run is carried out in a microtask, and only if it changes something.
function want(entry, open) {
  entry.open = open;
  if (entry.scheduled) return;
  entry.scheduled = true;
  queueMicrotask(() => {
    entry.scheduled = false;
    if (entry.open === entry.opened) return;
    entry.opened = entry.open;
    const { socket } = entry;
    if (!alive(socket)) return;
    if (entry.open) socket.reconnect();
    else socket.close();
  });
}

// False once the app has called free() itself: the socket then throws on every use, and
// there is nothing left for the hook to do with it.
function alive(socket) {
  try {
    return socket.readyState >= 0;
  } catch {
    return false;
  }
}

/**
 * A TetherSocket for the lifetime of the component: open while mounted and `enabled`
 * (default true), closed on unmount, replaced when `url`, `protocols` or a non-function
 * option changes by value. `on*` handlers and other function options may change freely.
 */
export function useTetherSocket(url, protocols, options) {
  const opts = options ?? {};
  const enabled = opts.enabled ?? true;
  const latest = useRef(null);
  useCommitEffect(() => {
    latest.current = { url, protocols, options: opts };
  });

  const key = identity(url, protocols, opts);
  const ref = useRef(null);
  let entry = ref.current;
  if (entry === null || entry.key !== key) {
    const read = () => latest.current;
    const socket = new TetherSocket(
      typeof url === "function" ? () => read().url() : url,
      typeof protocols === "function" ? () => read().protocols() : protocols,
      { ...socketOptions(opts, () => read()?.options), startClosed: true },
    );
    entry = ref.current = { key, socket, open: false, opened: false, scheduled: false };
  }
  const { socket } = entry;

  // One listener per handler name, calling the latest handler of that name; re-attached only
  // when the set of names changes.
  const names = Object.keys(opts).filter((name) => isHandler(name, opts[name])).sort().join();
  useEffect(() => {
    if (!names) return undefined;
    const listeners = names.split(",").map((name) => {
      const listener = (event) => {
        const handler = latest.current?.options[name];
        if (typeof handler === "function") handler(event);
      };
      const type = name.slice(2).toLowerCase();
      socket.addEventListener(type, listener);
      return () => alive(socket) && socket.removeEventListener(type, listener);
    });
    return () => listeners.forEach((remove) => remove());
  }, [socket, names]);

  useEffect(() => {
    want(entry, enabled);
    return () => want(entry, false);
  }, [entry, enabled]);

  return socket;
}
