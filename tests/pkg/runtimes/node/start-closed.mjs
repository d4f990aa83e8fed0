// Server-side rendering: `new TetherSocket(url, [], { startClosed: true })` must construct
// no WebSocket and arm no timer; this process must then exit at once by itself.
//   node start-closed.mjs <ws-base-url> option|global
// `option` passes a counting class as the WebSocket option; `global` (Node 22) replaces the
// global WebSocket with it.
import { TetherSocket } from "tether-ws";

const [ws, mode] = process.argv.slice(2);
const counts = { WebSocket: 0, setTimeout: 0, setInterval: 0, setImmediate: 0, queueMicrotask: 0 };
class CountingWebSocket {
  static CONNECTING = 0; static OPEN = 1; static CLOSING = 2; static CLOSED = 3;
  readyState = 0;
  constructor() { counts.WebSocket += 1; }
  addEventListener() {}
  removeEventListener() {}
  send() {}
  close() { this.readyState = 3; }
}
for (const name of ["setTimeout", "setInterval", "setImmediate", "queueMicrotask"]) {
  const original = globalThis[name];
  globalThis[name] = function (...args) {
    counts[name] += 1;
    return original.apply(this, args);
  };
}

let options = { startClosed: true };
if (mode === "option") options.WebSocket = CountingWebSocket;
else if (mode === "global") globalThis.WebSocket = CountingWebSocket;
else throw new Error(`unknown mode ${mode}`);
const socket = new TetherSocket(`${ws}/echo`, [], options);
// Let anything the constructor deferred run before counting.
await new Promise((resolve) => process.nextTick(resolve));
console.log(JSON.stringify({ counts, readyState: socket.readyState }));
