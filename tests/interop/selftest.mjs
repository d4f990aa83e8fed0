// Self-test of tests/interop/server.mjs: a raw `ws` client that follows PROTOCOL.md, run
// against two instances of the server. Exits 0 when every scenario passes.
//
//   node tests/interop/selftest.mjs [path/to/server.mjs]

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import assert from 'node:assert/strict';
import WebSocket from 'ws';

const here = path.dirname(fileURLToPath(import.meta.url));
const serverPath = process.argv[2] ?? path.join(here, 'server.mjs');
const HEX128 = /^[0-9a-f]{32}$/;
const T0 = Date.now();
const deadline = setTimeout(() => { console.error('FAIL: self-test over 10 s'); process.exit(1); }, 10000);

function startServer(args) {
  const child = spawn(process.execPath, [serverPath, '--listen', '127.0.0.1:0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderrText = '';
  child.stderr.on('data', (d) => { child.stderrText += d; });
  child.exited = new Promise((r) => child.on('exit', (code, signal) => r({ code, signal })));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) { child.port = Number(m[1]); resolve(child); }
    });
    child.on('exit', () => reject(new Error(`server exited early: ${child.stderrText}`)));
  });
}

class Client {
  constructor(ws) {
    this.ws = ws;
    this.frames = [];
    this.waiter = null;
    this.closeCode = null;
    ws.on('message', (data, binary) => {
      this.frames.push({ data, binary, text: binary ? null : data.toString('utf8') });
      this.wake();
    });
    this.closed = new Promise((r) => ws.on('close', (code) => { this.closeCode = code; this.wake(); r(code); }));
    ws.on('error', () => {});
  }
  wake() { if (this.waiter) { const w = this.waiter; this.waiter = null; w(); } }
  async next(ms = 1500) {
    const until = Date.now() + ms;
    while (!this.frames.length) {
      if (this.closeCode !== null) throw new Error(`closed ${this.closeCode} while waiting for a frame`);
      const left = until - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a frame');
      await new Promise((r) => {
        const t = setTimeout(r, left);
        this.waiter = () => { clearTimeout(t); r(); };
      });
    }
    return this.frames.shift();
  }
  async nothingFor(ms) {
    await sleep(ms);
    assert.equal(this.frames.length, 0, `unexpected frame ${this.frames[0]?.text}`);
  }
  send(data, binary = false) { this.ws.send(data, { binary }); }
  async hello(sid = null, tok = null, rx = 0) {
    this.send(JSON.stringify({ t: 'hello', v: 1, sid, tok, rx }));
    const f = await this.next();
    const w = JSON.parse(f.text);
    assert.equal(w.t, 'welcome');
    return w;
  }
  async expectData(seq, ack, payload, binary = false) {
    const f = await this.next();
    const want = Buffer.concat([Buffer.from(`D${seq},${ack};`), Buffer.from(payload)]);
    assert.equal(f.binary, binary, `frame kind for D${seq}`);
    assert.deepEqual(f.data, want, `got ${f.data.toString()} want ${want.toString()}`);
  }
  async closeCodeIs(code) { assert.equal(await withTimeout(this.closed, 1500), code); }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function withTimeout(p, ms) {
  let t;
  const timeout = new Promise((_, reject) => { t = setTimeout(() => reject(new Error('timeout')), ms); });
  return Promise.race([p, timeout]).finally(() => clearTimeout(t));
}

function connect(port, protocols = ['tether.v1']) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, protocols);
    const c = new Client(ws);
    ws.once('open', () => resolve(c));
    ws.once('error', reject);
  });
}

let passed = 0;
async function scenario(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    passed++;
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    console.log(`FAIL ${name}: ${e && e.stack}`);
    process.exitCode = 1;
  }
}

const A = await startServer(['--protocol', 'chat', '--ttl-ms', '500']);
const B = await startServer(['--feed-ms', '20']);
const C = await startServer(['--window', '4']);
const bin = Buffer.from([0, 1, 2, 0xff, 0x44]);
const uni = 'fö☃ 🙂';

await scenario('negotiation: tether.v1, tether.v1+chat; no tether token offered: refused (400)', async () => {
  const c1 = await connect(A.port, ['tether.v1']);
  assert.equal(c1.ws.protocol, 'tether.v1');
  const c2 = await connect(A.port, ['tether.v1+chat', 'chat']);
  assert.equal(c2.ws.protocol, 'tether.v1+chat');
  const c3 = await connect(A.port, ['tether.v1+other', 'chat']);
  assert.equal(c3.ws.protocol, 'chat', 'a tether token was offered: the app protocol is selected');
  for (const offer of [['chat'], []]) {
    await assert.rejects(connect(A.port, offer), /400/, `offering ${JSON.stringify(offer)}`);
  }
  for (const c of [c1, c2, c3]) c.ws.close(1000);
});

let sid, tok1, tok2, tok3, live;
await scenario('welcome for a new session', async () => {
  live = await connect(A.port);
  const w = await live.hello();
  assert.match(w.sid, HEX128);
  assert.match(w.tok, HEX128);
  assert.equal(w.resumed, false);
  assert.equal(w.reason, 'new');
  assert.equal(w.rx, 0);
  assert.equal(w.ttl, 500);
  assert.equal(w.window, 256);
  assert.equal(w.windowBytes, 1048576);
  ({ sid, tok: tok1 } = w);
});

await scenario('echo: once, in order, text as text and binary as binary; duplicate acked at once', async () => {
  live.send('D1,0;one');
  live.send('D2,0;two');
  live.send(Buffer.concat([Buffer.from('D3,0;'), bin]), true);
  live.send(`D4,0;${uni}`);
  await live.expectData(1, 1, 'one');
  await live.expectData(2, 2, 'two');
  await live.expectData(3, 3, bin, true);
  await live.expectData(4, 4, uni);
  await live.nothingFor(350); // every delivery was acked by the echo itself
  live.send(`D4,0;${uni}`); // a duplicate: discarded, acked at once
  assert.equal((await live.next(200)).text, 'A4');
  await live.nothingFor(100);
});

await scenario('cut the TCP connection, resume: replay both ways', async () => {
  live.ws.terminate(); // the client had delivered server seqs 1..4, pretends only 1..2;
  // it "sent" 5 and 6, lost with the connection.
  live = await connect(A.port);
  const w = await live.hello(sid, tok1, 2);
  assert.equal(w.resumed, true);
  assert.equal(w.sid, sid);
  assert.equal(w.reason, undefined);
  assert.notEqual(w.tok, tok1, 'token rotated');
  assert.match(w.tok, HEX128);
  assert.equal(w.rx, 4);
  tok2 = w.tok;
  await live.expectData(3, 4, bin, true); // server replays what rx=2 did not cover
  await live.expectData(4, 4, uni);
  live.send('D5,4;five'); // client replays what welcome.rx=4 did not cover
  live.send('D6,4;six');
  await live.expectData(5, 5, 'five');
  await live.expectData(6, 6, 'six');
});

await scenario('take-over closes the old socket with 4001; a stale token is "auth"', async () => {
  const old = live;
  live = await connect(A.port);
  const w = await live.hello(sid, tok2, 6);
  assert.equal(w.resumed, true);
  tok3 = w.tok;
  await old.closeCodeIs(4001);
  const forger = await connect(A.port);
  const f = await forger.hello(sid, tok1, 6);
  assert.equal(f.resumed, false);
  assert.equal(f.reason, 'auth');
  assert.notEqual(f.sid, sid);
  forger.ws.close(1000);
  live.send('D7,6;seven'); // the session itself is intact
  await live.expectData(7, 7, 'seven');
});

await scenario('bye, then a resume is "unknown"', async () => {
  live.send('{"t":"bye"}');
  live.ws.close(1000);
  await live.closed;
  const c = await connect(A.port);
  const w = await c.hello(sid, tok3, 7);
  assert.equal(w.resumed, false);
  assert.equal(w.reason, 'unknown');
  c.ws.close(1000);
});

await scenario('protocol errors close with 4002', async () => {
  const cases = [
    [[], 'garbage'],
    [[], 'D1,0;data before hello'],
    [[], '{"t":"hello","v":1,"sid":null,"sid":null,"tok":null,"rx":0}'],
    [[], '{"t":"hello","v":1,"sid":null,"tok":null,"rx":01}'],
    [[], '{"t":"hello","v":1,"sid":null,"tok":null}'],
    [[], '{"t":"hello","v":1,"sid":null,"tok":null,"rx":1e0}'],
    [['hello'], 'D2,0;a gap'],
    [['hello'], 'A9'],
    [['hello'], 'D1,00;leading zero'],
    [['hello'], `D1,0${'0'.repeat(40)};header over 35 bytes`],
    [['hello'], ''],
    [['hello'], '{"t":"hello","v":1,"sid":null,"tok":null,"rx":0}'],
  ];
  await Promise.all(cases.map(async ([pre, frame]) => {
    const c = await connect(A.port);
    if (pre.length) await c.hello();
    c.send(frame);
    try { await c.closeCodeIs(4002); } catch (e) { throw new Error(`${JSON.stringify(frame)}: ${e.message}`); }
  }));
  const c = await connect(A.port); // a binary control frame
  c.send(Buffer.from('{"t":"hello","v":1,"sid":null,"tok":null,"rx":0}'), true);
  await c.closeCodeIs(4002);
});

await scenario('TTL: a session resumed after its TTL is "expired"', async () => {
  const c = await connect(A.port);
  const w = await c.hello();
  c.ws.terminate();
  await sleep(700);
  const c2 = await connect(A.port);
  const w2 = await c2.hello(w.sid, w.tok, 0);
  assert.equal(w2.resumed, false);
  assert.equal(w2.reason, 'expired');
  c2.ws.close(1000);
});

await scenario('a client that never acks: queue overflows, 4003, then "overflow"', async () => {
  const c = await connect(A.port);
  const w = await c.hello();
  for (let i = 1; i <= 1300; i++) c.send(`D${i},0;m${i}`); // window 256 + queue 1024 = 1280
  await c.closeCodeIs(4003);
  const echoes = c.frames.filter((f) => f.text.startsWith('D')).length;
  assert.equal(echoes, 256, 'the server kept to its window');
  const acks = c.frames.filter((f) => f.text.startsWith('A')).map((f) => f.text);
  assert.deepEqual(acks, [384, 512, 640, 768, 896, 1024, 1152, 1280].map((n) => `A${n}`),
    'half-window acks once the echoes stopped carrying them');
  const c2 = await connect(A.port);
  const w2 = await c2.hello(w.sid, w.tok, 0);
  assert.equal(w2.resumed, false);
  assert.equal(w2.reason, 'overflow');
  c2.ws.close(1000);
});

await scenario('window 4: delayed ack after 250 ms, the queue drains on the client\'s ack', async () => {
  const c = await connect(C.port);
  const w = await c.hello();
  assert.equal(w.window, 4);
  for (let i = 1; i <= 4; i++) c.send(`D${i},0;m${i}`);
  for (let i = 1; i <= 4; i++) await c.expectData(i, i, `m${i}`);
  const t0 = Date.now();
  c.send('D5,0;m5'); // its echo is held: the server's window is full
  assert.equal((await c.next(600)).text, 'A5');
  const dt = Date.now() - t0;
  assert.ok(dt >= 240 && dt < 450, `delayed ack after ${dt} ms`);
  c.send('A3'); // frees 1..3: the held echo goes
  await c.expectData(5, 5, 'm5');
  await c.nothingFor(100);
  c.ws.close(1000);
  await c.closed;
  C.kill('SIGTERM');
  assert.equal((await withTimeout(C.exited, 2000)).code, 0);
});

await scenario('feed: {"n":k} delivered once across a cut, seq = k', async () => {
  let c = await connect(B.port);
  const w = await c.hello();
  const seen = [];
  const take = async (cl) => {
    const f = await cl.next();
    const m = /^D(\d+),0;(.*)$/.exec(f.text);
    assert.ok(m, `unexpected ${f.text}`);
    const n = JSON.parse(m[2]).n;
    assert.equal(Number(m[1]), n);
    return n;
  };
  while (seen.length < 3) seen.push(await take(c));
  c.ws.terminate(); // delivered 1..3 at least; say we only kept 1..2
  await sleep(100); // the feed queues while the session is detached
  c = await connect(B.port);
  const w2 = await c.hello(w.sid, w.tok, 2);
  assert.equal(w2.resumed, true);
  const after = [];
  while (after.length < 8) after.push(await take(c));
  assert.deepEqual(after, [3, 4, 5, 6, 7, 8, 9, 10]);
  live = c; // kept open for the shutdown test
});

await scenario('SIGTERM: sockets closed with 1001, clean exit', async () => {
  B.kill('SIGTERM');
  await live.closeCodeIs(1001);
  const { code } = await withTimeout(B.exited, 2000);
  assert.equal(code, 0);
  A.kill('SIGINT');
  assert.equal((await withTimeout(A.exited, 2000)).code, 0);
});

clearTimeout(deadline);
assert.ok(!/exception/.test(A.stderrText + B.stderrText + C.stderrText), 'a handler threw');
console.log(`${passed} scenarios passed in ${Date.now() - T0} ms${process.exitCode ? ', SOME FAILED' : ''}`);
if (process.exitCode) console.log(`--- server A stderr ---\n${A.stderrText}\n--- server B stderr ---\n${B.stderrText}`);
process.exit(process.exitCode ?? 0);
