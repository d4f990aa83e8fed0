// Independent accounting of one direction of a numbered stream, from what the sender wrote
// to its native sockets and what the receiver got. It trusts nothing the library under test
// says about itself: the library's claims (its `requeue` events) are inputs to be checked.
//
// The chaos soak (soak-lib.mjs) uses it for client → server today; the continuity soak will
// use it for both directions, with the server numbering its own messages (a stream is just
// ids 0..count-1 in send order, whoever numbers them).
//
// Input, one `StreamLog`:
//
//   {
//     name: "client → server",
//     count,                  // ids 0..count-1 entered the sender, in this order
//     sockets: [{             // the sender's native sockets, index = position
//       writes,               // flat [id (-1: not a stream message, e.g. a heartbeat), bytes,
//                             //   readyState at the write (1 = OPEN), ...], in write order
//       bufferedAtClose,      // bytes the sender's buffer still held at the socket's close
//                             //   (null: still open at the end)
//       end,                  // "open" | "clean" (the sender closed it with a close frame:
//                             //   everything that left arrives before it) | "peer-closed"
//                             //   (the receiver closed it: what was on its way as the close
//                             //   frame came may be discarded) | "cut" (no close frame: the
//                             //   tail of what left may be lost)
//       letGo,                // null, or why the sender's library let a healthy socket go
//                             //   (reconnect, too-big, free): it must requeue nothing
//       abandoned,            // the library gave up on it (a timeout) while it was not
//                             //   closed: it must requeue nothing either (the browser may
//                             //   still send that buffer), and what never left is lost
//                             //   with it (at-most-once, counted apart)
//     }],
//     requeues: [{ sock, count, bytes }],   // the library's claims (optional)
//     dropped: [[id, reason]],              // reported dropped by policy (drop events)
//     arrivals: [[id, time, sock]],         // at the receiver, in arrival order; sock is
//                                           //   the sender's socket index (-1: unknown)
//   }
//
// Rules (what the browser guarantees, not what the library does):
//
//   - A socket's buffer empties in write order, so when a socket dies with `bufferedAtClose`
//     bytes unsent, the messages that never left are the newest writes covering the last
//     `bufferedAtClose` bytes, a partly sent one included (it cannot have arrived whole).
//     Heartbeats count for bytes; only stream messages can be requeued.
//   - The library must requeue exactly those (count and bytes), per socket, and nothing for
//     a socket it let go while healthy or gave up on (the browser still sends that buffer
//     after the library's close(), so a requeue could duplicate).
//   - A message is "lost in flight" only if its bytes had left (written, and not in its
//     socket's unsent set) on a socket that was cut or that the receiver closed (counted
//     apart: a browser discards data that reaches its network stack after the peer's close
//     frame, though the page saw the socket OPEN); anything else missing is a silent loss.
//   - Per socket, the receiver's arrivals must be exactly a prefix of the stream messages
//     written to it (TCP keeps order; a hole or a reordering is a failure).
//   - Globally, first arrivals follow send order, except requeued and dropped messages.
//   - No id arrives twice, and none arrives that never left.

/** Indices (into the socket's write list) of the writes that never left, oldest first. */
export function unsentWrites(writes, bufferedAtClose) {
  const out = [];
  let covered = 0;
  for (let i = writes.length - 3; i >= 0 && covered < (bufferedAtClose || 0); i -= 3) {
    covered += writes[i + 1];
    out.push(i / 3);
  }
  return out.reverse();
}

const cap = (list, item, n = 20) => {
  if (list.length < n) list.push(item);
};

/** Accounts for one stream; returns figures, per-socket details and `failures`. */
export function accountStream(log) {
  const n = log.count;
  const socks = log.sockets;
  const failures = [];
  const copies = new Uint32Array(n);
  const firstAt = new Float64Array(n).fill(NaN);
  let unknownIds = 0;
  let unknownSock = 0;
  // Arrivals per sender socket, in order.
  const perSock = socks.map(() => []);
  for (const [id, t, sock] of log.arrivals) {
    if (!(id >= 0 && id < n)) {
      unknownIds += 1;
      continue;
    }
    copies[id] += 1;
    if (Number.isNaN(firstAt[id])) firstAt[id] = t;
    if (sock >= 0 && sock < socks.length) perSock[sock].push(id);
    else unknownSock += 1;
  }
  const dropped = new Map(log.dropped);

  // Per socket: stream writes in order, which never left, what the library requeued.
  const requeuedBySock = socks.map(() => ({ count: 0, bytes: 0, events: 0 }));
  let requeueEvents = 0;
  let resent = 0;
  for (const r of log.requeues || []) {
    requeueEvents += 1;
    resent += r.count;
    const slot = requeuedBySock[r.sock];
    if (!slot) {
      failures.push(`a requeue event for an unknown socket ${r.sock}`);
      continue;
    }
    slot.count += r.count;
    slot.bytes += r.bytes;
    slot.events += 1;
  }
  // Per id: the last socket and position it was written to, and whether that write left.
  const lastSock = new Int32Array(n).fill(-1);
  const lastPos = new Int32Array(n).fill(-1);
  const lastLeft = new Uint8Array(n);
  const everUnsent = new Uint8Array(n);
  const requeueMismatches = [];
  const orderExamples = [];
  const arrivedUnsent = [];
  const nonOpenLeft = [];
  let perConnectionViolations = 0;
  let unsentTotal = 0;
  let unsentBytesTotal = 0;
  const details = socks.map((s, k) => {
    const w = s.writes;
    const unsent = new Set(s.end === "open" ? [] : unsentWrites(w, s.bufferedAtClose));
    const stream = []; // [id, writeIndex]
    let expCount = 0;
    let expBytes = 0;
    let nonOpen = 0;
    for (let i = 0; i < w.length; i += 3) {
      const id = w[i];
      const wi = i / 3;
      const left = !unsent.has(wi);
      if (w[i + 2] !== 1) {
        nonOpen += 1;
        // The browser discards a write to a closing socket but counts its bytes: it can
        // only be in the unsent set. One outside means the byte rule failed us.
        if (left) cap(nonOpenLeft, { sock: k, id, state: w[i + 2] });
      }
      if (id < 0 || id >= n) continue;
      stream.push(id);
      lastSock[id] = k;
      lastPos[id] = stream.length - 1;
      lastLeft[id] = left ? 1 : 0;
      if (!left) {
        everUnsent[id] = 1;
        unsentTotal += 1;
        unsentBytesTotal += w[i + 1];
        expCount += 1;
        expBytes += w[i + 1];
      }
    }
    // The library's requeue must equal the unsent set (none for a socket it let go).
    const expected = s.letGo || s.abandoned ? { count: 0, bytes: 0 } : { count: expCount, bytes: expBytes };
    const got = requeuedBySock[k];
    if (got.count !== expected.count || got.bytes !== expected.bytes) {
      cap(requeueMismatches, {
        sock: k,
        letGo: s.letGo,
        neverLeft: { count: expCount, bytes: expBytes },
        expected,
        requeued: { count: got.count, bytes: got.bytes, events: got.events },
        bufferedAtClose: s.bufferedAtClose,
      });
    }
    // Arrival order on this socket = its write order (a prefix of it).
    const got_ = perSock[k];
    let bad = got_.length > stream.length ? Math.min(stream.length, got_.length) : -1;
    for (let i = 0; i < Math.min(got_.length, stream.length); i++) {
      if (got_[i] !== stream[i]) {
        bad = i;
        break;
      }
    }
    if (bad >= 0) {
      perConnectionViolations += 1;
      cap(orderExamples, {
        sock: k,
        at: bad,
        arrived: got_.slice(Math.max(0, bad - 2), bad + 3),
        written: stream.slice(Math.max(0, bad - 2), bad + 3),
      });
    }
    // A message that never left cannot have arrived on this socket.
    const unsentIds = new Set();
    for (const wi of unsent) if (w[wi * 3] >= 0) unsentIds.add(w[wi * 3]);
    for (const id of got_) if (unsentIds.has(id)) cap(arrivedUnsent, { sock: k, id });
    return {
      sock: k,
      end: s.end,
      letGo: s.letGo,
      writes: w.length / 3,
      streamWrites: stream.length,
      nonOpenWrites: nonOpen,
      arrived: got_.length,
      bufferedAtClose: s.bufferedAtClose,
      neverLeft: expCount,
      neverLeftBytes: expBytes,
      requeued: got.count,
      requeuedBytes: got.bytes,
    };
  });

  // Global order of first arrivals, requeued and dropped messages aside.
  const requeuedIds = new Set();
  for (const r of log.requeues || []) for (const id of r.seqs || []) requeuedIds.add(id);
  let globalViolations = 0;
  const globalExamples = [];
  {
    const seen = new Uint8Array(n);
    let last = -1;
    for (const [id] of log.arrivals) {
      if (!(id >= 0 && id < n) || seen[id]) continue;
      seen[id] = 1;
      if (requeuedIds.has(id) || everUnsent[id] || dropped.has(id)) continue;
      if (id < last) {
        globalViolations += 1;
        cap(globalExamples, { id, after: last });
      } else last = id;
    }
  }

  // Every id's fate.
  let delivered = 0;
  let duplicates = 0;
  let droppedByPolicy = 0;
  let droppedButDelivered = 0;
  let lostInFlight = 0;
  let lostAtPeerClose = 0;
  let lostWithAbandoned = 0;
  const silentKinds = {};
  const silentExamples = [];
  const lostPerSock = new Map();
  for (let id = 0; id < n; id++) {
    if (copies[id] > 0) {
      delivered += 1;
      duplicates += copies[id] - 1;
      if (dropped.has(id)) droppedButDelivered += 1;
      continue;
    }
    if (dropped.has(id)) {
      droppedByPolicy += 1;
      continue;
    }
    const k = lastSock[id];
    let kind;
    if (k < 0) kind = "never written to a socket";
    else if (!lastLeft[id]) {
      if (socks[k].letGo) kind = "never left a socket the library let go";
      else if (socks[k].abandoned) {
        lostWithAbandoned += 1;
        continue;
      }
      else kind = requeuedIds.has(id) ? "requeued, never written again" : "never left, not requeued";
    }
    else if (socks[k].end === "open") kind = "left on the socket still open at the end";
    else if (socks[k].end !== "cut" && socks[k].end !== "peer-closed") kind = `left on a socket the sender closed (${socks[k].end})`;
    else if (lastPos[id] < perSock[k].length) kind = "hole before a delivered message";
    if (!kind) {
      lostInFlight += 1;
      if (socks[k].end === "peer-closed") lostAtPeerClose += 1;
      lostPerSock.set(k, (lostPerSock.get(k) || 0) + 1);
      continue;
    }
    silentKinds[kind] = (silentKinds[kind] || 0) + 1;
    cap(silentExamples, { id, kind, sock: k });
  }
  const silentLosses = Object.values(silentKinds).reduce((a, b) => a + b, 0);

  if (silentLosses) failures.push(`${silentLosses} silent losses (${JSON.stringify(silentKinds)})`);
  if (duplicates) failures.push(`${duplicates} duplicates`);
  if (requeueMismatches.length) {
    failures.push(`${requeueMismatches.length} sockets whose requeue differs from the messages that never left`);
  }
  if (perConnectionViolations) failures.push(`${perConnectionViolations} connections whose arrival order differs from their write order`);
  if (globalViolations) failures.push(`${globalViolations} first arrivals out of send order`);
  if (arrivedUnsent.length) failures.push(`${arrivedUnsent.length} messages arrived that never left their socket`);
  if (nonOpenLeft.length) failures.push(`${nonOpenLeft.length} writes to a non-open socket outside its unsent bytes`);
  if (droppedButDelivered) failures.push(`${droppedButDelivered} messages reported dropped yet delivered`);
  if (unknownIds) failures.push(`${unknownIds} unknown ids arrived`);
  if (unknownSock) failures.push(`${unknownSock} arrivals on a connection not paired with a sender socket`);

  return {
    name: log.name,
    sent: n,
    delivered,
    duplicates,
    droppedByPolicy,
    droppedButDelivered,
    requeueEvents,
    resent,
    neverLeft: unsentTotal,
    neverLeftBytes: unsentBytesTotal,
    requeueMismatches,
    lostInFlight,
    lostAtPeerClose,
    lostWithAbandoned,
    lostInFlightBySocket: [...lostPerSock.entries()].map(([sock, lost]) => ({ sock, lost })),
    silentLosses,
    silentKinds,
    silentExamples,
    perConnectionViolations,
    perConnectionExamples: orderExamples,
    globalOrderViolations: globalViolations,
    globalOrderExamples: globalExamples,
    arrivedUnsent,
    nonOpenWritesLeft: nonOpenLeft,
    unknownIds,
    unknownSock,
    firstAt,
    copies,
    sockets: details,
    failures,
  };
}
