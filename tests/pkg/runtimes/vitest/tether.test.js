// Vitest (node environment, Node 20): the scenario with the `ws` package. The test server's
// URL and the stats key come from the environment (set by tests/pkg/runtimes.test.mjs).
import { expect, test } from "vitest";
import { TetherSocket } from "tether-ws";
import WS from "ws";
import { scenario } from "./scenario.mjs";

test("tether-ws scenario", async () => {
  const report = await scenario(TetherSocket, { ws: process.env.TETHER_WS, key: process.env.TETHER_KEY, WebSocket: WS });
  expect(report.steps).toEqual(["open", "text", "binary", "reconnect", "close-code"]);
}, 30000);
