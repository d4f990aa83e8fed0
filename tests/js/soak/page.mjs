// The chaos soak page: one TetherSocket sending a numbered stream ("soak:<seq>:<padding>")
// to the test server's /soak endpoint while the server injects faults. It keeps a model of
// where every message is, so that the runner can tell a message lost with a dying
// connection from one lost silently:
//
//   - send() returned true: the message was written to the current connection;
//   - send() returned false: it is queued (the model's `pending`, in outbox order);
//   - on `open`: the library has just flushed the head of its outbox to the new connection
//     (queued messages go out before `open` listeners run): pending.length - queuedMessages
//     of them, oldest first;
//   - on `requeue` {count}: the newest `count` messages written to the connection that just
//     died never left the browser and are back at the head of the outbox;
//   - on `drop` {data}: that message was discarded by the overflow policy.
//
// Exposes window.soak (start, stopSending, settle, finish, progress) and window.ready.

const nowEpoch = () => performance.timeOrigin + performance.now();

const S = {
  ws: null,
  url: "",
  seq: 0,
  sendTimer: 0,
  sending: false,
  /** Per seq: epoch ms of the send() call. */
  sentAt: [],
  /** Per seq: index of the connection it was last written to; -1 while queued. */
  connOf: [],
  /** Per seq: times it was requeued. */
  requeuedTimes: [],
  /** seq -> drop reason. */
  dropped: new Map(),
  /** Queued seqs, in the library's outbox order. */
  pending: [],
  /** Connections that opened: {openedAt, closedAt, code, wasClean, reason, written: [seq]}. */
  conns: [],
  current: -1,
  /** Set when finish() closes the socket: the only close the page itself asks for. */
  closingByUs: false,
  c: {
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
  memory: { start: 0, peak: 0, end: 0, afterFree: 0 },
  memTimer: 0,
};

const mismatch = (what) => {
  if (S.mismatches.length < 50) S.mismatches.push(`${(performance.now() / 1000).toFixed(1)}s: ${what}`);
};

const seqOf = (data) => {
  const m = typeof data === "string" && /^soak:(\d+)/.exec(data);
  return m ? Number(m[1]) : -1;
};

function memory() {
  const bytes = window.wasm.memory.buffer.byteLength;
  if (bytes > S.memory.peak) S.memory.peak = bytes;
  return bytes;
}

function sendOne(padBytes) {
  const ws = S.ws;
  const seq = S.seq++;
  S.sentAt[seq] = nowEpoch();
  S.connOf[seq] = -1;
  S.requeuedTimes[seq] = 0;
  const text = `soak:${seq}:${"x".repeat(padBytes)}`;
  let written;
  try {
    written = ws.send(text);
  } catch (e) {
    // Only "reject" throws; the soak uses "drop-oldest". Count it as dropped, visibly.
    S.dropped.set(seq, `threw: ${e && e.message}`);
    mismatch(`send(${seq}) threw ${e && e.message}`);
    return;
  }
  if (written === true) {
    const conn = S.conns[S.current];
    if (!conn || conn.closedAt != null) {
      mismatch(`send(${seq}) returned true with no open connection in the model`);
    } else {
      S.connOf[seq] = S.current;
      conn.written.push(seq);
    }
    S.c.written += 1;
  } else if (!S.dropped.has(seq)) {
    // (With "drop-newest" the new message itself may have been dropped during send().)
    S.pending.push(seq);
    S.c.queuedSends += 1;
    if (S.pending.length > S.c.maxQueued) S.c.maxQueued = S.pending.length;
  }
  if (S.pending.length !== ws.queuedMessages) {
    mismatch(`after send(${seq}): library has ${ws.queuedMessages} queued, model ${S.pending.length}`);
  }
}

function onOpen() {
  S.c.opens += 1;
  const conn = { openedAt: nowEpoch(), closedAt: null, code: null, wasClean: null, reason: "", written: [] };
  S.conns.push(conn);
  S.current = S.conns.length - 1;
  const flushed = S.pending.length - S.ws.queuedMessages;
  if (flushed < 0) {
    mismatch(`open: library has ${S.ws.queuedMessages} queued, model ${S.pending.length}`);
    return;
  }
  const moved = S.pending.splice(0, flushed);
  for (const seq of moved) S.connOf[seq] = S.current;
  conn.written.push(...moved);
  S.c.flushed += moved.length;
}

function onRequeue(ev) {
  const count = Number(ev.count) || 0;
  S.c.requeueEvents += 1;
  S.c.requeued += count;
  const conn = S.conns[S.current];
  if (!conn || conn.closedAt != null || count > conn.written.length) {
    mismatch(`requeue of ${count} with ${conn ? conn.written.length : "no"} messages on the dying connection`);
    if (!conn) return;
  }
  const back = conn.written.splice(Math.max(0, conn.written.length - count));
  for (const seq of back) {
    S.connOf[seq] = -1;
    S.requeuedTimes[seq] += 1;
  }
  S.pending.unshift(...back);
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
  else if (seq < S.seq - 1 || S.connOf[seq] !== -1) mismatch(`drop of seq ${seq}, which the model had not queued`);
}

function onClose(ev) {
  S.c.closes += 1;
  const conn = S.conns[S.current];
  // Failed attempts (never opened) also end with a close event: only the first close after
  // an open belongs to that connection.
  if (conn && conn.closedAt == null) {
    conn.closedAt = nowEpoch();
    conn.code = ev.code;
    conn.wasClean = ev.wasClean;
    conn.reason = ev.reason;
    conn.closedByUs = S.closingByUs;
    // What the library still counted as buffered (socket + outbox) when the close came.
    conn.bufferedAtClose = S.ws.bufferedAmount;
    conn.queuedAtClose = S.ws.queuedMessages;
  }
}

/** The sender: `rate` msg/s on average, with a burst now and then (cfg.burst*). */
function scheduleSending(cfg) {
  const t0 = performance.now();
  let steady = 0;
  let nextBurst = t0 + cfg.burstEveryMs;
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
      S.c.bursts += 1;
      // Every `bigBurstEvery`-th burst is a big one: megabytes that back up into the
      // browser's send buffer, so that a connection may die with bytes not yet sent.
      const big = cfg.bigBurstEvery > 0 && S.c.bursts % cfg.bigBurstEvery === 0;
      const [count, bytes] = big ? [cfg.bigBurstSize, cfg.bigBurstBytes] : [cfg.burstSize, cfg.burstBytes];
      for (let i = 0; i < count; i++) sendOne(bytes);
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
  memory: S.ws ? memory() : 0,
  ...S.c,
  mismatches: S.mismatches.length,
});

window.soak = {
  /** Creates the socket and starts sending; resolves on the first `open`. */
  async start(cfg) {
    S.memory.start = memory();
    S.url = cfg.url;
    const ws = new window.TetherSocket(cfg.url, [], cfg.options);
    S.ws = ws;
    ws.addEventListener("open", onOpen);
    ws.addEventListener("requeue", onRequeue);
    ws.addEventListener("drop", onDrop);
    ws.addEventListener("close", onClose);
    ws.addEventListener("reconnecting", () => (S.c.reconnecting += 1));
    ws.addEventListener("error", () => (S.c.errors += 1));
    S.memTimer = setInterval(memory, 1000);
    const deadline = performance.now() + (cfg.openTimeoutMs || 20_000);
    while (S.c.opens === 0) {
      if (performance.now() > deadline) throw new Error(`no open within ${cfg.openTimeoutMs} ms (state ${ws.state})`);
      await new Promise((r) => setTimeout(r, 20));
    }
    S.sending = true;
    scheduleSending(cfg);
    return progress();
  },

  progress,

  stopSending() {
    S.sending = false;
    clearTimeout(S.sendTimer);
    return progress();
  },

  /** Waits (bounded) until the socket is open with nothing queued or buffered. */
  async settle(timeoutMs) {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const ws = S.ws;
      if (ws.state === "open" && ws.queuedMessages === 0 && ws.bufferedAmount === 0) return progress();
      if (performance.now() > deadline) {
        throw new Error(`not settled after ${timeoutMs} ms: ${JSON.stringify(progress())}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  },

  /** Seqs written to the current, open connection (the runner waits for the server to have them). */
  currentWrites() {
    const conn = S.conns[S.current];
    return conn && conn.closedAt == null ? conn.written.slice() : [];
  },

  /** Closes and frees the socket; returns the whole model. */
  async finish() {
    const ws = S.ws;
    const closed = new Promise((resolve) => {
      ws.addEventListener("close", resolve, { once: true });
      setTimeout(resolve, 10_000);
    });
    const queuedAtEnd = ws.queuedMessages;
    S.closingByUs = true;
    ws.close(1000, "soak done");
    await closed;
    clearInterval(S.memTimer);
    S.memory.end = memory();
    ws.free();
    S.memory.afterFree = memory();
    return {
      sent: S.seq,
      queuedAtEnd,
      sentAt: S.sentAt,
      connOf: S.connOf,
      requeuedTimes: S.requeuedTimes,
      dropped: [...S.dropped.entries()],
      pending: S.pending,
      conns: S.conns,
      counters: S.c,
      mismatches: S.mismatches,
      memory: S.memory,
      url: S.url,
    };
  },
};

try {
  const mod = await import("/pkg/index.js");
  window.wasm = await mod.init();
  window.TetherSocket = mod.TetherSocket;
  window.ready = true;
} catch (e) {
  window.loadError = String((e && e.stack) || e);
  console.error("soak page: loading /pkg/index.js failed:", window.loadError);
}
