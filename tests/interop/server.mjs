// An independent, minimal server of the tether continuity protocol, version 1, written from
// PROTOCOL.md alone (not from the Rust engines), to check that the document is enough.
// Application: echo every client message to the same session; with --feed-ms N, send
// {"n":k} to every session every N ms (k: the message's place in all the application sent
// the session, echoes included). See tests/interop/README.md.
//
//   node tests/interop/server.mjs --listen 127.0.0.1:PORT [--ttl-ms N] [--window N]
//        [--feed-ms N] [--protocol P]...
//
// Dependencies: Node's standard library and `ws`.

import http from 'node:http';
import crypto from 'node:crypto';
import { WebSocketServer } from 'ws';

// ---- limits (PROTOCOL.md defaults, and this server's own bounds) -------------------------
const MAX_NUM = Number.MAX_SAFE_INTEGER; // 2^53 - 1
const CONTROL_MAX = 4096; // bytes in a control frame
const HEADER_MAX = 35; // bytes in a data header
const STRING_MAX = 256; // bytes in any JSON string
const WINDOW_BYTES = 1024 * 1024; // the byte window, both directions
const QUEUE_MSGS = 1024; // per-session queue
const QUEUE_BYTES = 4 * 1024 * 1024;
const ENDED_REMEMBERED = 4096;
const DELAYED_ACK_MS = 250;
const MAX_SESSIONS = 10000; // beyond this, a new session is refused with 4003 (own choice)
const HELLO_TIMEOUT_MS = 10000; // no hello within this: closed with 4002 (own choice)
const PING_MS = 30000; // liveness: a socket silent to two pings is dropped (own choice)
const MAX_PAYLOAD = QUEUE_BYTES + HEADER_MAX; // largest incoming frame (own choice)
const MAX_BUFFERED = 16 * 1024 * 1024; // a peer that does not read is dropped (own choice)

// ---- command line -------------------------------------------------------------------------
function usage(msg) {
  process.stderr.write(`${msg}\nusage: server.mjs --listen 127.0.0.1:PORT [--ttl-ms N] ` +
    `[--window N] [--feed-ms N] [--protocol P]...\n`);
  process.exit(2);
}
const opts = { port: null, ttlMs: 120000, window: 256, feedMs: 0, protocols: [] };
{
  const a = process.argv.slice(2);
  const int = (v, lo, hi, name) => {
    if (!/^(0|[1-9][0-9]*)$/.test(v ?? '') || Number(v) < lo || Number(v) > hi) {
      usage(`${name}: expected an integer in ${lo}..${hi}`);
    }
    return Number(v);
  };
  for (let i = 0; i < a.length; i++) {
    const k = a[i], v = a[i + 1];
    if (k === '--listen') {
      const m = /^127\.0\.0\.1:([0-9]{1,5})$/.exec(v ?? '');
      if (!m || Number(m[1]) > 65535) usage('--listen: expected 127.0.0.1:PORT');
      opts.port = Number(m[1]); i++;
    } else if (k === '--ttl-ms') { opts.ttlMs = int(v, 1, 2 ** 31 - 1, k); i++; }
    else if (k === '--window') { opts.window = int(v, 1, 65536, k); i++; }
    else if (k === '--feed-ms') { opts.feedMs = int(v, 1, 2 ** 31 - 1, k); i++; }
    else if (k === '--protocol') {
      if (!v || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(v)) usage('--protocol: expected a token');
      opts.protocols.push(v); i++;
    } else usage(`unknown argument ${k}`);
  }
  if (opts.port === null) usage('--listen is required');
}

// ---- frames -------------------------------------------------------------------------------
class ProtocolError extends Error {}
const fail = (why) => { throw new ProtocolError(why); };

// A strict JSON reader: rejects repeated keys (at any depth), strings over 256 UTF-8 bytes
// (keys included), nesting deeper than 32; keeps each number's text so that the protocol's
// number rule can be checked. Returns {k: kind, v: value, raw}.
const ESCAPES = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
function parseJson(text) {
  let i = 0;
  const n = text.length;
  const skip = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++; else break;
    }
  };
  const NUM = /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
  function str() {
    i++; // the opening quote
    let out = '', from = i;
    for (;;) {
      if (i >= n) fail('unterminated string');
      const c = text.charCodeAt(i);
      if (c === 0x22) { out += text.slice(from, i); i++; break; }
      if (c < 0x20) fail('control character in string');
      if (c !== 0x5c) { i++; continue; }
      out += text.slice(from, i);
      const e = text[i + 1];
      if (Object.hasOwn(ESCAPES, e ?? '')) { out += ESCAPES[e]; i += 2; }
      else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
        out += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16)); i += 6;
      } else fail('bad escape');
      from = i;
    }
    if (Buffer.byteLength(out) > STRING_MAX) fail('string over 256 bytes');
    return out;
  }
  function value(depth) {
    if (depth > 32) fail('too deep');
    skip();
    const c = text[i];
    if (c === '"') return { k: 'string', v: str() };
    if (c === '{') {
      i++;
      const m = new Map();
      skip();
      if (text[i] === '}') { i++; return { k: 'object', v: m }; }
      for (;;) {
        skip();
        if (text[i] !== '"') fail('expected a key');
        const key = str();
        if (m.has(key)) fail(`repeated field ${key}`);
        skip();
        if (text[i] !== ':') fail('expected :');
        i++;
        m.set(key, value(depth + 1));
        skip();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === '}') { i++; return { k: 'object', v: m }; }
        fail('expected , or }');
      }
    }
    if (c === '[') {
      i++;
      const arr = [];
      skip();
      if (text[i] === ']') { i++; return { k: 'array', v: arr }; }
      for (;;) {
        arr.push(value(depth + 1));
        skip();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === ']') { i++; return { k: 'array', v: arr }; }
        fail('expected , or ]');
      }
    }
    for (const [lit, k, v] of [['true', 'bool', true], ['false', 'bool', false], ['null', 'null', null]]) {
      if (text.startsWith(lit, i)) { i += lit.length; return { k, v }; }
    }
    NUM.lastIndex = i;
    const m = NUM.exec(text);
    if (m) { i += m[0].length; return { k: 'number', v: Number(m[0]), raw: m[0] }; }
    fail('bad JSON value');
  }
  const v = value(0);
  skip();
  if (i !== n) fail('trailing bytes after the JSON object');
  if (v.k !== 'object') fail('not an object');
  return v.v;
}

// A protocol number: decimal, no sign, fraction, exponent or leading zero, <= 2^53 - 1.
const NUMBER_RE = /^(0|[1-9][0-9]{0,15})$/;
function protoNumber(raw) {
  if (!NUMBER_RE.test(raw)) fail(`bad number ${JSON.stringify(raw)}`);
  const v = Number(raw);
  if (v > MAX_NUM) fail('number above 2^53-1');
  return v;
}
function field(m, key, kinds) {
  const f = m.get(key);
  if (!f) fail(`missing field ${key}`);
  if (!kinds.includes(f.k)) fail(`field ${key}: wrong type`);
  return f;
}

// Parses the control frame `buf` (a text frame, first byte `{`).
function parseControl(buf) {
  if (buf.length > CONTROL_MAX) fail('control frame over 4096 bytes');
  const m = parseJson(buf.toString('utf8'));
  const t = field(m, 't', ['string']).v;
  if (t === 'hello') {
    const v = field(m, 'v', ['number']);
    if (v.raw !== '1') fail('unsupported version');
    const sid = field(m, 'sid', ['string', 'null']).v;
    const tok = field(m, 'tok', ['string', 'null']).v;
    const rx = protoNumber(field(m, 'rx', ['number']).raw);
    // The client's own window, if it states one (PROTOCOL.md, Details: Windows).
    const optionalWindow = (key, max) => {
      if (!m.has(key)) return max;
      const n = protoNumber(field(m, key, ['number']).raw);
      if (n < 1 || n > max) fail(`${key} out of range`);
      return n;
    };
    const window = optionalWindow('window', 65536);
    const windowBytes = optionalWindow('windowBytes', MAX_NUM);
    return { t, sid, tok, rx, window, windowBytes };
  }
  if (t === 'bye' || t === 'ping') return { t };
  fail(`unexpected control frame ${JSON.stringify(t)}`);
}

// Reads a decimal number from buf[i..lim) up to the byte `term`; returns [value, next index].
function readNum(buf, i, lim, term) {
  const start = i;
  while (i < lim && buf[i] >= 0x30 && buf[i] <= 0x39) i++;
  if (i >= lim || buf[i] !== term) fail('malformed header');
  return [protoNumber(buf.toString('latin1', start, i)), i + 1];
}

// Parses `D<seq>,<ack>;` from the first 35 bytes of buf.
function parseDataHeader(buf) {
  const lim = Math.min(buf.length, HEADER_MAX);
  const [seq, i] = readNum(buf, 1, lim, 0x2c);
  const [ack, j] = readNum(buf, i, lim, 0x3b);
  if (seq < 1) fail('seq 0');
  return { seq, ack, off: j };
}

function parseAckFrame(buf) {
  if (buf.length > 17) fail('ack frame too long');
  return protoNumber(buf.toString('latin1', 1));
}

// ---- sessions -----------------------------------------------------------------------------
const sessions = new Map(); // sid -> Session (live or detached)
const ended = new Map(); // sid -> {reason, tokHash}, the ENDED_REMEMBERED most recent
const conns = new Set(); // every open tether or plain connection
let stopping = false; // SIGTERM/SIGINT received

const newId = () => crypto.randomBytes(16).toString('hex'); // 128 bits, hex
const hashTok = (tok) => crypto.createHash('sha256').update(tok, 'utf8').digest();
// Constant time: both sides are SHA-256 digests of the same length.
const tokenMatches = (tokHash, tok) => tok !== null && crypto.timingSafeEqual(tokHash, hashTok(tok));

function appLog(line) { process.stderr.write(`${line}\n`); }

function createSession() {
  const s = {
    sid: newId(), tokHash: null, conn: null, alive: true,
    nextSeq: 1, log: [], logBytes: 0, peerAcked: 0, // server -> client
    queue: [], queueBytes: 0,
    rx: 0, // client -> server: highest seq delivered in order
    ttlTimer: null, feedTimer: null,
    appSent: 0, // messages the application has sent the session (echoes and feed)
  };
  sessions.set(s.sid, s);
  if (opts.feedMs) {
    // k = this message's place in everything the application sent the session, echoes
    // included (as the reference server numbers it).
    s.feedTimer = setInterval(() => appSend(s, Buffer.from(`{"n":${s.appSent + 1}}`), false), opts.feedMs);
  }
  return s;
}

const held = (s) => s.log.length + s.queue.length;

// The session ends: its application is told, its sid remembered to answer a resume.
function endSession(s, reason) {
  if (!s.alive) return;
  s.alive = false;
  clearTimeout(s.ttlTimer);
  clearInterval(s.feedTimer);
  sessions.delete(s.sid);
  ended.set(s.sid, { reason, tokHash: s.tokHash });
  if (ended.size > ENDED_REMEMBERED) ended.delete(ended.keys().next().value);
  appLog(`session ended sid=${s.sid} reason=${reason} held=${held(s)}`);
  if (s.conn) s.conn.close(4003, 'session ended');
}

// After `bye`: forgotten, a later resume is answered `unknown`.
function forgetSession(s) {
  if (!s.alive) return;
  s.alive = false;
  clearTimeout(s.ttlTimer);
  clearInterval(s.feedTimer);
  sessions.delete(s.sid);
  appLog(`session ended sid=${s.sid} reason=bye held=${held(s)}`);
}

function detach(s) {
  s.conn = null;
  if (s.alive && !stopping) s.ttlTimer = setTimeout(() => endSession(s, 'expired'), opts.ttlMs);
}

// Window for what this server sends: messages and bytes; one oversized message may go alone.
const canSend = (s, size) =>
  s.log.length < opts.window && (s.log.length === 0 || s.logBytes + size <= WINDOW_BYTES);

function writeData(s, e) {
  const c = s.conn;
  const frame = Buffer.concat([Buffer.from(`D${e.seq},${s.rx};`, 'latin1'), e.payload]);
  c.acked(); // the ack rides on this frame
  c.send(frame, e.binary);
}

// The application sends a message to session s.
function appSend(s, payload, binary) {
  if (!s.alive) return;
  s.appSent += 1;
  if (s.conn && s.queue.length === 0 && canSend(s, payload.length)) {
    const e = { seq: s.nextSeq++, payload, binary };
    s.log.push(e);
    s.logBytes += payload.length;
    writeData(s, e);
    return;
  }
  if (s.queue.length + 1 > QUEUE_MSGS || s.queueBytes + payload.length > QUEUE_BYTES) {
    endSession(s, 'overflow');
    return;
  }
  s.queue.push({ payload, binary });
  s.queueBytes += payload.length;
}

// Moves queued messages into the send log while the window allows.
function pump(s) {
  while (s.alive && s.conn && s.queue.length && canSend(s, s.queue[0].payload.length)) {
    const q = s.queue.shift();
    s.queueBytes -= q.payload.length;
    const e = { seq: s.nextSeq++, payload: q.payload, binary: q.binary };
    s.log.push(e);
    s.logBytes += e.payload.length;
    writeData(s, e);
  }
}

// A cumulative ack from the client (a data header, an A frame, or hello's rx).
function freeUpTo(s, ack) {
  if (ack > s.nextSeq - 1) fail('ack above the highest seq sent');
  if (ack <= s.peerAcked) return; // nothing new (a lower ack is tolerated, own choice)
  s.peerAcked = ack;
  while (s.log.length && s.log[0].seq <= ack) s.logBytes -= s.log.shift().payload.length;
}

// ---- connections --------------------------------------------------------------------------
class Conn {
  constructor(ws, protocol) {
    this.ws = ws;
    this.protocol = protocol; // the application's protocol, without the prefix
    this.state = 'hello'; // hello -> live -> closed
    this.session = null;
    this.pongs = true;
    this.unackedMsgs = 0; // delivered to the application, not yet acked
    this.unackedBytes = 0;
    this.ackTimer = null;
    this.helloTimer = setTimeout(() => this.protocolError('no hello'), HELLO_TIMEOUT_MS);
  }
  send(data, binary) {
    if (this.state === 'closed') return;
    this.ws.send(data, { binary });
    if (this.ws.bufferedAmount > MAX_BUFFERED) this.drop();
  }
  acked() { // an ack (piggybacked, A frame or welcome) has just gone
    this.unackedMsgs = 0;
    this.unackedBytes = 0;
    clearTimeout(this.ackTimer);
    this.ackTimer = null;
  }
  sendAck() {
    const s = this.session;
    if (this.state !== 'live' || !s) return;
    this.acked();
    this.send(`A${s.rx}`, false);
  }
  // Unlinks this socket from its session (which then detaches) and stops reading it.
  unlink() {
    if (this.state === 'closed') return false;
    this.state = 'closed';
    clearTimeout(this.helloTimer);
    clearTimeout(this.ackTimer);
    const s = this.session;
    this.session = null;
    if (s && s.conn === this) detach(s);
    return true;
  }
  close(code, reason) { if (this.unlink()) this.ws.close(code, reason); }
  drop() { if (this.unlink()) this.ws.terminate(); }
  protocolError(why) {
    appLog(`protocol error: ${why}`);
    this.close(4002, 'protocol error');
  }

  onFrame(buf, binary) {
    if (this.state === 'closed') return;
    if (buf.length === 0) fail('empty frame');
    const b0 = buf[0];
    if (b0 === 0x7b) { // '{'
      if (binary) fail('control frame in a binary frame');
      const msg = parseControl(buf);
      if (msg.t === 'hello') {
        if (this.state !== 'hello') fail('second hello');
        this.onHello(msg);
      } else if (msg.t === 'ping') { // the client's heartbeat (PROTOCOL.md, Liveness)
        if (this.state !== 'live') fail('ping before hello');
        this.session.prevTokHash = null; // the client has its welcome
        this.send('{"t":"pong"}', false);
      } else { // bye
        if (this.state !== 'live') fail('bye before hello');
        const s = this.session;
        forgetSession(s);
        this.close(1000, '');
      }
    } else if (b0 === 0x44) { // 'D'
      if (this.state !== 'live') fail('data before hello');
      const { seq, ack, off } = parseDataHeader(buf);
      this.session.prevTokHash = null; // the client has its welcome
      this.onData(seq, ack, buf.subarray(off), binary);
    } else if (b0 === 0x41) { // 'A'
      if (binary) fail('ack in a binary frame');
      if (this.state !== 'live') fail('ack before hello');
      const s = this.session;
      s.prevTokHash = null; // the client has its welcome
      freeUpTo(s, parseAckFrame(buf));
      pump(s);
    } else fail('unknown frame kind');
  }

  onHello({ sid, tok, rx, window, windowBytes }) {
    clearTimeout(this.helloTimer);
    // The client sends within the smaller window: the half-window ack rule uses it.
    this.ackWindow = Math.min(opts.window, window);
    this.ackWindowBytes = Math.min(WINDOW_BYTES, windowBytes);
    let s = null, reason = 'new';
    if (sid !== null) {
      const known = sessions.get(sid);
      if (known) {
        // The token of the last welcome, or the one that resume was made with until the
        // client shows it got that welcome (PROTOCOL.md, rule 7).
        if (tokenMatches(known.tokHash, tok) || (known.prevTokHash && tokenMatches(known.prevTokHash, tok))) s = known;
        else reason = 'auth';
      } else {
        const e = ended.get(sid);
        reason = e ? (e.tokHash && tokenMatches(e.tokHash, tok) ? e.reason : 'auth') : 'unknown';
      }
    }
    const resumed = s !== null;
    if (s) {
      // Resume. Checked before anything changes: a bad rx leaves the session as it was.
      if (rx > s.nextSeq - 1) fail('hello rx above what was sent');
      if (rx < s.peerAcked) fail('hello rx below what was acknowledged');
      if (s.conn) s.conn.close(4001, 'superseded');
      clearTimeout(s.ttlTimer);
      s.ttlTimer = null;
      freeUpTo(s, rx);
    } else {
      if (sessions.size >= MAX_SESSIONS) { this.close(4003, 'too many sessions'); return; }
      s = createSession();
    }
    const tok2 = newId(); // rotated on every welcome
    if (resumed && !(s.prevTokHash && tokenMatches(s.prevTokHash, tok))) s.prevTokHash = s.tokHash;
    if (!resumed) s.prevTokHash = null;
    s.tokHash = hashTok(tok2);
    s.conn = this;
    this.session = s;
    this.state = 'live';
    const welcome = { t: 'welcome', sid: s.sid, tok: tok2, resumed, rx: s.rx, ttl: opts.ttlMs };
    if (!resumed) welcome.reason = reason;
    welcome.window = opts.window;
    welcome.windowBytes = WINDOW_BYTES;
    welcome.ping = true; // this server answers pings
    this.acked(); // welcome's rx acknowledges everything delivered so far
    this.send(JSON.stringify(welcome), false);
    // Replay what the client's rx has not covered (every message left in the log), then the queue.
    for (const e of s.log) if (this.state === 'live') writeData(s, e);
    pump(s);
  }

  onData(seq, ack, payload, binary) {
    const s = this.session;
    freeUpTo(s, ack);
    if (seq <= s.rx) { this.sendAck(); pump(s); return; } // duplicate: discard, ack at once
    if (seq !== s.rx + 1) fail(`gap: seq ${seq} after ${s.rx}`);
    s.rx = seq;
    this.unackedMsgs += 1;
    this.unackedBytes += payload.length;
    pump(s); // the ack above may have opened the window
    // Deliver to the application: echo, same kind. Its data frame carries the ack.
    appSend(s, Buffer.from(payload), binary);
    if (this.state !== 'live' || this.unackedMsgs === 0) return;
    if (this.unackedMsgs * 2 >= this.ackWindow || this.unackedBytes * 2 >= this.ackWindowBytes) this.sendAck();
    else if (!this.ackTimer) this.ackTimer = setTimeout(() => { this.ackTimer = null; this.sendAck(); }, DELAYED_ACK_MS);
  }
}

// ---- the server ---------------------------------------------------------------------------
function selectProtocol(offered) {
  for (const p of offered) {
    if (p === 'tether.v1') return p;
    if (p.startsWith('tether.v1+') && opts.protocols.includes(p.slice(10))) return p;
  }
  for (const p of offered) if (opts.protocols.includes(p)) return p; // plain, no tether
  return false;
}

const httpServer = http.createServer((req, res) => {
  res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' });
  res.end('WebSocket only\n');
});
httpServer.on('clientError', (err, socket) => socket.destroy());
const wss = new WebSocketServer({
  server: httpServer,
  maxPayload: MAX_PAYLOAD,
  perMessageDeflate: false,
  handleProtocols: (set) => selectProtocol([...set]),
  // A client that offers no tether token is refused (PROTOCOL.md, Negotiation): a client
  // under "prefer" tries such an offer only to find servers without subprotocols.
  verifyClient: ({ req }, done) => {
    const offered = String(req.headers['sec-websocket-protocol'] || '').split(',').map((p) => p.trim());
    if (offered.some((p) => p === 'tether.v1' || p.startsWith('tether.v1+'))) done(true);
    else done(false, 400, 'this server speaks the tether continuity protocol: offer tether.v1');
  },
});
wss.on('error', (e) => appLog(`server error: ${e.message}`));

wss.on('connection', (ws) => {
  const selected = ws.protocol || '';
  ws.on('error', (e) => appLog(`socket error: ${e.message}`)); // e.g. 1007, 1009: ws closes it
  if (!selected.startsWith('tether.v1')) { // a plain WebSocket: the bare echo
    const plain = { ws, pongs: true, drop: () => ws.terminate() };
    conns.add(plain);
    ws.on('pong', () => { plain.pongs = true; });
    ws.on('message', (data, isBinary) => {
      ws.send(data, { binary: isBinary });
      if (ws.bufferedAmount > MAX_BUFFERED) ws.terminate();
    });
    ws.on('close', () => conns.delete(plain));
    return;
  }
  const conn = new Conn(ws, selected === 'tether.v1' ? '' : selected.slice(10));
  conns.add(conn);
  ws.on('pong', () => { conn.pongs = true; });
  ws.on('message', (data, isBinary) => {
    try {
      conn.onFrame(data, isBinary);
    } catch (e) {
      conn.protocolError(e instanceof ProtocolError ? e.message : `exception: ${e && e.stack}`);
    }
  });
  ws.on('close', () => { conns.delete(conn); conn.unlink(); });
});

const pinger = setInterval(() => {
  for (const c of conns) {
    if (!c.pongs) { c.drop(); continue; }
    c.pongs = false;
    try { c.ws.ping(); } catch { /* closing */ }
  }
}, PING_MS);

httpServer.listen(opts.port, '127.0.0.1', () => {
  process.stdout.write(`listening on 127.0.0.1:${httpServer.address().port}\n`);
});
httpServer.on('error', (e) => { appLog(`listen: ${e.message}`); process.exit(1); });

function shutdown() {
  if (stopping) return;
  stopping = true;
  clearInterval(pinger);
  for (const s of sessions.values()) { clearTimeout(s.ttlTimer); clearInterval(s.feedTimer); }
  for (const c of conns) {
    if (c instanceof Conn) c.close(1001, 'server going away');
    else c.ws.close(1001, 'server going away');
  }
  httpServer.close();
  const done = () => process.exit(0);
  const force = setTimeout(() => { for (const ws of wss.clients) ws.terminate(); done(); }, 1000);
  setInterval(() => { if (wss.clients.size === 0) { clearTimeout(force); done(); } }, 20);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
