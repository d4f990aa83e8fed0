// Fast Refresh (HMR) of a component using the hook: an edit re-renders it and re-runs its
// effects with its refs kept (the socket must stay, with its one connection); an edit that
// changes its hooks remounts it (the old socket closes, a new one connects).
import { problems } from "./dom.mjs";
import Refresh from "./refresh-runtime.mjs";
import { test } from "node:test";
import assert from "node:assert/strict";
import * as React from "react";
import { act, cleanup, render, screen } from "@testing-library/react";
import { useTetherSocket } from "tether-ws/react";
import { calls } from "./calls.mjs";
import { echoUrl, sleep, stats, uniqueKey, until } from "./util.mjs";

const h = React.createElement;

test("Fast Refresh keeps the socket and its connection; a remount replaces it", async () => {
  const key = uniqueKey("refresh");
  const seen = [], got = [];
  // "Edits" of one module: each version of the component is registered as the same family.
  const version = (label) => {
    function Chat() {
      const ws = useTetherSocket(echoUrl(key), undefined, { minReconnectionDelay: 50, onMessage: (e) => got.push(`${label}:${e.data}`) });
      seen.push(ws);
      return h("p", null, `${label} ${ws.state}`);
    }
    Refresh.register(Chat, "chat.jsx Chat");
    return Chat;
  };
  const V1 = version("v1");
  render(h(React.StrictMode, null, h(V1)));
  const ws = seen.at(-1);
  await until("open", () => ws.readyState === ws.OPEN);

  const before = seen.length;
  version("v2");
  act(() => Refresh.performReactRefresh());
  assert.ok(screen.getByText(/^v2 /), "the edit is on screen");
  assert.ok(seen.length > before && seen.slice(before).every((s) => s === ws), "the same socket after the refresh");
  await sleep(250);
  assert.equal(ws.readyState, ws.OPEN);
  ws.send("after refresh");
  await until("echo to the new handler", () => got.includes("v2:after refresh"));
  let s = await stats(key);
  assert.equal(s.connections, 1, "no reconnect on refresh");
  assert.deepEqual(calls, ["reconnect"], "the refresh's cleanup and effect cancel out");

  // A changed hook signature: Fast Refresh remounts the component.
  const V3 = version("v3");
  Refresh.setSignature(V3, "another hook list", true);
  act(() => Refresh.performReactRefresh());
  const fresh = seen.at(-1);
  assert.notEqual(fresh, ws, "a remount makes a new socket");
  await until("the new one opens, the old one closes", () => fresh.readyState === fresh.OPEN && ws.readyState === ws.CLOSED);
  s = await stats(key);
  assert.equal(s.connections, 2);
  assert.deepEqual(calls, ["reconnect", "close", "reconnect"]);

  cleanup();
  await until("closed on the server", async () => (await stats(key)).open === 0);
  await sleep(50);
  assert.deepEqual(problems, []);
});
