// A chaos TCP proxy (Node `net`) for the continuity tests: put in front of a server, it
// forwards bytes both ways and, on command, cuts every connection at once (with a TCP
// reset), stalls (stops reading from both sides), refuses new connections (each accepted
// one is reset at once), or reads and throws away what the server sends (the client then
// hears nothing more on that connection: acks and messages lost in flight).
//
// It can also sniff the WebSocket frames going through (`sniff: true`): after the HTTP
// upgrade of each connection, every frame's opcode, its first bytes (unmasked) and a close
// frame's code, in both directions. Tests use this to see the `welcome`s (sid, tok) and the
// client's `bye` on the wire, without touching either side.
import net from "node:net";

const SNIFF_KEEP_BYTES = 300; // of each frame's payload
const SNIFF_MAX_FRAMES = 50_000; // per proxy; later frames are counted, not kept

/** Parses one direction of a WebSocket connection: the HTTP head, then frames (also used
 * by balancer.mjs). */
export class FrameSniffer {
  constructor(dir, conn, sink) {
    this.dir = dir; // "up" (client → server) or "down"
    this.conn = conn;
    this.sink = sink;
    this.head = true;
    this.buf = Buffer.alloc(0);
    this.headers = "";
  }

  push(chunk) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    if (this.head) {
      const end = this.buf.indexOf("\r\n\r\n");
      if (end < 0) {
        if (this.buf.length > 16384) this.buf = Buffer.alloc(0); // not HTTP: give up on it
        return;
      }
      this.headers = this.buf.subarray(0, end).toString("latin1");
      this.buf = this.buf.subarray(end + 4);
      this.head = false;
      this.sink.head(this.dir, this.conn, this.headers);
    }
    for (;;) {
      const b = this.buf;
      if (b.length < 2) return;
      const op = b[0] & 0x0f;
      const rsv = (b[0] & 0x70) >> 4;
      const masked = (b[1] & 0x80) !== 0;
      let len = b[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        len = Number(b.readBigUInt64BE(2));
        off = 10;
      }
      let mask = null;
      if (masked) {
        if (b.length < off + 4) return;
        mask = b.subarray(off, off + 4);
        off += 4;
      }
      if (b.length < off + len) return;
      const keep = Math.min(len, SNIFF_KEEP_BYTES);
      const head = Buffer.from(b.subarray(off, off + keep));
      if (mask) for (let i = 0; i < keep; i++) head[i] ^= mask[i & 3];
      this.buf = b.subarray(off + len);
      const frame = { conn: this.conn, dir: this.dir, op, rsv, len, t: Date.now() };
      if (op === 1) frame.text = head.toString("utf8");
      else if (op === 2) frame.bytes = head;
      else if (op === 8) {
        frame.code = len >= 2 ? head.readUInt16BE(0) : null;
        frame.reason = len > 2 ? head.subarray(2).toString("utf8") : "";
      }
      this.sink.frame(frame);
    }
  }
}

/**
 * Starts a proxy on 127.0.0.1 (any free port) to 127.0.0.1:`upstreamPort`.
 * Returns { port, url(path), cutAll(), refuse(on), stall(on), discardDown(on), stats,
 * frames, heads, connections(), close() }.
 */
export async function startProxy({ upstreamPort, sniff = false }) {
  const conns = new Set();
  const stats = { accepted: 0, refused: 0, upstreamFailed: 0, cuts: 0, cutConnections: 0, discardedBytes: 0 };
  const frames = [];
  const heads = [];
  let framesSeen = 0;
  let refusing = false;
  let stalled = false;
  let discarding = false;
  let nextConn = 0;
  const sink = {
    head: (dir, conn, headers) => heads.push({ dir, conn, headers }),
    frame: (f) => {
      framesSeen += 1;
      if (frames.length < SNIFF_MAX_FRAMES) frames.push(f);
    },
  };

  const reset = (s) => {
    if (typeof s.resetAndDestroy === "function" && !s.destroyed && s.readyState !== "opening") s.resetAndDestroy();
    else s.destroy();
  };

  const server = net.createServer((client) => {
    stats.accepted += 1;
    client.on("error", () => {});
    if (refusing) {
      stats.refused += 1;
      reset(client);
      return;
    }
    const id = nextConn++;
    const upstream = net.connect({ host: "127.0.0.1", port: upstreamPort });
    upstream.on("error", () => {});
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const c = { id, client, upstream, connected: false, up: null, down: null };
    if (sniff) {
      c.up = new FrameSniffer("up", id, sink);
      c.down = new FrameSniffer("down", id, sink);
    }
    conns.add(c);
    const end = () => {
      if (!conns.delete(c)) return;
      client.destroy();
      upstream.destroy();
    };
    upstream.on("connect", () => {
      c.connected = true;
    });
    upstream.on("error", () => {
      if (!c.connected) stats.upstreamFailed += 1;
    });
    // One direction: `from`'s bytes to `to` (sniffed first), with backpressure.
    const forward = (from, to, sniffer, isDown) => {
      from.on("data", (chunk) => {
        if (sniffer) sniffer.push(chunk);
        if (isDown && discarding) {
          stats.discardedBytes += chunk.length;
          return;
        }
        if (!to.write(chunk)) {
          from.pause();
          to.once("drain", () => {
            if (!stalled) from.resume();
          });
        }
      });
      from.on("close", end);
    };
    forward(client, upstream, c.up, false);
    forward(upstream, client, c.down, true);
    if (stalled) {
      client.pause();
      upstream.pause();
    }
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const port = server.address().port;

  return {
    port,
    stats,
    frames,
    heads,
    framesSeen: () => framesSeen,
    url: (path = "/") => `ws://127.0.0.1:${port}${path}`,
    /** Live connections (accepted and not yet closed). */
    connections: () => conns.size,
    /** Cuts every connection now, with a TCP reset both ways. Returns how many. */
    cutAll() {
      const n = conns.size;
      stats.cuts += 1;
      stats.cutConnections += n;
      for (const c of [...conns]) {
        conns.delete(c);
        reset(c.client);
        reset(c.upstream);
      }
      return n;
    },
    /** While on, every new connection is reset as soon as it is accepted. */
    refuse(on) {
      refusing = on;
    },
    /** While on, nothing is read from either side of any connection (new ones included). */
    stall(on) {
      stalled = on;
      for (const c of conns) {
        if (on) {
          c.client.pause();
          c.upstream.pause();
        } else {
          c.client.resume();
          c.upstream.resume();
        }
      }
    },
    /** While on, what servers send is read and thrown away (sniffed first). */
    discardDown(on) {
      discarding = on;
    },
    /** Stops listening and cuts what is left. */
    async close() {
      refusing = true;
      for (const c of [...conns]) {
        conns.delete(c);
        c.client.destroy();
        c.upstream.destroy();
      }
      await new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
