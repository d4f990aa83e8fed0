// Node 20 has no global WebSocket: without the option, or with one that is not a
// constructor, the constructor must throw an Error naming the `WebSocket` option.
//   node missing-websocket.mjs <ws-base-url>
import { TetherSocket } from "tether-ws";

if (typeof WebSocket !== "undefined") throw new Error("this runtime has a global WebSocket: the check proves nothing");
const [ws] = process.argv.slice(2);
const cases = { "no option": undefined, "WebSocket: {}": { WebSocket: {} }, "WebSocket: 42": { WebSocket: 42 } };
const results = {};
for (const [name, options] of Object.entries(cases)) {
  try {
    const socket = options ? new TetherSocket(`${ws}/echo`, [], options) : new TetherSocket(`${ws}/echo`);
    socket.close();
    results[name] = { threw: false };
  } catch (e) {
    results[name] = { threw: true, isError: e instanceof Error, message: String(e?.message ?? e) };
  }
}
console.log(JSON.stringify(results));
