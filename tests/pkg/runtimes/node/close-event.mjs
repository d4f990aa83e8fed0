// A server close code reaches `close` listeners in a runtime with a global WebSocket but
// no global CloseEvent (Node 22).
//   node22 close-event.mjs <ws-base-url> <key>
import { TetherSocket } from "tether-ws";

if (typeof CloseEvent !== "undefined") throw new Error("this runtime has a global CloseEvent: the check proves nothing");
const [ws, key] = process.argv.slice(2);
const socket = new TetherSocket(`${ws}/close?code=4001&reason=bye%20now&after=0&key=${key}`, [], {
  shouldReconnect: () => false,
});
const seen = [];
const done = new Promise((resolve) => {
  socket.onclose = (e) => seen.push({ via: "onclose", type: e.type, code: e.code, reason: e.reason });
  socket.addEventListener("close", (e) => {
    seen.push({ via: "addEventListener", type: e.type, code: e.code, reason: e.reason });
    resolve();
  });
});
const timer = setTimeout(() => { console.log(JSON.stringify({ timedOut: true, seen })); process.exit(1); }, 5000);
await done;
clearTimeout(timer);
socket.close();
console.log(JSON.stringify({ seen }));
