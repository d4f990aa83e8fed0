// Jest 30 with its default config (CommonJS, node environment, no transform set up): the
// scenario with the `ws` package. scenario.cjs is the CommonJS twin of scenario.mjs, written
// by tests/pkg/runtimes.test.mjs, which also sets the URL and the stats key.
const { TetherSocket } = require("tether-ws");
const WS = require("ws");
const { scenario } = require("./scenario.cjs");

test("tether-ws scenario", async () => {
  const report = await scenario(TetherSocket, { ws: process.env.TETHER_WS, key: process.env.TETHER_KEY, WebSocket: WS });
  expect(report.steps).toEqual(["open", "text", "binary", "reconnect", "close-code"]);
}, 30000);
