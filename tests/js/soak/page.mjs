// The chaos soak page: one TetherSocket sending a numbered stream ("soak:<seq>:<padding>")
// to the test server's /soak endpoint while the server injects faults.
//
// The page does not take the library's word for what went where. The TetherSocket is given
// a transparent subclass of the browser's WebSocket as its `WebSocket` option (the class
// reads it before every attempt), which logs, per native socket:
//
//   - every write that reached the browser: [seq (-1: not a numbered message, i.e. a
//     heartbeat), UTF-8 bytes, readyState at the write];
//   - the native `bufferedAmount` at the socket's close, read in the first close listener
//     (registered in the constructor, before the library's): the browser keeps counting
//     after the close, so these are the bytes that never left;
//   - the socket's tag in the URL (`key=K~<index>`), which the server records, so that its
//     connections pair exactly with the page's sockets.
//
// From those logs tests/js/soak/accounting.mjs works out, per dead socket, which messages
// never left and compares them with the library's `requeue` events. The page itself only
// keeps a model of the outbox, checked on every native write: a message that leaves the
// outbox must be its oldest (FIFO, requeued messages first, in order), send()'s return
// value must say whether it wrote, and queuedMessages must equal the model's count.
//
// Exposes window.soak (start, stopSending, settle, the deterministic phases, finish,
// progress) and window.ready.

const nowEpoch = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** UTF-8 size of a string, as bufferedAmount counts it. */
function utf8Bytes(s) {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
      n += 4;
      i += 1;
    } else n += 3;
  }
  return n;
}

const seqOf = (data) => {
  const m = typeof data === "string" && /^soak:(\d+)/.exec(data);
  return m ? Number(m[1]) : -1;
};

const S = {
  ws: null,
  url: "",
  seq: 0,
  sendTimer: 0,
  sending: false,
  /** Seq being passed to TetherSocket.send() right now (-1: none). */
  inSend: -1,
  /** Per seq: epoch ms of the send() call. */
  sentAt: [],
  /** Per seq: times the library said it requeued it. */
  requeuedTimes: [],
  /** seq -> drop reason. */
  dropped: new Map(),
  /** The outbox as the page models it: queued seqs, oldest first. */
  pending: [],
  /** Native sockets' logs, in creation order (see makeNativeLog). */
  socks: [],
  /** index -> the native socket itself. */
  native: new Map(),
  /** The library's `requeue` events: {sock, count, bytes, seqs, atS}. */
  requeues: [],
  /** Connections as TetherSocket reported them (open → close events). */
  conns: [],
  c: {
    nativeWrites: 0,
    heartbeatWrites: 0,
    written: 0,
    queuedSends: 0,
    flushed: 0,
    requeueEvents: 0,
    requeued: 0,
    drops: 0,
    reconnecting: 0,
    opens: 0,
    closes: 0,
    errors: 0,
    bursts: 0,
    maxQueued: 0,
  },
  /** Places where the model and the library disagreed (should stay empty). */
  mismatches: [],
  memory: { start: 0, peak: 0, chaosEnd: 0, end: 0, afterFree: 0 },
  memTimer: 0,
  /** What the deterministic phases saw. */
  phases: {},
};

const mismatch = (what) => {
  if (S.mismatches.length < 50) S.mismatches.push(`${(performance.now() / 1000).toFixed(1)}s: ${what}`);
};

function memory() {
  const bytes = window.wasm.memory.buffer.byteLength;
  if (bytes > S.memory.peak) S.memory.peak = bytes;
  return bytes;
}

/** A native write of `seq` (the library's own ws.send): the outbox model moves. */
function onNativeWrite(seq) {
  if (seq < 0) return;
  if (S.pending.length > 0) {
    if (S.pending[0] === seq) {
      S.pending.shift();
      S.c.flushed += 1;
      return;
    }
    mismatch(`native write of seq ${seq} while the oldest queued message is ${S.pending[0]} (${S.pending.length} queued)`);
    const i = S.pending.indexOf(seq);
    if (i >= 0) S.pending.splice(i, 1);
    return;
  }
  if (seq !== S.inSend) mismatch(`native write of seq ${seq}, which was neither queued nor being sent`);
}

/**
 * The WebSocket class given to the TetherSocket: the browser's own, plus a log. Nothing it
 * does changes what the socket does (same URL but for the tag, same data, same events).
 */
function makeNativeLog(Base) {
  return class SoakWebSocket extends Base {
    constructor(url, protocols) {
      const index = S.socks.length;
      const tagged = String(url).replace(/([?&]key=)([^&]*)/, (_, k, v) => `${k}${v}~${index}`);
      super(tagged, protocols);
      const rec = {
        index,
        createdAt: nowEpoch(),
        openedAt: null,
        closedAt: null,
        code: null,
        wasClean: null,
        reason: "",
        /** bufferedAmount as the first close listener read it. */
        bufferedAtClose: null,
        /** Largest bufferedAmount seen right after a write. */
        maxBuffered: 0,
        /** Flat [seq, bytes, readyState, ...]. */
        writes: [],
        /** Why the page made the library let this socket go (reconnect, too-big, free). */
        letGo: null,
        /** The library gave up on it (heartbeat or closing-handshake timeout): its close
         * event came while this socket was not closed yet. */
        abandoned: false,
        /** Native bufferedAmount when the page made the library let it go. */
        bufferedAtLetGo: null,
      };
      S.socks.push(rec);
      S.native.set(index, this);
      this.soakRecord = rec;
      this.addEventListener("open", () => {
        rec.openedAt = nowEpoch();
      });
      this.addEventListener("close", (e) => {
        rec.bufferedAtClose = this.bufferedAmount;
        rec.closedAt = nowEpoch();
        rec.code = e.code;
        rec.wasClean = e.wasClean;
        rec.reason = e.reason;
      });
    }

    send(data) {
      const state = this.readyState;
      // Throws (and writes nothing) while CONNECTING, as the browser's does.
      super.send(data);
      const rec = this.soakRecord;
      const seq = seqOf(data);
      const bytes = typeof data === "string" ? utf8Bytes(data) : data.byteLength ?? data.size ?? 0;
      rec.writes.push(seq, bytes, state);
      S.c.nativeWrites += 1;
      if (seq < 0) S.c.heartbeatWrites += 1;
      const buffered = this.bufferedAmount;
      if (buffered > rec.maxBuffered) rec.maxBuffered = buffered;
      onNativeWrite(seq);
    }
  };
}

/** The native socket the library is on now (the newest: it never keeps two). */
const currentSock = () => S.socks[S.socks.length - 1];

/** Seqs written to native socket `rec`, in order. */
function writtenSeqs(rec) {
  const out = [];
  for (let i = 0; i < rec.writes.length; i += 3) if (rec.writes[i] >= 0) out.push(rec.writes[i]);
  return out;
}

function sendText(seq, text) {
  const ws = S.ws;
  S.sentAt[seq] = nowEpoch();
  S.requeuedTimes[seq] = 0;
  const writesBefore = S.c.nativeWrites;
  const sock = currentSock();
  const before = sock ? sock.writes.length : 0;
  let written;
  S.inSend = seq;
  try {
    written = ws.send(text);
  } catch (e) {
    // Only "reject" throws; the soak uses "drop-oldest". Count it as dropped, visibly.
    S.dropped.set(seq, `threw: ${e && e.message}`);
    mismatch(`send(${seq}) threw ${e && e.message}`);
    return;
  } finally {
    S.inSend = -1;
  }
  // Did this very message reach a native socket during send()?
  let wrote = false;
  if (S.c.nativeWrites > writesBefore && sock === currentSock()) {
    for (let i = before; i < sock.writes.length; i += 3) if (sock.writes[i] === seq) wrote = true;
  }
  if (wrote) {
    S.c.written += 1;
    if (written !== true) mismatch(`send(${seq}) returned ${written} but wrote it to the socket`);
  } else {
    if (written !== false) mismatch(`send(${seq}) returned ${written} but wrote nothing`);
    // (With "drop-newest" the new message itself may have been dropped during send().)
    if (!S.dropped.has(seq)) {
      S.pending.push(seq);
      S.c.queuedSends += 1;
      if (S.pending.length > S.c.maxQueued) S.c.maxQueued = S.pending.length;
    }
  }
  if (S.pending.length !== ws.queuedMessages) {
    mismatch(`after send(${seq}): library has ${ws.queuedMessages} queued, model ${S.pending.length}`);
  }
}

function sendOne(padBytes) {
  const seq = S.seq++;
  sendText(seq, `soak:${seq}:${"x".repeat(padBytes)}`);
}

/** A numbered message that carries a command for the server (see tests/server/src/chaos.rs). */
function sendCommand(command) {
  const seq = S.seq++;
  sendText(seq, `soak:${seq}:!${command}`);
  return seq;
}

function burst(count, bytes) {
  S.c.bursts += 1;
  for (let i = 0; i < count; i++) sendOne(bytes);
}

function onOpen() {
  S.c.opens += 1;
  S.conns.push({ openedAt: nowEpoch(), sock: currentSock()?.index ?? -1 });
  if (S.pending.length !== S.ws.queuedMessages) {
    mismatch(`open: library has ${S.ws.queuedMessages} queued, model ${S.pending.length}`);
  }
}

function onRequeue(ev) {
  const count = Number(ev.count) || 0;
  const bytes = Number(ev.bytes) || 0;
  S.c.requeueEvents += 1;
  S.c.requeued += count;
  // The library's claim: the newest `count` messages written to the socket that just died
  // are back at the head of the outbox, in order. (accounting.mjs checks the claim against
  // the socket's bytes; the outbox model checks that they do go out first.)
  const sock = currentSock();
  const seqs = sock ? writtenSeqs(sock) : [];
  if (!sock || count > seqs.length || count <= 0) {
    mismatch(`requeue of ${count} with ${seqs.length} messages written to the dying socket`);
  }
  const back = seqs.slice(Math.max(0, seqs.length - count));
  for (const seq of back) S.requeuedTimes[seq] += 1;
  S.pending.unshift(...back);
  S.requeues.push({
    sock: sock ? sock.index : -1,
    count,
    bytes,
    seqs: back,
    atS: Number((performance.now() / 1000).toFixed(3)),
  });
}

function onDrop(ev) {
  S.c.drops += 1;
  const seq = seqOf(ev.data);
  if (seq < 0) {
    mismatch(`drop of an unknown message (${String(ev.data).slice(0, 40)})`);
    return;
  }
  S.dropped.set(seq, String(ev.reason));
  const i = S.pending.indexOf(seq);
  if (i >= 0) S.pending.splice(i, 1);
  else if (seq !== S.inSend) mismatch(`drop of seq ${seq}, which the model had not queued`);
}

function onClose() {
  S.c.closes += 1;
  // (The native close listener runs first: a socket not closed yet was given up on.)
  const sock = currentSock();
  if (sock && sock.closedAt == null && !sock.letGo && sock.openedAt != null) sock.abandoned = true;
}

/** The sender: `rate` msg/s on average, with a burst now and then (cfg.burst*). */
function scheduleSending(cfg) {
  const t0 = performance.now();
  let steady = 0;
  let nextBurst = t0 + cfg.burstEveryMs;
  let bursts = 0;
  const tick = () => {
    if (!S.sending) return;
    const now = performance.now();
    // Catch up after a throttled timer, but not with more than 200 at once.
    const due = Math.min(200, Math.floor(((now - t0) * cfg.rate) / 1000) - steady);
    for (let i = 0; i < due; i++) {
      sendOne(16 + ((S.seq * 37) % 160));
      steady += 1;
    }
    if (cfg.burstSize > 0 && now >= nextBurst) {
      bursts += 1;
      // Every `bigBurstEvery`-th burst is a big one: megabytes that back up into the
      // browser's send buffer, so that a connection may die with bytes not yet sent.
      const big = cfg.bigBurstEvery > 0 && bursts % cfg.bigBurstEvery === 0;
      if (big) burst(cfg.bigBurstSize, cfg.bigBurstBytes);
      else burst(cfg.burstSize, cfg.burstBytes);
      nextBurst = now + cfg.burstEveryMs * (0.5 + Math.random());
    }
    S.sendTimer = setTimeout(tick, cfg.tickMs);
  };
  S.sendTimer = setTimeout(tick, cfg.tickMs);
}

const progress = () => ({
  sent: S.seq,
  state: S.ws ? S.ws.state : "none",
  queued: S.ws ? S.ws.queuedMessages : 0,
  modelQueued: S.pending.length,
  bufferedAmount: S.ws ? S.ws.bufferedAmount : 0,
  sockets: S.socks.length,
  memory: S.ws ? memory() : 0,
  ...S.c,
  mismatches: S.mismatches.length,
});

/** Waits (bounded) for `cond()`; returns whether it came true. */
async function until(cond, timeoutMs, stepMs = 10) {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) return false;
    await sleep(stepMs);
  }
  return true;
}

async function settle(timeoutMs) {
  const ok = await until(
    () => S.ws.state === "open" && S.ws.queuedMessages === 0 && S.ws.bufferedAmount === 0,
    timeoutMs,
    20,
  );
  if (!ok) throw new Error(`not settled after ${timeoutMs} ms: ${JSON.stringify(progress())}`);
  return progress();
}

/** Stops the sender and waits until the socket has settled (open, nothing queued or
 * buffered); returns the record of its native socket. Each phase starts so. */
async function quietSocket() {
  S.sending = false;
  clearTimeout(S.sendTimer);
  await settle(30_000);
  return currentSock();
}

/** Makes the library let the current socket go while a burst is still buffered; waits for
 * that socket's native close and a new open. `how` does the letting go. */
async function letGo(name, how, cfg) {
  const sock = await quietSocket();
  const opensBefore = S.c.opens;
  const requeuesBefore = S.c.requeueEvents;
  how.before?.();
  burst(cfg.count, cfg.bytes);
  sock.letGo = name;
  sock.bufferedAtLetGo = sock.bufferedAtLetGo ?? S.ws.bufferedAmount;
  how.go();
  const closed = await until(() => sock.closedAt != null, 20_000);
  const reopened = how.reopens === false ? true : await until(() => S.c.opens > opensBefore, 20_000);
  S.phases[name] = {
    sock: sock.index,
    bufferedAtLetGo: sock.bufferedAtLetGo,
    bufferedAtClose: sock.bufferedAtClose,
    closed,
    reopened,
    requeueEvents: S.c.requeueEvents - requeuesBefore,
    code: sock.code,
  };
  return S.phases[name];
}

window.soak = {
  /** Creates the socket and starts sending; resolves on the first `open`. */
  async start(cfg) {
    S.memory.start = memory();
    S.url = cfg.url;
    const options = { ...cfg.options, WebSocket: makeNativeLog(window.WebSocket) };
    const ws = new window.TetherSocket(cfg.url, [], options);
    S.ws = ws;
    // The page's listeners go first, so that the model is up to date for later ones.
    ws.addEventListener("open", onOpen);
    ws.addEventListener("requeue", onRequeue);
    ws.addEventListener("drop", onDrop);
    ws.addEventListener("close", onClose);
    ws.addEventListener("reconnecting", () => (S.c.reconnecting += 1));
    ws.addEventListener("error", () => (S.c.errors += 1));
    S.memTimer = setInterval(memory, 1000);
    if (!(await until(() => S.c.opens > 0, cfg.openTimeoutMs || 20_000, 20))) {
      throw new Error(`no open within ${cfg.openTimeoutMs} ms (state ${ws.state})`);
    }
    S.sending = true;
    S.cfg = cfg;
    scheduleSending(cfg);
    return progress();
  },

  progress,

  stopSending() {
    S.sending = false;
    clearTimeout(S.sendTimer);
    // Wasm memory at the end of the chaos: the phases after it buffer tens of MiB on
    // purpose, and the in-flight log grows with what the browser holds.
    S.memory.chaosEnd = memory();
    return progress();
  },

  settle,

  /**
   * The fixed fault that forces a requeue: the server stops reading this connection
   * (`!stall`), big bursts fill the TCP buffers and then the browser's own, and a control
   * call cuts every connection (`/drop-all`) while bytes are still in `bufferedAmount`. The
   * socket dies with messages that never left: the library must requeue exactly those.
   */
  async forceRequeue({ http, stallMs = 3000, burstCount = 1500, burstBytes = 4096, maxBursts = 6, minBuffered = 512 * 1024 }) {
    const sock = await quietSocket();
    const requeuesBefore = S.c.requeueEvents;
    const opensBefore = S.c.opens;
    sendCommand(`stall:${stallMs}`);
    await sleep(150);
    let bursts = 0;
    while (bursts < maxBursts && sock.closedAt == null) {
      burst(burstCount, burstBytes);
      bursts += 1;
      await sleep(40);
      if (sock.bufferedAtClose == null && S.ws.bufferedAmount - S.ws.queuedBytes >= minBuffered) break;
    }
    const bufferedAtCut = S.ws.bufferedAmount - S.ws.queuedBytes;
    // Messages sent as the library reports the close (after its requeue, before the next
    // open) queue behind the requeued ones: the outbox model checks they go out after them.
    let queuedAtClose = 0;
    const queueBehind = () => {
      for (let i = 0; i < 20; i++) sendOne(32);
      queuedAtClose = S.ws.queuedMessages;
    };
    S.ws.addEventListener("close", queueBehind, { once: true });
    const t = performance.now();
    const res = await fetch(`${http}/drop-all`, { cache: "no-store" });
    const killed = Number(await res.text());
    const closed = await until(() => sock.closedAt != null, 10_000);
    const reopened = await until(() => S.c.opens > opensBefore, 20_000);
    S.ws.removeEventListener("close", queueBehind);
    S.phases.forcedRequeue = {
      sock: sock.index,
      bursts,
      bufferedAtCut,
      queuedAtClose,
      cutMs: Math.round(performance.now() - t),
      killed,
      bufferedAtClose: sock.bufferedAtClose,
      closed,
      reopened,
      requeueEvents: S.c.requeueEvents - requeuesBefore,
      requeued: S.requeues.filter((r) => r.sock === sock.index).reduce((a, r) => a + r.count, 0),
    };
    await settle(60_000);
    return S.phases.forcedRequeue;
  },

  /**
   * A closing-handshake timeout with messages queued behind it: the server stops reading
   * (`!stall`), a big burst fills the buffers, the page calls close() (the close frame waits
   * behind the burst) and sends a few more messages (queued: the socket is closing). The
   * handshake never finishes, so the library gives up on the socket after its closing
   * timeout and must requeue nothing (the browser may still send that buffer). Then
   * `/drop-all` cuts the stalled connection (what it still buffered is lost with it, and
   * counted so) and reconnect() sends the queued messages, in order.
   */
  async closingTimeout({ http, stallMs = 9000, burstCount = 1500, burstBytes = 4096, maxBursts = 3, minBuffered = 1024 * 1024, queued = 20 }) {
    const sock = await quietSocket();
    const native = S.native.get(sock.index);
    const requeuesBefore = S.c.requeueEvents;
    const closesBefore = S.c.closes;
    sendCommand(`stall:${stallMs}`);
    await sleep(150);
    // Until the buffers between the page and the server are full and more is left over:
    // close() lets the browser move a few more MiB out of bufferedAmount (into its network
    // stack, where they wait behind the full TCP buffers and never leave). Bounded:
    // heartbeats go unanswered meanwhile, and the library gives up after 2 s.
    let bursts = 0;
    while (bursts < maxBursts) {
      burst(burstCount, burstBytes);
      bursts += 1;
      await sleep(150);
      if (native.bufferedAmount >= minBuffered) break;
    }
    const bufferedAtClose_ = native.bufferedAmount;
    S.ws.close(1000, "soak: closing timeout");
    for (let i = 0; i < queued; i++) sendOne(32);
    const queuedAfterClose = S.ws.queuedMessages;
    // The native buffer as the library gave up (its close event comes right after it read
    // bufferedAmount for the requeue): if the browser has let it all go by then, nothing can
    // be requeued and the phase proves nothing this time.
    let bufferedAtAbandon = null;
    const onLibClose = () => {
      bufferedAtAbandon = native.bufferedAmount;
    };
    S.ws.addEventListener("close", onLibClose, { once: true });
    // How the native buffer drains after close() (the server reads nothing).
    const samples = [];
    const t0 = performance.now();
    for (const at of [0, 20, 100, 500, 2000]) {
      setTimeout(() => samples.push([Math.round(performance.now() - t0), native.bufferedAmount, native.readyState]), at);
    }
    const closedByLibrary = await until(() => S.c.closes > closesBefore, 10_000);
    S.ws.removeEventListener("close", onLibClose);
    const res = await fetch(`${http}/drop-all`, { cache: "no-store" });
    const killed = Number(await res.text());
    const nativeClosed = await until(() => sock.closedAt != null, 10_000);
    const opensBefore = S.c.opens;
    S.ws.reconnect();
    const reopened = await until(() => S.c.opens > opensBefore, 20_000);
    S.phases.closingTimeout = {
      sock: sock.index,
      bursts,
      bufferedAtCloseCall: bufferedAtClose_,
      bufferedAtAbandon,
      samples,
      bufferedAtClose: sock.bufferedAtClose,
      queuedAfterClose,
      closedByLibrary,
      killed,
      nativeClosed,
      reopened,
      requeueEvents: S.c.requeueEvents - requeuesBefore,
      requeued: S.requeues.filter((r) => r.sock === sock.index).reduce((a, r) => a + r.count, 0),
    };
    await settle(60_000);
    return S.phases.closingTimeout;
  },

  /**
   * A heartbeat timeout while the server is only slow: it stops reading for `stallMs`
   * (`!stall`, longer than the heartbeat timeout), a burst waits in the buffers, the library
   * gives up on the socket; the connection itself stays up, and the server reads on when
   * the stall ends, so the browser delivers what it still buffered. The library must
   * requeue nothing (it once requeued it all, and the server got it twice: README's "Chaos
   * soak").
   */
  async heartbeatAbandon({ stallMs = 4000, burstCount = 1500, burstBytes = 4096 }) {
    const sock = await quietSocket();
    const native = S.native.get(sock.index);
    const requeuesBefore = S.c.requeueEvents;
    const closesBefore = S.c.closes;
    sendCommand(`stall:${stallMs}`);
    await sleep(150);
    burst(burstCount, burstBytes);
    let bufferedAtAbandon = null;
    const onLibClose = () => {
      bufferedAtAbandon = native.bufferedAmount;
    };
    S.ws.addEventListener("close", onLibClose, { once: true });
    const abandoned = await until(() => S.c.closes > closesBefore, 10_000);
    const nativeClosed = await until(() => sock.closedAt != null, stallMs + 10_000);
    S.phases.heartbeatAbandon = {
      sock: sock.index,
      abandoned,
      bufferedAtAbandon,
      nativeClosed,
      bufferedAtClose: sock.bufferedAtClose,
      code: sock.code,
      wasClean: sock.wasClean,
      requeueEvents: S.c.requeueEvents - requeuesBefore,
      requeued: S.requeues.filter((r) => r.sock === sock.index).reduce((a, r) => a + r.count, 0),
    };
    await settle(60_000);
    return S.phases.heartbeatAbandon;
  },

  /**
   * Writes while the socket is CLOSING: the server closes (`!close`) and keeps the TCP
   * connection open for `holdMs`, so the browser sits in CLOSING while the page goes on
   * sending. The library must not write then (or, if it does, the bytes must come back).
   */
  async closingWrites({ holdMs = 600, code = 4000 }) {
    const sock = await quietSocket();
    const opensBefore = S.c.opens;
    sendCommand(`close:${code}:${holdMs}`);
    let sentWhileClosing = 0;
    const deadline = performance.now() + holdMs + 3000;
    const native = S.native.get(sock.index);
    while (sock.closedAt == null && performance.now() < deadline) {
      // (The server's close frame came: the browser says CLOSING, the library has not
      // heard of it yet.)
      if (native.readyState === 2) sentWhileClosing += 1;
      sendOne(32);
      await sleep(10);
    }
    const reopened = await until(() => S.c.opens > opensBefore, 20_000);
    S.phases.closingWrites = {
      sock: sock.index,
      sentWhileClosing,
      nonOpenWrites: (() => {
        let n = 0;
        for (let i = 2; i < sock.writes.length; i += 3) if (sock.writes[i] !== 1) n += 1;
        return n;
      })(),
      code: sock.code,
      wasClean: sock.wasClean,
      bufferedAtClose: sock.bufferedAtClose,
      reopened,
    };
    await settle(60_000);
    return S.phases.closingWrites;
  },

  /** reconnect() with a burst still buffered: nothing may be requeued, all must arrive. */
  reconnectBuffered(cfg) {
    return letGo("reconnect", { go: () => S.ws.reconnect() }, cfg);
  },

  /** The server answers with a message over maxMessageBytes while a burst is buffered: the
   * library lets the connection go (nothing requeued) and connects again. */
  tooBigBuffered(cfg) {
    return letGo(
      "too-big",
      {
        before: () => sendCommand(`big:${cfg.bigBytes}`),
        go: () => {},
      },
      cfg,
    );
  },

  /** Seqs written to the newest socket (the runner waits for the server to have them). */
  currentWrites() {
    const sock = currentSock();
    return sock ? writtenSeqs(sock) : [];
  },

  /** Frees the socket with a burst still buffered (nothing requeued, everything must
   * arrive: free() closes a healthy connection); returns the whole log. */
  async finish(cfg) {
    await quietSocket();
    const queuedAtEnd = S.ws.queuedMessages;
    clearInterval(S.memTimer);
    S.memory.end = memory();
    const ws = S.ws;
    await letGo("free", { go: () => ws.free(), reopens: false }, cfg);
    await sleep(50);
    S.memory.afterFree = memory();
    return {
      sent: S.seq,
      queuedAtEnd,
      sentAt: S.sentAt,
      requeuedTimes: S.requeuedTimes,
      dropped: [...S.dropped.entries()],
      pending: S.pending,
      socks: S.socks,
      requeues: S.requeues,
      conns: S.conns,
      phases: S.phases,
      counters: S.c,
      mismatches: S.mismatches,
      memory: S.memory,
      url: S.url,
    };
  },
};

try {
  const pkg = new URLSearchParams(location.search).get("pkg") || "/pkg/index.js";
  const mod = await import(pkg);
  window.wasm = await mod.init();
  window.TetherSocket = mod.TetherSocket;
  window.pkgPath = pkg;
  window.ready = true;
} catch (e) {
  window.loadError = String((e && e.stack) || e);
  console.error("soak page: loading the package failed:", window.loadError);
}
