// Server rendering (CommonJS: tether-ws/react's react.cjs) in plain Node, without any
// WebSocket: the hook renders, nothing connects and no timer is left armed.
const { test } = require("node:test");
const assert = require("node:assert/strict");

// Node 22 has a global WebSocket; a server render must not need one.
delete globalThis.WebSocket;

test("renderToString of a component using the hook", async () => {
  const { stats, uniqueKey, echoUrl, sleep } = await import("./util.mjs");
  const React = require("react");
  const { renderToString } = require("react-dom/server");
  const { useTetherSocket } = require("tether-ws/react");
  const { TetherSocket } = require("tether-ws");

  const key = uniqueKey("ssr");
  let socket;
  function Chat() {
    socket = useTetherSocket(echoUrl(key), ["chat"], { onMessage() {}, heartbeat: { intervalMs: 1000 } });
    return React.createElement("p", null, `${socket.state} ${socket.readyState}`);
  }
  const armed = [];
  const { setTimeout: realSetTimeout, setInterval: realSetInterval } = globalThis;
  globalThis.setTimeout = (...a) => (armed.push(new Error("setTimeout").stack), realSetTimeout(...a));
  globalThis.setInterval = (...a) => (armed.push(new Error("setInterval").stack), realSetInterval(...a));
  let html;
  try {
    html = renderToString(React.createElement(React.StrictMode, null, React.createElement(Chat)));
  } finally {
    globalThis.setTimeout = realSetTimeout;
    globalThis.setInterval = realSetInterval;
  }
  assert.equal(html, "<p>closed 3</p>");
  assert.ok(socket instanceof TetherSocket, "the CJS hook and the CJS entry share the class");
  assert.deepEqual(armed, [], "no timer armed during the render");
  assert.ok(!process.getActiveResourcesInfo().includes("Timeout"), "no timer left");
  await sleep(200);
  assert.equal((await stats(key)).connections, 0, "nothing connected");
});
