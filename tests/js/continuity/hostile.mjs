// Node `ws` servers for the continuity tests (the `ws` npm package, a devDependency):
//
// startPlain({ select, echo }): a server that does not speak the protocol. `select`: "first"
//   keeps the `ws` package's default handleProtocols (it selects the first subprotocol
//   offered, tether token included, as many servers do); "none" selects none (as servers do
//   that were given no subprotocols); a list selects the first offered that is in it (a
//   server with its own subprotocols). With `echo`, every message goes back as it came.
//
// startHostile(): a server that selects the tether token, answers each `hello` with a valid
//   `welcome`, and on the first connection of each (case, key) then sends one bad thing (the
//   URL path names the case, see CASES), or sends a bad welcome instead (WELCOMES); later connections get a well-behaved echo that
//   speaks the protocol (numbers its data frames, acks what it got), so a test can check
//   that the client recovered; a connection that does not offer the protocol gets a plain
//   echo. Every connection is recorded: hellos, frames, the close code the client sent.
import { randomBytes } from "node:crypto";
import { WebSocketServer } from "ws";

const listen = (options) =>
  new Promise((resolve, reject) => {
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, ...options });
    wss.once("listening", () => resolve(wss));
    wss.once("error", reject);
  });

const closeServer = (wss) =>
  new Promise((resolve) => {
    for (const ws of wss.clients) ws.terminate();
    wss.close(() => resolve());
  });

/** A server without the protocol. Returns { port, url(path), connections, close() }. */
export async function startPlain({ select = "none", echo = true } = {}) {
  const handleProtocols =
    select === "none" ? () => false : Array.isArray(select) ? (offered) => [...offered].find((p) => select.includes(p)) ?? false : undefined;
  const wss = await listen(handleProtocols ? { handleProtocols } : {});
  const connections = [];
  wss.on("connection", (ws, req) => {
    const c = { path: req.url, offered: String(req.headers["sec-websocket-protocol"] ?? ""), protocol: ws.protocol, got: [], closeCode: null };
    connections.push(c);
    ws.on("message", (data, isBinary) => {
      if (c.got.length < 1000) c.got.push(isBinary ? `<binary ${data.length}>` : data.toString());
      if (echo) ws.send(data, { binary: isBinary });
    });
    ws.on("close", (code) => {
      c.closeCode = code;
    });
    ws.on("error", () => {});
  });
  const port = wss.address().port;
  return { port, connections, url: (path = "/") => `ws://127.0.0.1:${port}${path}`, close: () => closeServer(wss) };
}

const MAX_SEQ = 2 ** 53 - 1;

/**
 * The bad things, by case: each a function(send) called right after the `welcome` of the
 * first connection, `send(data, binary?)` writing one frame.
 */
export const CASES = {
  // A data header that is not `D<seq>,<ack>;`.
  "bad-header": (send) => send("Dx,0;hello"),
  // seq 1, then seq 3: "one" is delivered, then the gap.
  gap: (send) => {
    send("D1,0;one");
    send("D3,0;three");
  },
  // An ack of 5 messages in a data header: the client has sent none.
  "ack-above-sent": (send) => send("D1,5;x"),
  // The same in an ack frame.
  "ack-frame-above-sent": (send) => send("A2"),
  // seq 2^53, one past the largest the protocol allows.
  "seq-past-2^53": (send) => send(`D${MAX_SEQ + 1},0;x`),
  // A control frame that is not JSON.
  "control-garbage": (send) => send('{"t":"welcome","sid":'),
  // A second, valid welcome on a live connection.
  "second-welcome": (send, welcome) => send(welcome()),
  // A control frame (`bye`) as a binary frame.
  "binary-control": (send) => send(Buffer.from('{"t":"bye"}'), true),
  // A text frame that is no kind of frame at all.
  "not-a-frame": (send) => send("hello"),
};

/**
 * Bad welcomes, by case: on the first connection the welcome itself is replaced by this
 * (the client must refuse it: no session begins; the client then takes the server for one
 * that does not speak the protocol).
 */
export const WELCOMES = {
  // Not resumed, yet an rx of 3: the client has sent nothing.
  "welcome-rx-above-sent": (w) => ({ ...w, rx: 3 }),
  // A required field missing.
  "welcome-without-tok": ({ tok, ...w }) => w,
  // A string over 256 bytes.
  "welcome-long-sid": (w) => ({ ...w, sid: "a".repeat(300) }),
};

/** The hostile server. Returns { port, url(caseName, key), connections, forKey(key), close() }. */
export async function startHostile() {
  const wss = await listen({
    handleProtocols: (protocols) => [...protocols].find((p) => p === "tether.v1" || p.startsWith("tether.v1+")) ?? false,
  });
  const connections = [];
  const seen = new Map(); // "case key" → connections so far
  wss.on("connection", (ws, req) => {
    const url = new URL(req.url, "http://x");
    const name = decodeURIComponent(url.pathname.slice(1));
    const key = url.searchParams.get("key") ?? "";
    const n = (seen.get(`${name} ${key}`) ?? 0) + 1;
    seen.set(`${name} ${key}`, n);
    const c = { case: name, key, n, protocol: ws.protocol, hellos: [], got: [], sent: [], closeCode: null, closed: false };
    connections.push(c);
    ws.on("close", (code) => {
      c.closeCode = code;
      c.closed = true;
    });
    ws.on("error", () => {});
    if (ws.protocol === "") {
      // Not offered the protocol: a plain echo.
      ws.on("message", (data, isBinary) => {
        c.got.push(isBinary ? `<binary ${data.length}>` : data.toString());
        ws.send(data, { binary: isBinary });
      });
      return;
    }
    const send = (data, binary = false) => {
      c.sent.push(binary ? `<binary ${String(data)}>` : String(data));
      ws.send(data, { binary });
    };
    let sid = null;
    const welcome = () =>
      JSON.stringify({
        t: "welcome",
        sid: (sid ??= randomBytes(16).toString("hex")),
        tok: randomBytes(16).toString("hex"),
        resumed: false,
        rx: 0,
        ttl: 120000,
        reason: c.hellos.at(-1)?.sid ? "unknown" : "new",
      });
    // The well-behaved echo of later connections: one session per connection.
    let rx = 0;
    let tx = 0;
    ws.on("message", (data, isBinary) => {
      const text = isBinary ? null : data.toString();
      if (c.got.length < 1000) c.got.push(isBinary ? `<binary ${data.length}>` : text);
      if (c.hellos.length === 0) {
        let hello;
        try {
          hello = JSON.parse(text);
        } catch {
          hello = { bad: text };
        }
        c.hellos.push(hello);
        if (n === 1 && WELCOMES[name]) {
          send(JSON.stringify(WELCOMES[name](JSON.parse(welcome()))));
          return;
        }
        send(welcome());
        if (n === 1) {
          const bad = CASES[name];
          if (bad) bad(send, welcome);
        }
        return;
      }
      if (n === 1) return;
      const head = isBinary ? data.subarray(0, 35).toString("latin1") : text.slice(0, 35);
      const m = /^D(\d+),(\d+);/.exec(head);
      if (!m) return; // acks, bye
      const seq = Number(m[1]);
      if (seq !== rx + 1) return;
      rx = seq;
      const payload = data.subarray(Buffer.byteLength(m[0]));
      tx += 1;
      const header = `D${tx},${rx};`;
      ws.send(isBinary ? Buffer.concat([Buffer.from(header), payload]) : header + payload.toString(), { binary: isBinary });
    });
  });
  const port = wss.address().port;
  return {
    port,
    connections,
    forKey: (key) => connections.filter((c) => c.key === key),
    url: (caseName, key) => `ws://127.0.0.1:${port}/${encodeURIComponent(caseName)}?key=${encodeURIComponent(key)}`,
    close: () => closeServer(wss),
  };
}

/**
 * A server run by a script: `script(ctx)` is called (async) for each connection, which
 * selects the tether token when offered (else none). ctx: { n (1, 2, … per key), key, path,
 * protocol (the selected one), next(timeoutMs) (the
 * next message: { text } or { binary }, or null when the connection closed), send(data,
 * binary?), welcome(fields) (a valid welcome's JSON, `fields` overriding), terminate() }.
 * Each connection's record (in `connections`): { n, key, path, got, sent, closeCode }.
 * Returns { port, url(path, key), connections, forKey(key), errors, close() }.
 */
export async function startScripted(script) {
  const wss = await listen({
    handleProtocols: (protocols) => [...protocols].find((p) => p === "tether.v1" || p.startsWith("tether.v1+")) ?? false,
  });
  const connections = [];
  const errors = [];
  const counts = new Map();
  wss.on("connection", (ws, req) => {
    const url = new URL(req.url, "http://x");
    const key = url.searchParams.get("key") ?? "";
    const n = (counts.get(key) ?? 0) + 1;
    counts.set(key, n);
    const c = { n, key, path: url.pathname, protocol: ws.protocol, got: [], sent: [], closeCode: null, closed: false };
    connections.push(c);
    const inbox = [];
    let waiting = null;
    ws.on("message", (data, isBinary) => {
      const m = isBinary ? { binary: Buffer.from(data) } : { text: data.toString() };
      c.got.push(m.text ?? `<binary ${data.length}>`);
      if (waiting) {
        const w = waiting;
        waiting = null;
        w(m);
      } else inbox.push(m);
    });
    ws.on("close", (code) => {
      c.closeCode = code;
      c.closed = true;
      if (waiting) {
        const w = waiting;
        waiting = null;
        w(null);
      }
    });
    ws.on("error", () => {});
    const ctx = {
      n,
      key,
      path: url.pathname,
      protocol: ws.protocol,
      next: (timeoutMs = 5000) =>
        inbox.length
          ? Promise.resolve(inbox.shift())
          : c.closed
            ? Promise.resolve(null)
            : new Promise((resolve, reject) => {
                const timer = setTimeout(() => {
                  waiting = null;
                  reject(new Error(`scripted server: no message within ${timeoutMs} ms`));
                }, timeoutMs);
                waiting = (m) => {
                  clearTimeout(timer);
                  resolve(m);
                };
              }),
      send: (data, binary = false) => {
        c.sent.push(String(data));
        ws.send(data, { binary });
      },
      welcome: (fields = {}) =>
        JSON.stringify({ t: "welcome", sid: "0".repeat(32), tok: randomBytes(16).toString("hex"), resumed: false, rx: 0, ttl: 120000, reason: "new", ...fields }),
      terminate: () => ws.terminate(),
      /** After `hello`: a new session (welcome, resumed false) and a well-behaved echo, until
       * the connection closes. */
      async serveNewSession(hello) {
        ctx.send(ctx.welcome({ sid: randomBytes(16).toString("hex"), reason: hello?.sid ? "unknown" : "new" }));
        let rx = 0;
        let tx = 0;
        for (;;) {
          const m = await ctx.next(60_000);
          if (!m) return;
          const head = m.text ?? m.binary.subarray(0, 35).toString("latin1");
          const d = /^D(\d+),(\d+);/.exec(head);
          if (!d || Number(d[1]) !== rx + 1) continue;
          rx += 1;
          tx += 1;
          const header = `D${tx},${rx};`;
          if (m.text !== undefined) ctx.send(header + m.text.slice(d[0].length));
          else ctx.send(Buffer.concat([Buffer.from(header), m.binary.subarray(d[0].length)]), true);
        }
      },
    };
    Promise.resolve()
      .then(() => script(ctx))
      .catch((e) => errors.push(`connection ${n} of ${key}: ${e.stack || e}`));
  });
  const port = wss.address().port;
  return {
    port,
    connections,
    errors,
    forKey: (key) => connections.filter((c) => c.key === key),
    url: (path, key) => `ws://127.0.0.1:${port}${path}?key=${encodeURIComponent(key)}`,
    close: () => closeServer(wss),
  };
}
