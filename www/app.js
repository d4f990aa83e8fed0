// The tether-ws cursor-sharing demo: every visitor sees everyone's cursor move live.
//
// The relay (www/relay) speaks JSON over /ws:
//   relay → us:   {type:"welcome", id, name, color}, then {type:"cursor", id, name, color, x, y}
//                 for everyone whose position is known; later cursor and {type:"leave", id}
//   us → relay:   {type:"move", x, y}   (x, y: fractions 0..1 of the viewport)
//
// What the library does here: reconnects with backoff and jitter when the relay goes away,
// queues what we send meanwhile, and - thanks to `send(data, { key: "cursor" })` - keeps
// only the latest cursor position in that queue, so a reconnect sends one message, not
// every mouse move made while offline.
//
// A second socket, with the continuity protocol (PROTOCOL.md), talks to the relay's /live
// (the reference server, tether-server): the relay sends {"n":k} every 500 ms (k = 1, 2, …
// per session) and echoes our {"m":k} (one a second). The "Delivery (continuity)" panel
// counts what arrives: across a network cut every number comes once and in order; a relay
// restart loses the session, and the `resume` event says so (resumed: false, "unknown").
// The session (`persist: "session"`) and the panel's counts are kept in sessionStorage, so a
// reload of the tab resumes the session and goes on counting: nothing lost or doubled.
// Cursors stay on the plain socket: for conflated positions at-most-once is right.

// The continuity entry: the same TetherSocket class as /pkg/index.js, with the
// `continuity` option (one module, one wasm instance, for both sockets).
import { TetherSocket } from "/pkg/continuity.js";

const $ = (id) => document.getElementById(id);
const ui = {
  panel: $("panel"),
  state: $("state"),
  retries: $("retries"),
  queued: $("queued"),
  replaced: $("replaced"),
  peers: $("peers"),
  meName: $("me-name"),
  meSwatch: $("me-swatch"),
  log: $("log"),
  layer: $("cursors"),
  empty: $("empty"),
  board: $("board"),
  delivery: $("delivery"),
};

const OPTIONS = { minReconnectionDelay: 500, maxReconnectionDelay: 5000, jitter: 0.5 };
const LOG_LINES = 6;

/** Other clients' cursors: id → { id, name, color, x, y, el, dirty }. */
const cursors = new Map();
/** Who the relay says we are: { id, name, color }, kept across reconnects. */
let me = null;
let ws = null;
/** Latest pointer position not yet handed to the socket. */
let pendingMove = null;
let sendScheduled = false;
let drawScheduled = false;
/** performance.now() at which the scheduled retry fires (from the `reconnecting` event). */
let retryAt = 0;
let replacedCount = 0;
let movesSent = 0;
let received = 0;

// --------------------------------------------------------------------------- socket

/**
 * The URL is a function: the library calls it before every attempt, so a reconnecting
 * page asks the relay to keep the name and colour it had.
 */
function relayUrl() {
  if (!me) return "/ws";
  const q = new URLSearchParams({ name: me.name, color: me.color });
  return `/ws?${q}`;
}

function connect() {
  ws = new TetherSocket(relayUrl, null, OPTIONS);

  ws.addEventListener("open", () => {
    log(me ? "open (reconnected)" : "open");
    render();
  });

  ws.addEventListener("message", (event) => {
    let msg;
    try {
      msg = JSON.parse(event.data);
    } catch {
      return; // not ours
    }
    received += 1;
    onRelayMessage(msg);
  });

  ws.addEventListener("close", (event) => {
    // Positions shown are no longer live; the next welcome brings a fresh snapshot.
    ui.layer.classList.add("stale");
    log(`close ${event.code}${event.reason ? ` "${event.reason}"` : ""}${event.wasClean ? "" : " (abrupt)"}`);
    render();
  });

  ws.addEventListener("reconnecting", (event) => {
    retryAt = performance.now() + event.delayMs;
    log(`retry #${event.attempt} in ${(event.delayMs / 1000).toFixed(1)} s · ${event.reason}`);
    render();
  });

  ws.addEventListener("statechange", () => render());

  ws.addEventListener("drop", (event) => {
    if (event.reason === "replaced") replacedCount += 1;
    else log(`dropped a queued message (${event.reason})`);
    render();
  });
}

function onRelayMessage(msg) {
  switch (msg.type) {
    case "welcome": {
      me = { id: msg.id, name: String(msg.name), color: String(msg.color) };
      ui.meName.textContent = me.name;
      ui.meSwatch.style.setProperty("--me", me.color);
      // A new session: the snapshot that follows replaces whatever we showed.
      for (const c of cursors.values()) c.el.remove();
      cursors.clear();
      ui.layer.classList.remove("stale");
      break;
    }
    case "cursor": {
      if (typeof msg.x !== "number" || typeof msg.y !== "number") return;
      let c = cursors.get(msg.id);
      const isNew = !c;
      if (!c) {
        c = { id: msg.id, el: makeCursor(msg.name, msg.color) };
        cursors.set(msg.id, c);
        c.el.classList.add("entering");
        ui.layer.append(c.el);
      }
      c.x = msg.x;
      c.y = msg.y;
      c.dirty = true;
      scheduleDraw();
      if (isNew) break; // a new cursor: update the panel
      return; // a move: nothing else changes
    }
    case "leave": {
      const c = cursors.get(msg.id);
      if (c) {
        c.el.remove();
        cursors.delete(msg.id);
      }
      break;
    }
    default:
      return;
  }
  render();
}

// --------------------------------------------------------------------------- pointer → relay

function onPointerMove(event) {
  pendingMove = {
    x: round4(event.clientX / Math.max(1, window.innerWidth)),
    y: round4(event.clientY / Math.max(1, window.innerHeight)),
  };
  if (!sendScheduled) {
    sendScheduled = true;
    // At most one message per animation frame (a hidden page has no frames).
    if (document.visibilityState === "hidden") setTimeout(sendMove, 50);
    else requestAnimationFrame(sendMove);
  }
}

function sendMove() {
  sendScheduled = false;
  if (!pendingMove || !ws) return;
  const data = JSON.stringify({ type: "move", x: pendingMove.x, y: pendingMove.y });
  pendingMove = null;
  // Sent at once when open; when not, it takes the place of the cursor move already
  // queued (a `drop` event with reason "replaced" reports the old one).
  ws.send(data, { key: "cursor" });
  movesSent += 1;
  renderCounters();
}

const round4 = (v) => Math.round(Math.min(1, Math.max(0, v)) * 10000) / 10000;

// --------------------------------------------------------------------------- drawing

const SVG_NS = "http://www.w3.org/2000/svg";

function makeCursor(name, color) {
  const el = document.createElement("div");
  el.className = "cursor";
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 22 22");
  const path = document.createElementNS(SVG_NS, "path");
  path.setAttribute("d", "M2 1.5 L2 18.5 L6.6 14.3 L9.7 21 L12.9 19.6 L9.9 13 L16.2 13 Z");
  path.setAttribute("fill", String(color));
  path.setAttribute("stroke", "#fff");
  path.setAttribute("stroke-width", "1.5");
  path.setAttribute("stroke-linejoin", "round");
  svg.append(path);
  const label = document.createElement("span");
  label.className = "label";
  label.textContent = String(name); // never innerHTML: names come from the network
  label.style.background = String(color);
  if (isLight(String(color))) label.classList.add("on-light");
  el.append(svg, label);
  return el;
}

/** Whether dark text reads better than white on `#rrggbb` (relative luminance). */
function isLight(hex) {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) return false;
  const [r, g, b] = m.slice(1).map((h) => {
    const c = parseInt(h, 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.36;
}

function scheduleDraw() {
  if (drawScheduled) return;
  drawScheduled = true;
  const draw = () => {
    drawScheduled = false;
    const w = window.innerWidth;
    const h = window.innerHeight;
    for (const c of cursors.values()) {
      if (!c.dirty) continue;
      c.dirty = false;
      // The arrow's tip (2, 1.5 in its 22×22 box) sits on the position.
      c.el.style.transform = `translate(${Math.round(c.x * w - 2)}px, ${Math.round(c.y * h - 1.5)}px)`;
      c.el.dataset.x = String(c.x);
      c.el.dataset.y = String(c.y);
      c.el.dataset.id = String(c.id);
    }
  };
  if (document.visibilityState === "hidden") setTimeout(draw, 50);
  else requestAnimationFrame(draw);
}

window.addEventListener("resize", () => {
  for (const c of cursors.values()) c.dirty = true;
  scheduleDraw();
});

// --------------------------------------------------------------------------- delivery panel

const LIVE_SEND_MS = 1000;
/** Where the panel keeps its counts: this tab's sessionStorage, beside the library's own
 * `tether-ws:demo-live…` keys, so that both outlive a reload. */
const LIVE_KEY = "tether-demo:delivery";
const LIVE_RESUMES_KEPT = 20;

/** What the continuity socket on /live delivered, counted since this tab's first load. */
const live = {
  ws: null,
  feed: { received: 0, gaps: 0, duplicates: 0, next: 1 },
  // `last`: the number of the latest {"m":k} sent (= `sent`, except in a duplicated tab).
  // `missing`: numbers below the highest echo that have no echo (echoes come in order, so
  // these were lost; one that still arrives fills its hole); `holes` is its size.
  msg: { sent: 0, last: 0, echoed: 0, duplicated: 0, holes: 0, maxEchoed: 0, missing: new Set() },
  /** The `resume` events, as plain objects, the last one shown. */
  resumes: [],
  /** How many times the counts were taken up from storage (0: this tab's first load). */
  reloads: 0,
  /** `resume` events since this load (none yet after a reload: "resuming…"). */
  resumesHere: 0,
  /** Why the session will not survive a reload, if it will not (storage failed). */
  notKept: "",
};

/** Writes the counts through to sessionStorage. Called, synchronously, by every handler
 * that changes them: a reload comes between tasks, so it finds them as the library's own
 * record (written at the end of the same task) says. */
function saveLive() {
  const { feed, msg, resumes, reloads } = live;
  try {
    sessionStorage.setItem(LIVE_KEY, JSON.stringify({ v: 1, feed, msg: { ...msg, missing: [...msg.missing] }, resumes, reloads }));
  } catch (e) {
    if (!live.notKept) live.notKept = `counts not kept (${e?.message ?? e})`;
  }
}

/** Takes up the counts an earlier load of this tab kept (nothing, or anything malformed:
 * the counts start at 0). */
function loadLive() {
  let saved;
  try {
    saved = JSON.parse(sessionStorage.getItem(LIVE_KEY) ?? "null");
  } catch {
    return;
  }
  const count = (v) => Number.isSafeInteger(v) && v >= 0;
  const f = saved?.feed, m = saved?.msg;
  if (saved?.v !== 1 || !f || !m || !Array.isArray(m.missing) || !Array.isArray(saved.resumes)) return;
  if (![f.received, f.gaps, f.duplicates, f.next, m.sent, m.last, m.echoed, m.duplicated, m.holes, m.maxEchoed, saved.reloads].every(count)) return;
  if (!m.missing.every(count) || m.missing.length !== m.holes) return;
  live.feed = { received: f.received, gaps: f.gaps, duplicates: f.duplicates, next: f.next };
  live.msg = { sent: m.sent, last: m.last, echoed: m.echoed, duplicated: m.duplicated, holes: m.holes, maxEchoed: m.maxEchoed, missing: new Set(m.missing) };
  live.resumes = saved.resumes.slice(-LIVE_RESUMES_KEPT);
  live.reloads = saved.reloads + 1;
  saveLive();
}

function connectLive() {
  loadLive();
  // `persist: "session"`: the library writes the session and every message not yet
  // acknowledged through to sessionStorage, and the next load in this tab resumes it (the
  // relay replays the feed we had not delivered, we re-send what it had not taken).
  const s = new TetherSocket("/live", null, {
    ...OPTIONS,
    continuity: { mode: "prefer", persist: "session", persistKey: "demo-live" },
  });
  live.ws = s;
  const loaded = { last: live.msg.last };
  s.addEventListener("resume", (e) => {
    // A duplicated tab (its sessionStorage a copy of another's) gets a session of its own:
    // the counts it copied are the other tab's, so it counts afresh from here.
    if (e.reason === "duplicated") {
      live.feed = { received: 0, gaps: 0, duplicates: 0, next: 1 };
      const m = live.msg;
      live.msg = { sent: m.last - loaded.last, last: m.last, echoed: 0, duplicated: 0, holes: 0, maxEchoed: loaded.last, missing: new Set() };
      live.resumes = [];
      live.reloads = 0;
    }
    live.resumes.push({ resumed: e.resumed, reason: e.reason, resent: e.resent, dropped: e.dropped, restored: e.restored });
    if (live.resumes.length > LIVE_RESUMES_KEPT) live.resumes.shift();
    live.resumesHere += 1;
    // A new session's feed starts again at 1 (what the lost one still had for us is gone,
    // and this event is how we know).
    if (!e.resumed) live.feed.next = 1;
    saveLive();
    renderLive();
  });
  s.addEventListener("message", (event) => {
    let msg;
    try {
      msg = JSON.parse(event.data);
    } catch {
      return;
    }
    if (Number.isSafeInteger(msg?.n)) onFeed(msg.n);
    else if (Number.isSafeInteger(msg?.m)) onEcho(msg.m);
    else return;
    saveLive();
    renderLive();
  });
  // The library's word that the session will not outlive a reload (storage failed, or
  // what an earlier load kept was refused and a new session began).
  s.addEventListener("error", (e) => {
    const text = String(e.error?.message ?? e.message ?? "");
    if (/^persistence off|new session begins/.test(text)) live.notKept = text;
    renderLive();
  });
  s.addEventListener("statechange", () => renderLive());
  // One numbered message a second, open or not: while the socket is down they wait in the
  // outbox (and in sessionStorage) and go out, in order, once it is back.
  setInterval(() => {
    const m = live.msg;
    m.sent += 1;
    m.last += 1;
    s.send(JSON.stringify({ m: m.last }));
    saveLive();
    renderLive();
  }, LIVE_SEND_MS);
}

function onFeed(n) {
  const f = live.feed;
  f.received += 1;
  if (n < f.next) {
    f.duplicates += 1;
    return;
  }
  f.gaps += n - f.next;
  f.next = n + 1;
}

function onEcho(m) {
  const g = live.msg;
  if (m > g.maxEchoed) {
    for (let k = g.maxEchoed + 1; k < m; k++) g.missing.add(k);
    g.maxEchoed = m;
  } else if (!g.missing.delete(m)) {
    g.duplicated += 1;
    return;
  }
  g.echoed += 1;
  g.holes = g.missing.size;
}

function resumeText(r) {
  if (!r) return ["", "–"];
  if (live.resumesHere === 0) return ["", "reloaded · resuming…"];
  const counts = `resent ${r.resent}, dropped ${r.dropped}`;
  const reload = r.restored ? " after reload" : "";
  if (r.resumed) return ["", `resumed${reload} · ${counts}`];
  if (r.reason === "new") return ["", `new session · ${counts}`];
  if (r.reason === "duplicated") return ["", `duplicated tab: new session · ${counts}`];
  return ["lost", `session lost (${r.reason})${reload} · ${counts}`];
}

function renderLive() {
  const s = live.ws;
  if (!s) return;
  const el = (id, text) => {
    const e = $(id);
    if (e.textContent !== text) e.textContent = text;
  };
  const state = s.state;
  const kind = state === "open" ? "open" : !navigator.onLine ? "offline" : state === "closed" ? "closed" : "connecting";
  if (ui.delivery.dataset.state !== kind) ui.delivery.dataset.state = kind;
  el("live-state", !navigator.onLine && state !== "open" ? "offline" : state);
  el("feed-received", String(live.feed.received));
  el("feed-gaps", String(live.feed.gaps));
  el("feed-dups", String(live.feed.duplicates));
  el("msg-sent", String(live.msg.sent));
  el("msg-echoed", String(live.msg.echoed));
  el("msg-lost", String(live.msg.holes));
  el("msg-dups", String(live.msg.duplicated));
  const [cls, text] = resumeText(live.resumes.at(-1));
  el("live-resume", text);
  $("live-resume").className = cls;
  const note = $("live-note");
  el("live-note", live.notKept ? `not kept across reloads: ${live.notKept}` : "");
  if (note.hidden !== !live.notKept) note.hidden = !live.notKept;
}

// --------------------------------------------------------------------------- status panel

function stateText() {
  if (!ws) return ["connecting", "connecting…"];
  const state = ws.state;
  if (!navigator.onLine && state !== "open") return ["offline", "offline"];
  switch (state) {
    case "open":
      return ["open", "open"];
    case "reconnecting": {
      const left = Math.max(0, (retryAt - performance.now()) / 1000);
      return ["reconnecting", left > 0.05 ? `reconnecting in ${left.toFixed(1)} s` : "reconnecting…"];
    }
    case "connecting":
      return ws.retryCount > 0
        ? ["reconnecting", `reconnecting (attempt ${ws.retryCount})…`]
        : ["connecting", "connecting…"];
    case "closing":
      return ["closing", "closing…"];
    default:
      return ["closed", "closed"];
  }
}

function render() {
  const [kind, text] = stateText();
  if (ui.panel.dataset.state !== kind) ui.panel.dataset.state = kind;
  if (ui.state.textContent !== text) ui.state.textContent = text;
  renderCounters();
  const open = ws?.state === "open";
  ui.peers.textContent = open ? String(cursors.size + 1) : "–";
  ui.empty.classList.toggle("hidden", cursors.size > 0);
}

function renderCounters() {
  if (!ws) return;
  ui.retries.textContent = String(ws.retryCount);
  ui.queued.textContent = String(ws.queuedMessages);
  ui.replaced.textContent = String(replacedCount);
}

function log(text) {
  const li = document.createElement("li");
  const time = document.createElement("time");
  time.textContent = new Date().toLocaleTimeString([], { hour12: false });
  li.append(time, text);
  ui.log.prepend(li);
  while (ui.log.children.length > LOG_LINES) ui.log.lastElementChild.remove();
}

function fatal(message) {
  const box = document.createElement("div");
  box.className = "fatal";
  box.textContent = message;
  document.body.append(box);
  ui.state.textContent = "error";
  ui.panel.dataset.state = "error";
}

// --------------------------------------------------------------------------- start

async function main() {
  try {
    connect(); // (the first TetherSocket compiles the package's wasm)
    connectLive();
  } catch (e) {
    fatal(`could not start the sockets from /pkg/continuity.js (build it with: bash scripts/build-pkg.sh): ${e}`);
    return;
  }
  ui.board.addEventListener("pointermove", onPointerMove);
  window.addEventListener("online", () => log("browser online") || render());
  window.addEventListener("offline", () => log("browser offline") || render());
  // Leaving the page: say goodbye now (others see our cursor leave at once); coming back
  // from the back/forward cache: connect again. Not the live socket: close() would end its
  // session, which the next load of this tab resumes (the library sends the acks it owes at
  // pagehide, and reconnects by itself on a pageshow from the cache).
  window.addEventListener("pagehide", () => ws.close(1000, "page closed"));
  window.addEventListener("pageshow", (e) => {
    if (e.persisted) ws.reconnect();
  });
  // The countdown and the queue counters move without events.
  setInterval(render, 100);
  setInterval(renderLive, 500);
  render();
  renderLive();
  // For the tests and the curious (devtools: `demo.ws.state`).
  window.demo = {
    get ws() {
      return ws;
    },
    get me() {
      return me;
    },
    cursors,
    get movesSent() {
      return movesSent;
    },
    get replaced() {
      return replacedCount;
    },
    get received() {
      return received;
    },
    /** The continuity socket and its counts (`live.ws`, `live.feed`, `live.msg`, `live.resumes`,
     * `live.reloads`), kept in sessionStorage across reloads. */
    live,
  };
}

main();
