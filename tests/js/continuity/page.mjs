// The continuity test page's module: loads the npm entry `tether-ws/continuity`
// (pkg/continuity.js, built by scripts/build-pkg.sh) as tests/js/pages/main.mjs loads the
// default entry, and adds a recorder for continuity sockets:
//   window.TetherSocket  the class of /pkg/continuity.js     window.tether  the module
//   window.wasm          init()'s result                      window.ready = true once loaded
//   window.C.record(ws, onMessage)  the events of `ws` as plain objects (resume included)
try {
  const mod = await import("/pkg/continuity.js");
  const wasm = await mod.init();
  window.tether = mod;
  window.TetherSocket = mod.TetherSocket;
  window.wasm = wasm;
  if (typeof mod.TetherSocket !== "function") {
    throw new Error("/pkg/continuity.js does not export a TetherSocket class");
  }
  window.C = makeRecorder();
  window.ready = true;
} catch (e) {
  window.loadError = String((e && e.stack) || e);
  console.error("tether-ws continuity page: loading /pkg/continuity.js failed:", window.loadError);
}

function makeRecorder() {
  const C = {};
  const TYPES = ["open", "close", "error", "reconnecting", "resume", "drop", "requeue"];
  /**
   * Records `ws`'s events but messages in `events`, as plain objects, in order, and calls
   * `onMessage(data)` for each message, if given. Returns the record.
   */
  C.record = (ws, onMessage) => {
    const rec = { events: [] };
    for (const type of TYPES) {
      ws.addEventListener(type, (e) => {
        const ev = { type, t: Math.round(performance.now()), state: ws.state };
        if (type === "close") Object.assign(ev, { code: e.code, reason: e.reason, wasClean: e.wasClean });
        else if (type === "error") ev.message = e.message;
        else if (type === "reconnecting") Object.assign(ev, { attempt: e.attempt, reason: e.reason });
        else if (type === "resume") Object.assign(ev, { resumed: e.resumed, reason: e.reason, resent: e.resent, dropped: e.dropped });
        else if (type === "drop") Object.assign(ev, { reason: e.reason, data: typeof e.data === "string" ? e.data : String(e.data) });
        else if (type === "requeue") Object.assign(ev, { count: e.count, bytes: e.bytes });
        else if (type === "open") ev.protocol = ws.protocol;
        rec.events.push(ev);
      });
    }
    if (onMessage) ws.addEventListener("message", (e) => onMessage(e.data));
    return rec;
  };
  /** The events of `rec` of these types. */
  C.of = (rec, ...types) => rec.events.filter((e) => types.includes(e.type));
  return C;
}
