// A load balancer of our own for the multi-node tests: a TCP proxy (Node `net`, like
// proxy.mjs) on 127.0.0.1 that spreads incoming connections over N upstream nodes
// (127.0.0.1:<port>), at random from a seed or round robin. An upstream that refuses the
// connection (a node killed and not yet back) is skipped: the next one is tried, and only
// when every one refused is the client's connection reset. On command it cuts (TCP reset,
// both ways) every connection, every connection to one upstream, or each connection with a
// probability (from its seed).
//
// With `sniff: true` it reads the WebSocket frames going through (proxy.mjs's FrameSniffer)
// and keeps the continuity `welcome`s only, each with the upstream that sent it: which node
// opened or resumed which session (tests count the resumes that moved to another node).
import net from "node:net";

import { FrameSniffer } from "./proxy.mjs";

/** A small seeded PRNG (mulberry32). */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MAX_WELCOMES = 100_000; // kept; later ones are counted only

/**
 * Starts a balancer on 127.0.0.1 (`port`, 0: any free one) over `upstreams` (ports on
 * 127.0.0.1). `policy`: "random" (the first upstream tried drawn from `seed`) or
 * "round-robin"; either way the others are tried in turn after a refusal. `connectTimeoutMs`
 * bounds each attempt.
 * Returns { port, url(path), upstreams, stats, welcomes, live(), connectionsTo(i),
 * cutAll(), cutUpstream(i), cutRandom(p), setUpstream(i, port), close() }.
 */
export async function startBalancer({ upstreams, policy = "random", seed = 1, port = 0, sniff = false, connectTimeoutMs = 2000 }) {
  if (!Array.isArray(upstreams) || upstreams.length === 0) throw new Error("startBalancer: no upstreams");
  if (policy !== "random" && policy !== "round-robin") throw new Error(`startBalancer: unknown policy ${policy}`);
  const ups = [...upstreams];
  const random = rng(seed);
  const cutRandomness = rng(seed ^ 0x5eed);
  const conns = new Set();
  const stats = {
    accepted: 0,
    // Connections forwarded to each upstream.
    perUpstream: ups.map(() => 0),
    // Attempts an upstream refused (or that timed out), by upstream.
    refusedBy: ups.map(() => 0),
    // Client connections reset because every upstream refused.
    noUpstream: 0,
    cuts: 0,
    cutConnections: 0,
  };
  const welcomes = [];
  let welcomesSeen = 0;
  let rr = 0;
  let nextConn = 0;
  let closing = false;

  const reset = (s) => {
    if (typeof s.resetAndDestroy === "function" && !s.destroyed && s.readyState !== "opening") s.resetAndDestroy();
    else s.destroy();
  };

  /** Connects to upstream `i`; resolves with the socket, or null if it failed. */
  const attempt = (i) =>
    new Promise((resolve) => {
      const s = net.connect({ host: "127.0.0.1", port: ups[i] });
      const timer = setTimeout(() => {
        s.destroy();
        resolve(null);
      }, connectTimeoutMs);
      s.once("connect", () => {
        clearTimeout(timer);
        s.removeAllListeners("error");
        s.on("error", () => {});
        resolve(s);
      });
      s.once("error", () => {
        clearTimeout(timer);
        s.destroy();
        resolve(null);
      });
    });

  const server = net.createServer(async (client) => {
    stats.accepted += 1;
    client.on("error", () => {});
    client.pause(); // nothing is read until an upstream is there (its bytes wait in the socket)
    let clientGone = false;
    client.once("close", () => {
      clientGone = true;
    });
    const first = policy === "random" ? Math.floor(random() * ups.length) : rr++ % ups.length;
    let upstream = null;
    let index = -1;
    for (let k = 0; k < ups.length && !clientGone && !closing; k++) {
      const i = (first + k) % ups.length;
      upstream = await attempt(i);
      if (upstream) {
        index = i;
        break;
      }
      stats.refusedBy[i] += 1;
    }
    if (!upstream || clientGone || closing) {
      if (upstream) upstream.destroy();
      else if (!clientGone && !closing) stats.noUpstream += 1;
      reset(client);
      return;
    }
    stats.perUpstream[index] += 1;
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const c = { id: nextConn++, upstream: index, client, socket: upstream, t: Date.now() };
    conns.add(c);
    const end = () => {
      if (!conns.delete(c)) return;
      client.destroy();
      upstream.destroy();
    };
    const forward = (from, to, sniffer) => {
      from.on("data", (chunk) => {
        if (sniffer) sniffer.push(chunk);
        if (!to.write(chunk)) {
          from.pause();
          to.once("drain", () => from.resume());
        }
      });
      from.on("close", end);
    };
    let down = null;
    if (sniff) {
      const sink = {
        head: () => {},
        frame: (f) => {
          if (f.op !== 1 || !f.text?.startsWith('{"t":"welcome"')) return;
          welcomesSeen += 1;
          if (welcomes.length >= MAX_WELCOMES) return;
          let w = null;
          try {
            w = JSON.parse(f.text);
          } catch {
            // (cut at the sniffer's 300 bytes: not a welcome of ours)
          }
          if (w) welcomes.push({ conn: c.id, upstream: index, sid: w.sid, resumed: w.resumed, reason: w.reason ?? null, rx: w.rx, t: f.t });
        },
      };
      down = new FrameSniffer("down", c.id, sink);
    }
    forward(client, upstream, null);
    forward(upstream, client, down);
    client.resume();
    if (clientGone) end();
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  const actualPort = server.address().port;

  const cut = (pred) => {
    let n = 0;
    for (const c of [...conns]) {
      if (!pred(c)) continue;
      conns.delete(c);
      reset(c.client);
      reset(c.socket);
      n += 1;
    }
    stats.cuts += 1;
    stats.cutConnections += n;
    return n;
  };

  return {
    port: actualPort,
    upstreams: ups,
    stats,
    welcomes,
    welcomesSeen: () => welcomesSeen,
    url: (path = "/") => `ws://127.0.0.1:${actualPort}${path}`,
    /** The live connections: [{ id, upstream, t }]. */
    live: () => [...conns].map(({ id, upstream, t }) => ({ id, upstream, t })),
    /** How many live connections go to upstream `i`. */
    connectionsTo: (i) => [...conns].filter((c) => c.upstream === i).length,
    /** Cuts every connection now (TCP reset both ways). Returns how many. */
    cutAll: () => cut(() => true),
    /** Cuts every connection to upstream `i`. Returns how many. */
    cutUpstream: (i) => cut((c) => c.upstream === i),
    /** Cuts each connection with probability `p` (from the seed). Returns how many. */
    cutRandom: (p = 0.5) => cut(() => cutRandomness() < p),
    /** Points upstream `i` at another port (new connections only). */
    setUpstream(i, p) {
      ups[i] = p;
    },
    /** Stops listening and closes what is left. */
    async close() {
      closing = true;
      for (const c of [...conns]) {
        conns.delete(c);
        c.client.destroy();
        c.socket.destroy();
      }
      await new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * From sniffed `welcomes` (in order): how many resumed a session on another upstream than
 * the one that sent that session's previous welcome.
 */
export function crossNodeResumes(welcomes) {
  const lastUpstream = new Map();
  let moved = 0;
  for (const w of welcomes) {
    const prev = lastUpstream.get(w.sid);
    if (w.resumed && prev !== undefined && prev !== w.upstream) moved += 1;
    lastUpstream.set(w.sid, w.upstream);
  }
  return moved;
}
