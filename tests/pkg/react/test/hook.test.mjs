// useTetherSocket in jsdom with @testing-library/react, against the real test server: every
// connection the hook makes is counted there (/stats?key=K).
import { problems } from "./dom.mjs";
import { afterEach, beforeEach, test } from "node:test";
import assert from "node:assert/strict";
import * as React from "react";
import { act, cleanup, render } from "@testing-library/react";
import { TetherSocket } from "tether-ws";
import { useTetherSocket } from "tether-ws/react";
import { calls } from "./calls.mjs";
import { echoUrl, sleep, stats, uniqueKey, until } from "./util.mjs";

const h = React.createElement;
const { StrictMode, useEffect } = React;
// Time for a stray second connection, or a late close, to reach the server.
const SETTLE_MS = 250;

beforeEach(() => {
  calls.length = 0;
  problems.length = 0;
});

afterEach(async () => {
  cleanup();
  await sleep(50);
  assert.deepEqual(problems, [], "nothing may be logged or thrown");
});

/** A component using the hook; `seen` gets the socket of every render and every effect. */
function Socket({ url, protocols, options, seen }) {
  const ws = useTetherSocket(url, protocols, options);
  seen.push(ws);
  useEffect(() => {
    seen.push(ws);
  });
  return h("output", null, ws.state);
}

const distinct = (seen) => [...new Set(seen)];
const fast = { minReconnectionDelay: 50, maxReconnectionDelay: 200 };

async function echo(ws, got, text) {
  const before = got.length;
  ws.send(text);
  await until(`the echo of ${text}`, () => got.length > before);
  return got.slice(before);
}

test("StrictMode: one instance, one connection, echo, closed on unmount", async () => {
  const key = uniqueKey("strict");
  const seen = [], got = [];
  const options = { ...fast, onMessage: (e) => got.push(e.data) };
  const view = render(h(StrictMode, null, h(Socket, { url: echoUrl(key), options, seen })));
  const [ws, ...more] = distinct(seen);
  assert.equal(more.length, 0, "one socket across StrictMode's double render and double effect");
  assert.ok(ws instanceof TetherSocket);
  await until("open", () => ws.readyState === ws.OPEN);
  assert.deepEqual(await echo(ws, got, "hello hook"), ["hello hook"]);
  await sleep(SETTLE_MS);
  assert.equal((await stats(key)).connections, 1, "exactly one server connection");
  assert.deepEqual(calls, ["reconnect"], "StrictMode's mount, cleanup, mount is one reconnect()");

  view.unmount();
  await until("closed, here and on the server", async () => ws.readyState === ws.CLOSED && (await stats(key)).open === 0);
  assert.deepEqual(calls, ["reconnect", "close"]);
  // Not freed: code that still holds the socket can use it.
  assert.equal(ws.state, "closed");
  await sleep(SETTLE_MS);
  const s = await stats(key);
  assert.equal(s.connections, 1, "no reconnect after unmount");
});

test("handlers change without a reconnect or a new socket", async () => {
  const key = uniqueKey("handlers");
  const seen = [], a = [], b = [], closes = [];
  const url = echoUrl(key);
  // A new options object and new functions every render, as inline options are.
  const props = (tag, into) => ({
    url,
    seen,
    options: { ...fast, onMessage: (e) => into.push(`${tag}:${e.data}`), onClose: () => closes.push(tag), shouldReconnect: () => true },
  });
  const view = render(h(Socket, props("a", a)));
  const [ws] = distinct(seen);
  await until("open", () => ws.readyState === ws.OPEN);
  assert.deepEqual(await echo(ws, a, "one"), ["a:one"]);

  view.rerender(h(Socket, props("b", b)));
  view.rerender(h(Socket, props("b", b)));
  assert.deepEqual(await echo(ws, b, "two"), ["b:two"]);
  assert.deepEqual(a, ["a:one"], "the old handler is not called any more");
  assert.equal(distinct(seen).length, 1, "the same socket");
  await sleep(SETTLE_MS);
  assert.equal((await stats(key)).connections, 1, "no reconnect");
  assert.deepEqual(calls, ["reconnect"]);
  // The latest onClose hears a close the hook did not cause.
  ws.reconnect();
  await until("onClose", () => closes.length === 1);
  assert.deepEqual(closes, ["b"]);
});

test("url and option values: a change by value replaces the socket, a new object does not", async () => {
  const key = uniqueKey("url");
  const seen = [], got = [];
  const onMessage = (e) => got.push(e.data);
  const el = (url, options) => h(Socket, { url, seen, options: { ...options, onMessage } });
  const view = render(el(echoUrl(key), { ...fast }));
  const [first] = distinct(seen);
  await until("first open", () => first.readyState === first.OPEN);

  view.rerender(el(echoUrl(key), { ...fast })); // equal values, new object
  view.rerender(el(echoUrl(key), { ...fast, heartbeat: undefined }));
  assert.equal(distinct(seen).length, 1, "equal options keep the socket");

  view.rerender(el(echoUrl(key, "&v=2"), { ...fast }));
  const [, second, ...more] = distinct(seen);
  assert.ok(second && more.length === 0, "a new url gives one new socket");
  await until("second open, first closed", () => second.readyState === second.OPEN && first.readyState === first.CLOSED);
  assert.ok(second.url.endsWith("&v=2"));
  assert.deepEqual(await echo(second, got, "after url change"), ["after url change"]);
  await until("server: 2 connections, 1 open", async () => {
    const s = await stats(key);
    return s.connections === 2 && s.open === 1;
  });

  view.rerender(el(echoUrl(key, "&v=2"), { ...fast, minReconnectionDelay: 60 }));
  const third = distinct(seen)[2];
  assert.ok(third, "a changed option value gives a new socket");
  await until("third open", () => third.readyState === third.OPEN);
  await sleep(SETTLE_MS);
  const s = await stats(key);
  assert.equal(s.connections, 3);
  assert.equal(s.open, 1);
});

test("enabled: false does not open, false closes, true reopens the same socket", async () => {
  const key = uniqueKey("enabled");
  const seen = [], closes = [];
  const el = (enabled) => h(Socket, { url: echoUrl(key), seen, options: { ...fast, enabled, onClose: () => closes.push(1) } });
  const view = render(el(false));
  const [ws] = distinct(seen);
  await sleep(SETTLE_MS);
  assert.equal((await stats(key)).connections, 0, "enabled: false opens nothing");
  assert.equal(ws.readyState, ws.CLOSED);

  view.rerender(el(true));
  await until("open", () => ws.readyState === ws.OPEN);
  view.rerender(el(false));
  await until("closed", async () => ws.readyState === ws.CLOSED && (await stats(key)).open === 0);
  assert.equal(closes.length, 1, "onClose still called while disabled");
  view.rerender(el(true));
  await until("reopened", () => ws.readyState === ws.OPEN);
  assert.equal(distinct(seen).length, 1, "the same socket throughout");
  await sleep(SETTLE_MS);
  const s = await stats(key);
  assert.equal(s.connections, 2);
  assert.equal(s.open, 1);
});

test("<Activity> hidden closes, visible reopens the same socket", { skip: !React.Activity && "no React.Activity" }, async () => {
  const key = uniqueKey("activity");
  const seen = [];
  const el = (mode) => h(React.Activity, { mode }, h(Socket, { url: echoUrl(key), seen, options: fast }));
  const view = render(h(StrictMode, null, el("visible")));
  const [ws] = distinct(seen);
  await until("open", () => ws.readyState === ws.OPEN);
  act(() => view.rerender(h(StrictMode, null, el("hidden"))));
  await until("closed while hidden", async () => (await stats(key)).open === 0);
  act(() => view.rerender(h(StrictMode, null, el("visible"))));
  await until("open again", () => ws.readyState === ws.OPEN);
  assert.equal(distinct(seen).length, 1, "the same socket, never freed");
  await sleep(SETTLE_MS);
  assert.equal((await stats(key)).connections, 2);
});

test("unmount while connecting, and a socket the app freed itself: nothing thrown or logged", async () => {
  const key = uniqueKey("early");
  const seen = [];
  const view = render(h(StrictMode, null, h(Socket, { url: echoUrl(key), seen, options: { ...fast, onOpen() {} } })));
  const ws = seen.at(-1);
  await Promise.resolve(); // the hook's reconnect() has run: the socket is connecting
  assert.equal(ws.readyState, ws.CONNECTING);
  view.unmount();
  await until("closed", () => ws.readyState === ws.CLOSED);
  await sleep(SETTLE_MS);
  assert.equal((await stats(key)).open, 0);

  const freed = [];
  const second = render(h(Socket, { url: echoUrl(key), seen: freed, options: { ...fast, onOpen() {} } }));
  await until("open", () => freed.at(-1).readyState === freed.at(-1).OPEN);
  freed.at(-1).free();
  second.unmount();
  await until("closed on the server", async () => (await stats(key)).open === 0);
});
