// The npm package's TetherSocket: a drop-in for reconnecting-websocket's class, with
// WebSocket's surface plus our events and properties.
//
// The connection rules (backoff, outbox, in-flight log, close policy, heartbeat) are the
// Rust state machine, in wasm as `Core` (src/js/core.rs). This class is its browser driver
// for JS, the counterpart of the Rust API's driver (src/browser/driver.rs): it turns socket,
// timer and page events into Core inputs and carries out Core's actions. Payloads never
// enter wasm memory: Core holds slot numbers (slots.js).
//
// User code (listeners, hooks, providers) may call back into the socket at any time, free()
// included: free() releases Core only in a microtask, after the code running now is done.

// CONTINUITY (true or false) is set by scripts/build-pkg.sh for each entry: the continuity
// protocol is only in `tether-ws/continuity` (src/core/session.rs says why), and esbuild
// drops the code behind `CONTINUITY &&` from the others.
/* global CONTINUITY */

// "tether-ws-wasm" is how this entry gets its wasm (wasm_inline.js: the bytes inside the
// module; wasm_slim.js: a separate file loaded by init()); scripts/build-pkg.sh points it
// there when it bundles each entry. `load()` instantiates it (once) or throws.
import { Core, load } from "tether-ws-wasm";
import { isOnline, isVisible, payloadKind, providedProtocols, providedUrl, sizeAbove } from "./helpers.js";
import { callHook, Listeners, redactUrl } from "./events.js";
import { BINARY_TYPES, BINARY_TYPES_TEXT, fail, makeCore, noWebSocket, parseOptions, sendKey, webSocketClass } from "./options.js";
import { keep, slotData } from "./slots.js";
import { Persisted, persistable } from "./persist.js";

// Core's action kinds (KIND_* in src/js/core.rs) and the enums by variant index (src/core/
// machine.rs): tests/js_contract.rs checks these against the Rust definitions.
const CONNECT = 1, FLUSH = 2, HEARTBEAT = 3, CLOSE_SOCKET = 4, OPEN = 5, CLOSE = 6, ERROR = 7;
const RECONNECTING = 8, STATE_CHANGE = 9, DROP = 10, REQUEUE = 11;
const SEND_FRAME = 12, RESUME = 13;
const STATES = /** @type {const} */ (["connecting", "open", "closing", "reconnecting", "closed"]);
const RETRY_REASONS = ["closed", "connection-timeout", "heartbeat-timeout", "message-too-big"];
// The `message` of error events, by ErrorKind (src/core/machine.rs); a socket's own error
// carries the socket's message, if any.
const ERROR_MESSAGES = [undefined, "TIMEOUT", "message too big"];
const DROP_REASONS = ["overflow", "disposed", "replaced"];
// The continuity protocol's variants come last in each enum (only its entry meets them).
if (CONTINUITY) {
  RETRY_REASONS.push("protocol-error", "no-continuity");
  ERROR_MESSAGES.push("protocol error", "no continuity");
  DROP_REASONS.push("session-lost");
}
// How a continuity session began (SessionStart): the `reason` of `resume` events.
const SESSION_STARTS = ["resumed", "new", "unknown", "expired", "auth", "overflow", "unsupported", "no-welcome"];
// A data frame's header is at most 35 characters (src/core/continuity/frame.rs).
const HEADER_CHARS = 35;

// `header` followed by `data`, as one message of the same kind.
function framed(header, data) {
  if (typeof data === "string") return header + data;
  if (typeof Blob === "function" && data instanceof Blob) return new Blob([header, data]);
  const bytes = ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);
  const out = new Uint8Array(header.length + bytes.length);
  for (let i = 0; i < header.length; i++) out[i] = header.charCodeAt(i);
  out.set(bytes, header.length);
  return out;
}
// setTimeout takes at most 2^31-1 ms.
const MAX_DELAY = 2147483647;

const now = () => performance.now();

// `close(code?, reason?)` with their defaults; Core checks the values (code range, reason
// length) as the browser's WebSocket.close does.
function closeArgs(code, reason) {
  if (reason === undefined) reason = "";
  else if (typeof reason !== "string") throw fail("close() reason must be a string");
  if (code === undefined || code === null) code = 1000;
  return [typeof code === "number" ? code : NaN, reason];
}

// A frame of the continuity protocol on socket `id`, read by Core: the message event to
// deliver (its data without the header, binary as `binaryType` says), or undefined.
function unframe(core, id, e, binaryType) {
  const data = e.data;
  let payload;
  if (typeof data === "string") {
    const at = core.frameText(id, data[0] === "{" ? data : data.slice(0, HEADER_CHARS), data.length, now());
    if (at < 0) return undefined;
    payload = data.slice(at);
  } else {
    const bytes = new Uint8Array(data);
    const at = core.frameBinary(id, bytes.subarray(0, HEADER_CHARS), bytes.length, now());
    if (at < 0) return undefined;
    payload = data.slice(at);
    if (binaryType === "blob" && typeof Blob === "function") payload = new Blob([payload]);
  }
  return new MessageEvent("message", { data: payload, origin: e.origin });
}

// Kept on every socket we create, and never removed: the `ws` package throws an 'error' event
// that nobody listens to (e.g. "closed before the connection was established" after we let
// go of a connecting socket).
function ignore() {}

// Removes the page listeners of sockets collected without free() (made on first use: the
// module creates nothing at import).
let envRegistry;
const envCleanup = () =>
  (envRegistry ??= typeof FinalizationRegistry === "function" ? new FinalizationRegistry((stop) => stop()) : null);

const weakRef = (target) => (typeof WeakRef === "function" ? new WeakRef(target) : { deref: () => target });

// Closes `ws`, whatever its state and implementation.
function closeQuietly(ws, code, reason) {
  try {
    ws.close(code, reason);
  } catch {
    /* already closed, or a WebSocket class that throws */
  }
}

// Calls a URL or protocols provider; its result (awaited if a Promise) checked by `check`,
// undefined if it threw, rejected or gave something unusable.
async function provide(source, check) {
  if (typeof source !== "function") return source;
  try {
    return check(await source());
  } catch {
    return undefined;
  }
}

export class TetherSocket {
  #core;
  #listeners = new Listeners();
  #freed = false;
  #url; // a checked URL, or a provider
  #protocols; // a checked list, or a provider
  #lastUrl;
  #binaryType;
  #heartbeat; // the heartbeat message, when heartbeats are on
  #isPong;
  #shouldReconnect;
  #maxMessageBytes;
  #options; // the user's options object: its WebSocket class is read before every attempt
  #log; // the debug logger, when `debug` is on
  #closeCalled = false; // for the warning on send() after close()
  // The socket of attempt #wsId, and the function that removes our listeners from it.
  #ws = null;
  #wsId = -1;
  #framing; // the socket that speaks the continuity protocol, if one does
  #detachWs = null;
  #lastError; // the socket's error event, for the error event we fire
  // The one armed timer and the deadline it was armed for.
  #timer;
  #timerAt = Infinity;
  #detachEnv;
  #continuity; // the continuity option is on
  #persisted; // the session's storage, with continuity.persist
  // Sends that may still go straight to the open socket without asking Core (its
  // `directWrites`, asked after each input), and those written so, for Core (#settle).
  #direct = 0;
  #awaitingReply = -1; // the socket whose heartbeat Core waits to hear answered
  #ring = [];
  #ringLen = 0;
  #ringId = -1;

  constructor(url, protocols, options) {
    const p = parseOptions(url, protocols, options);
    this.#url = p.url;
    this.#protocols = p.protocols;
    this.#lastUrl = p.shownUrl;
    this.#binaryType = p.binaryType;
    this.#heartbeat = p.message;
    this.#isPong = p.isPong;
    this.#shouldReconnect = p.shouldReconnect;
    this.#options = p.options;
    if (p.debug) {
      const logger = p.debugLogger ?? ((...args) => console.log(...args));
      // (The logger's throws are its own business: reported, never let into the socket.)
      this.#log = (...args) => callHook(() => logger("RWS>", ...args), undefined, undefined);
    }
    // The wasm is compiled on the first construction, not at import.
    load();
    // A 53-bit seed from two draws.
    const seed = Math.floor(Math.random() * 2 ** 32) * 2 ** 21 + Math.floor(Math.random() * 2 ** 21);
    const core = (this.#core = makeCore(Core, p, seed, now()));
    this.#maxMessageBytes = p.maxMessageBytes;
    if (CONTINUITY) this.#continuity = p.continuity;
    if (CONTINUITY && p.persistKey !== undefined) {
      // (Storage problems are reported once the constructor's caller can listen.)
      const listeners = this.#listeners;
      const report = (message) => queueMicrotask(() => listeners.fireError(new Error(message)));
      const persisted = (this.#persisted = new Persisted(p.persistKey, report));
      persisted.takeUp(core);
    }
    if (!isOnline()) core.offline();
    if (p.pauseWhenHidden && !isVisible()) core.visibility(now(), false);
    this.#detachEnv = this.#watchEnv(p.pauseWhenHidden);
    this.#pump();
  }

  // ---- the API ----

  /**
   * Sends a string, ArrayBuffer, ArrayBufferView or Blob. Returns true when it was written to
   * the open socket, false when it was queued (or dropped under the overflow policy).
   * `options.key`: if the message has to be queued, it replaces the queued message sent with
   * the same key.
   */
  send(data, options) {
    const core = this.#live();
    if (!payloadKind(data)) {
      throw fail("send() accepts a string, ArrayBuffer, ArrayBufferView or Blob (not resizable, shared or detached)");
    }
    if (CONTINUITY && this.#persisted?.on && !persistable(data)) {
      throw fail("send() cannot keep a Blob in sessionStorage (continuity.persist): send its bytes (await blob.arrayBuffer())");
    }
    const key = sendKey(options);
    // Open, nothing queued: written now, told to Core with the next input (no wasm call).
    if (this.#direct > 0 && this.#writeDirect(data)) return true;
    this.#settle();
    const slot = keep(data);
    if (CONTINUITY && this.#persisted) this.#persisted.keep(slot, data);
    // (Core sizes it, through slots.js, only if it has to be queued.)
    const to = core.send(slot, key);
    if (this.#log) this.#log(to >= 0 ? "send" : "enqueue", data);
    if (to < 0 && this.#closeCalled) {
      this.#closeCalled = false; // once per close()
      console.warn("TetherSocket: send() was called after close(): it is queued until reconnect().");
    }
    const written = to >= 0 && this.#writeHeld(to, data, slot);
    this.#pump();
    if (to === -3) throw fail('send() refused: the outbox is full (overflow: "reject")');
    return written;
  }

  /** Closes the connection for good: no reconnect until `reconnect()`. */
  close(code, reason) {
    const core = this.#live();
    this.#settle();
    if (!core.close(now(), ...closeArgs(code, reason))) throw fail(core.text);
    this.#closeCalled = true;
    // (The session is over: its record goes.)
    if (CONTINUITY) this.#persisted?.changed();
    this.#pump();
  }

  /** Closes the current connection (if any) and connects again at once, backoff reset. */
  reconnect(code, reason) {
    const core = this.#live();
    // (Unchecked at construction under startClosed, for server-side rendering.)
    if (!webSocketClass(this.#options)) throw noWebSocket(this.#options);
    this.#settle();
    if (!core.reconnect(now(), ...closeArgs(code, reason))) throw fail(core.text);
    this.#closeCalled = false;
    this.#pump();
  }

  /**
   * Takes every queued message out of the outbox and returns them, oldest first, without
   * `drop` events (partysocket's method, e.g. to hand them to a replacement socket).
   */
  drainQueuedMessages() {
    const core = this.#live();
    const out = [];
    for (let slot; (slot = core.takeQueued()); ) out.push(slotData(slot));
    return out;
  }

  /** Adds a listener, with the rules of `EventTarget.addEventListener`. */
  addEventListener(type, listener, options) {
    this.#live();
    this.#listeners.add(type, listener, options);
  }

  /** Removes a listener, with the rules of `EventTarget.removeEventListener`. */
  removeEventListener(type, listener, options) {
    this.#live();
    this.#listeners.remove(type, listener, options);
  }

  /**
   * Stops everything: closes the socket, cancels the timer, removes every listener. Queued
   * messages are reported in `drop` events, then nothing more happens.
   */
  free() {
    const core = this.#live();
    this.#settle();
    this.#freed = true;
    const listeners = this.#listeners;
    listeners.keepOnly("drop");
    // Freed, the session is over: nothing of it stays in storage.
    if (CONTINUITY) this.#persisted?.end();
    core.dispose();
    this.#pump();
    this.#detach();
    clearTimeout(this.#timer);
    this.#detachEnv();
    listeners.dispose();
    queueMicrotask(() => core.free());
  }

  /** 0 connecting (also while waiting to retry), 1 open, 2 closing, 3 closed. */
  get readyState() {
    return this.#live().readyState();
  }

  /** "connecting", "open", "closing", "reconnecting" or "closed". */
  get state() {
    return STATES[this.#live().state()];
  }

  /** The URL of the current socket, else of the latest connection attempt. */
  get url() {
    this.#live();
    return this.#ws?.url ?? this.#lastUrl;
  }

  /** The subprotocol the server selected ("" when none or not open); with continuity, the
   * application's part of it. */
  get protocol() {
    const selected = this.#currentSocket()?.protocol ?? "";
    return CONTINUITY && this.#continuity ? Core.appProtocol(selected) : selected;
  }

  /** The extensions the server selected ("" when none or not open). */
  get extensions() {
    return this.#currentSocket()?.extensions ?? "";
  }

  /** Bytes not yet sent: the socket's buffer plus the outbox. */
  get bufferedAmount() {
    return (this.#currentSocket()?.bufferedAmount ?? 0) + this.#core.queuedBytes();
  }

  /** Retries since the last connection that stayed open for `minUptime`. */
  get retryCount() {
    return this.#live().retryCount();
  }

  /** Messages waiting in the outbox. */
  get queuedMessages() {
    return this.#live().queuedMessages();
  }

  /** Bytes waiting in the outbox. */
  get queuedBytes() {
    return this.#live().queuedBytes();
  }

  /** "blob" or "arraybuffer" (with the `ws` package also "nodebuffer" or "fragments"): the
   * current socket's, else the one set. */
  get binaryType() {
    this.#live();
    // (With continuity the socket's is "arraybuffer", to read headers synchronously.)
    return (!(CONTINUITY && this.#continuity) && this.#ws?.binaryType) || this.#binaryType;
  }

  set binaryType(value) {
    this.#live();
    if (!BINARY_TYPES.includes(value)) throw fail(`invalid option \`binaryType\`: expected ${BINARY_TYPES_TEXT}`);
    this.#binaryType = value;
    // (With continuity, a socket reads arraybuffers until it is open and known plain.)
    if (this.#ws && !(CONTINUITY && this.#continuity && (this.#framing === this.#wsId || this.#ws.readyState !== 1))) {
      this.#ws.binaryType = value;
    }
  }

  static {
    // onopen, onmessage, onclose, onerror; CONNECTING..CLOSED on the class and its
    // instances, as WebSocket has them.
    ["onopen", "onmessage", "onclose", "onerror"].forEach((name, i) => {
      Object.defineProperty(this.prototype, name, {
        get() {
          this.#live();
          return this.#listeners.getOn(i);
        },
        set(f) {
          this.#live();
          this.#listeners.setOn(i, f);
        },
        configurable: true,
      });
    });
    ["CONNECTING", "OPEN", "CLOSING", "CLOSED"].forEach((name, value) => {
      for (const target of [this, this.prototype]) {
        Object.defineProperty(target, name, { value, enumerable: true });
      }
    });
    // `using ws = new TetherSocket(...)` frees it at the end of the block.
    if (Symbol.dispose) this.prototype[Symbol.dispose] = this.prototype.free;
  }

  // ---- the driver ----

  #live() {
    if (this.#freed) throw fail("this socket was freed (free() was called)");
    return this.#core;
  }

  /** The socket of the current attempt, if it has one. */
  #currentSocket() {
    const core = this.#live();
    return this.#ws && this.#wsId === core.current() ? this.#ws : null;
  }

  /** Carries out Core's actions until there are none, then arms the timer. */
  #pump() {
    const core = this.#core;
    for (let kind; (kind = core.pollAction()); ) {
      const id = core.id;
      if (kind === CONNECT) this.#connect(id);
      else if (kind === FLUSH) this.#flush(id);
      else if (kind === HEARTBEAT) {
        // A failed heartbeat write needs no retry: the socket is closing.
        const m = this.#heartbeat;
        // (Core now waits for a reply: messages are news to it until one comes.)
        this.#awaitingReply = id;
        if (m !== undefined && this.#write(id, m) && core.heartbeatWritten(id, keep(m))) this.#reportBuffered(id);
      } else if (CONTINUITY && kind === SEND_FRAME) this.#write(id, core.text);
      else if (kind === CLOSE_SOCKET) this.#closeSocket(id, core.a, core.text, core.b !== 0);
      // Once freed, only the queued messages' drop events are told.
      else if (!this.#freed || kind === DROP) this.#emit(kind, core);
    }
    this.#armTimer();
    this.#direct = this.#freed || (CONTINUITY && this.#persisted) ? 0 : core.directWrites();
  }

  /** A send while Core allows writing without asking it: written to the open socket and
   * kept in the ring for Core. False when the socket did not take it (then Core decides). */
  #writeDirect(data) {
    const id = this.#wsId;
    if (!this.#ws || !this.#write(id, data)) return false;
    if (this.#log) this.#log("send", data);
    this.#ring[this.#ringLen++] = data;
    this.#ringId = id;
    if (--this.#direct === 0) {
      this.#settle();
      this.#direct = this.#core.directWrites();
    }
    return true;
  }

  /** Before any input to Core: hands it the writes made without asking, in order (so that
   * its in-flight log is whole: a close event requeues from it), and takes back the grant,
   * which the input may change (#pump asks again). */
  #settle() {
    this.#direct = 0;
    const n = this.#ringLen, ring = this.#ring;
    if (n === 0) return;
    // (Kept in a row, their slots are consecutive.)
    const first = keep(ring[0]);
    for (let i = 1; i < n; i++) keep(ring[i]);
    ring.fill(undefined, 0, n);
    this.#ringLen = 0;
    if (this.#core.wrote(this.#ringId, first, n)) this.#reportBuffered(this.#ringId);
  }

  #emit(kind, core) {
    const listeners = this.#listeners;
    if (kind === OPEN) listeners.fireOpen();
    else if (kind === CLOSE) listeners.fireClose(core.a, core.text, core.b !== 0);
    else if (kind === ERROR) listeners.fireError(this.#errorOf(core.a));
    else if (kind === RECONNECTING) {
      if (this.#log) this.#log("next delay", core.b, RETRY_REASONS[core.id]);
      listeners.fireReconnecting(core.a, core.b, RETRY_REASONS[core.id]);
    } else if (kind === STATE_CHANGE) {
      const from = STATES[core.a], to = STATES[core.b];
      if (this.#log) this.#log("state", from, "->", to);
      listeners.fireStateChange(from, to);
    } else if (kind === DROP) listeners.fireDrop(slotData(core.payload), DROP_REASONS[core.a]);
    else if (kind === REQUEUE) listeners.fireRequeue(core.a, core.b);
    else if (CONTINUITY && kind === RESUME) {
      const reason = SESSION_STARTS[core.a], resumed = reason === "resumed";
      const persisted = this.#persisted;
      const restored = persisted?.restored() ?? false;
      const why = resumed ? null : (persisted?.reasonOf(reason) ?? reason);
      listeners.fireWith("resume", { resumed, reason: why, resent: core.b, dropped: core.id, restored });
    }
  }

  /** The Error an error event of kind `kind` (ErrorKind's index) carries. */
  #errorOf(kind) {
    const native = this.#lastError;
    this.#lastError = undefined;
    if (kind === 0 && native?.error instanceof Error) return native.error;
    const message = ERROR_MESSAGES[kind] ?? native?.message;
    return new Error(typeof message === "string" ? message : "");
  }

  /** Writes to socket `id` if it is ours and open. False means nothing was sent. */
  #write(id, data) {
    const ws = this.#ws;
    if (this.#wsId !== id || ws.readyState !== 1) return false;
    try {
      ws.send(data);
      return true;
    } catch {
      return false;
    }
  }

  /** Writes `data`, the message in hand (from `send` or `pollFlush`, kept as `slot`), to
   * socket `id`, and tells Core whether it went. */
  #writeHeld(id, data, slot) {
    const core = this.#core;
    if (CONTINUITY && this.#framing === id) data = framed(core.dataHeader(), data);
    if (!this.#write(id, data)) {
      core.unsent(id);
      return false;
    }
    if (CONTINUITY && this.#persisted) {
      // Numbered: the record's `last` moved. Written plainly, it is sent at most once: a
      // later page load must not send it again.
      if (this.#framing === id) this.#persisted.changed();
      else this.#persisted.unstore(slot);
    }
    if (core.written(id)) this.#reportBuffered(id);
    return true;
  }

  /** Socket `id`'s bufferedAmount, if it is ours (the browser keeps it after the close). */
  #bufferedAmount(id) {
    return this.#wsId === id ? this.#ws.bufferedAmount : 0;
  }

  /** Lets Core forget the writes that have left the browser. */
  #reportBuffered(id) {
    this.#core.buffered(id, this.#bufferedAmount(id));
  }

  #flush(id) {
    const core = this.#core;
    // After a resume: what the server had not taken, again (a failed write needs nothing).
    if (CONTINUITY) for (let slot; (slot = core.pollReplay(id)); ) this.#write(id, framed(core.text, slotData(slot)));
    for (let slot; (slot = core.pollFlush(id)); ) {
      if (!this.#writeHeld(id, slotData(slot), slot)) break;
    }
  }

  #connect(id) {
    if (this.#freed) return;
    // Core only asks after letting go of the previous socket; make sure of it.
    this.#detach();
    const url = this.#url, protocols = this.#protocols;
    const opened = ([u, p]) => {
      if (this.#freed) return;
      this.#openSocket(id, u, p);
      this.#pump();
    };
    // The socket is made in a microtask, after the events of this step (providers run there
    // too, like a resolved Promise): attempts given up before then (say, a hundred
    // reconnect() calls in a row) cost no socket.
    // (A session found in storage is first claimed from other tabs: persist.js.)
    if (typeof url !== "function" && typeof protocols !== "function" && !(CONTINUITY && this.#persisted?.claim)) {
      queueMicrotask(() => opened([url, protocols]));
      return;
    }
    (CONTINUITY && this.#persisted?.claim ? this.#persisted.claim : Promise.resolve())
      .then(async () => [await provide(url, providedUrl), await provide(protocols, providedProtocols)])
      .then(opened);
  }

  /** Creates the socket for attempt `id`, unless the attempt was given up meanwhile. */
  #openSocket(id, url, protocols) {
    const core = this.#core;
    this.#settle();
    if (this.#freed || core.current() !== id || STATES[core.state()] !== "connecting") return;
    let ws;
    const WebSocketClass = webSocketClass(this.#options);
    if (url !== undefined && protocols !== undefined && WebSocketClass) {
      this.#lastUrl = url;
      if (this.#log) this.#log("connect", { url: redactUrl(url), protocols });
      if (CONTINUITY && core.offersContinuity()) protocols = Core.offered(protocols.join(",")).split(",");
      try {
        ws = new WebSocketClass(url, protocols);
        ws.addEventListener("error", ignore);
        ws.binaryType = CONTINUITY && this.#continuity ? "arraybuffer" : this.#binaryType;
      } catch (e) {
        // Refused (a bad URL for the browser, a broken WebSocket class): a failed attempt.
        if (ws) closeQuietly(ws);
        ws = undefined;
        this.#lastError = { error: e instanceof Error ? e : undefined };
      }
    }
    if (!ws) {
      core.connectFailed(id, now());
      return;
    }
    core.socketCreated(id);
    const onMessage = (e) => this.#onMessage(id, ws, e);
    const handlers = {
      open: () => this.#onOpen(id),
      // Without heartbeats or continuity, messages go straight to the listeners (only those
      // over maxMessageBytes come here); with them, every message is news for Core.
      message: this.#heartbeat === undefined && !(CONTINUITY && this.#continuity) ? this.#listeners.route(ws, onMessage, this.#maxMessageBytes) : onMessage,
      error: (e) => this.#onError(id, e),
      close: (e) => this.#onClose(id, e),
    };
    for (const type in handlers) ws.addEventListener(type, handlers[type]);
    this.#ws = ws;
    this.#wsId = id;
    this.#detachWs = () => {
      for (const type in handlers) ws.removeEventListener(type, handlers[type]);
    };
  }

  /** Stops listening to the current socket and lets it go. */
  #detach() {
    if (this.#detachWs) this.#detachWs();
    this.#ws = this.#detachWs = null;
    this.#wsId = -1;
    if (CONTINUITY) this.#framing = -1;
  }

  #onOpen(id) {
    if (this.#log) this.#log("open event");
    this.#settle();
    const core = this.#core;
    if (!CONTINUITY) core.opened(id, now());
    else {
      core.opened(id, now(), this.#continuity ? (this.#currentSocket()?.protocol ?? "") : "");
      this.#framing = core.speaksContinuity(id) ? id : -1;
      // A plain connection delivers binary as binaryType says (framed ones are converted).
      if (this.#continuity && this.#framing !== id && this.#wsId === id) this.#ws.binaryType = this.#binaryType;
    }
    this.#pump();
  }

  #onMessage(id, ws, e) {
    const limit = this.#maxMessageBytes;
    const oversized = limit !== Infinity && sizeAbove(e.data, limit);
    // Only some messages are news to Core: one too big, a frame of the protocol, and one
    // that may be the reply to the heartbeat it waits for. The rest go straight on.
    if (!oversized && !(CONTINUITY && this.#framing === id) && this.#awaitingReply !== id) {
      if (this.#wsId === id) this.#listeners.message(e, ws);
      return;
    }
    this.#settle();
    const core = this.#core;
    if (core.current() !== id) return;
    if (oversized) {
      core.oversized(id, now());
      this.#pump();
      return;
    }
    if (CONTINUITY && this.#framing === id) {
      // (A welcome, a delivery or an ack changes the session's record.)
      this.#persisted?.changed();
      // (Core counts every frame of the session as the heartbeat's reply.)
      e = unframe(core, id, e, this.#binaryType);
      if (!e) {
        this.#pump();
        return;
      }
    } else if (this.#heartbeat !== undefined) {
      const reply = this.#isPong ? callHook(this.#isPong, e.data, false) : true;
      if (this.#freed) return; // isPong freed the socket
      core.message(id, reply);
      if (reply) this.#awaitingReply = -1;
    }
    this.#listeners.message(e, ws);
    this.#pump();
  }

  #onClose(id, e) {
    this.#settle();
    const core = this.#core;
    if (this.#log) this.#log("close event", e.code, e.reason);
    const ask = this.#shouldReconnect && core.asksShouldReconnect(id);
    const verdict = ask ? callHook(this.#shouldReconnect, e, true) : undefined;
    // Messages whose bytes never left go back to the outbox.
    core.closed(id, now(), e.code, e.reason, e.wasClean, this.#bufferedAmount(id), verdict);
    if (this.#wsId === id) this.#detach();
    this.#pump();
  }

  #onError(id, e) {
    if (this.#log) this.#log("error event", e?.message);
    this.#lastError = e;
    this.#settle();
    this.#core.error(id);
    this.#pump();
  }

  #closeSocket(id, code, reason, abandon) {
    if (this.#wsId !== id) return;
    closeQuietly(this.#ws, code, reason);
    if (abandon) this.#detach();
  }

  /** Arms the timer for Core's next deadline. One armed for an earlier moment is kept:
   * firing early is harmless (Core re-checks). */
  #armTimer() {
    if (this.#freed) return;
    const at = this.#core.pollTimeout();
    if (at < 0) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#timerAt = Infinity;
      return;
    }
    if (this.#timer !== undefined && this.#timerAt <= at) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    const delay = Math.min(Math.max(Math.ceil(at - now()), 0), MAX_DELAY);
    this.#timer = setTimeout(() => this.#onTimer(), delay);
  }

  #onTimer() {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    this.#settle();
    this.#core.timeout(now());
    this.#pump();
  }

  /** Listens for online/offline (and visibility); returns the function that stops. The
   * listeners hold the socket weakly, so that one dropped without free() can still be
   * garbage-collected (its listeners are then removed, and wasm-bindgen frees its Core). */
  #watchEnv(visibility) {
    const continuity = CONTINUITY && this.#continuity;
    // (No closure made here may mention `this`: V8 would then keep it for all of them.)
    const self = weakRef(this);
    const token = {};
    const on = [];
    const listen = (target, type) => {
      const g = () => {
        const socket = self.deref();
        if (socket) socket.#onEnv(type);
      };
      target.addEventListener(type, g);
      on.push(() => target.removeEventListener(type, g));
    };
    if (typeof globalThis.addEventListener === "function") {
      listen(globalThis, "online");
      listen(globalThis, "offline");
    }
    if ((visibility || (CONTINUITY && continuity)) && typeof document !== "undefined") listen(document, "visibilitychange");
    if (CONTINUITY && this.#persisted) {
      const persisted = this.#persisted;
      on.push(() => persisted.release());
    }
    // With continuity, acks owed go out before the page goes or is frozen, and a page back
    // from the back/forward cache resumes at once.
    if (CONTINUITY && continuity && typeof globalThis.addEventListener === "function") {
      listen(globalThis, "pagehide");
      if (typeof document !== "undefined") listen(document, "freeze");
      // (Only a page shown again from the cache: not the first load's pageshow.)
      const shown = (e) => {
        const socket = self.deref();
        if (e.persisted && socket) socket.#onEnv("pageshow");
      };
      globalThis.addEventListener("pageshow", shown);
      on.push(() => globalThis.removeEventListener("pageshow", shown));
    }
    const stop = () => on.forEach((off) => off());
    envCleanup()?.register(this, stop, token);
    return () => {
      envCleanup()?.unregister(token);
      stop();
    };
  }

  #onEnv(type) {
    this.#settle();
    const core = this.#core;
    if (type === "online") core.online(now());
    else if (type === "offline") core.offline();
    else if (CONTINUITY && (type === "pagehide" || type === "freeze")) {
      core.unload();
      this.#persisted?.save(true);
    } else if (CONTINUITY && type === "pageshow") {
      // (Its socket may have died in the cache unnoticed; the session resumes losslessly.)
      if (STATES[core.state()] !== "closed") core.reconnect(now(), 1000, "page restored");
    }
    else core.visibility(now(), isVisible());
    this.#pump();
  }

}
