// Node 20 with the `ws` package: close() while the socket is still connecting. ws reports
// "WebSocket was closed before the connection was established" as an `error` event; with
// no listener left on it, that is an uncaught exception that kills this process.
//   node ws-close-connecting.mjs <ws-base-url> <key>
import { TetherSocket } from "tether-ws";
import WS from "ws";

const [ws, key] = process.argv.slice(2);
const url = `${ws}/echo?key=${key}`;
const made = [];
const statesAtClose = [];
class Tracked extends WS {
  constructor(...args) {
    super(...args);
    made.push(this);
  }
}

// 1. close() right after the constructor.
new TetherSocket(url, [], { WebSocket: Tracked }).close();

// 2. close() once the ws object exists and is connecting (before any I/O: a microtask).
const second = new TetherSocket(url, [], {
  WebSocket: class extends Tracked {
    constructor(...args) {
      super(...args);
      queueMicrotask(() => {
        statesAtClose.push(this.readyState);
        second.close();
      });
    }
  },
});

// Give ws time to report its error (it does so on the next ticks).
setTimeout(() => {
  console.log(JSON.stringify({ made: made.length, statesAtClose, finalStates: made.map((w) => w.readyState) }));
}, 500);
