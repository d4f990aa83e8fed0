// Node 20, CommonJS (`require`), with the `ws` package as the WebSocket option.
//   node cjs-ws.cjs <ws-base-url> <key>
const { TetherSocket } = require("tether-ws");
const WS = require("ws");

// Node 20.19+ can also require() an ES module: make sure the CJS entry is what loaded.
const entry = require.resolve("tether-ws");
if (!entry.endsWith(".cjs")) throw new Error(`require("tether-ws") resolved to ${entry}, not a .cjs file`);

const [ws, key] = process.argv.slice(2);
// scenario.mjs is the one shared source; CJS code can still import() it.
import("./scenario.mjs")
  .then(({ scenario }) => scenario(TetherSocket, { ws, key, WebSocket: WS }))
  .then((report) => console.log(JSON.stringify(report)));
