// A Node project: @types/node and no dom lib. The `WebSocket` option takes the `ws` package's
// class and Node 22's global (undici's); other values are errors.
import WS from "ws";
import type { WebSocket as UndiciWebSocket } from "undici-types";
import TetherSocket, { init, type TetherSocketOptions, type WebSocketConstructor } from "tether-ws";

declare const Undici: typeof UndiciWebSocket;
const classes: WebSocketConstructor[] = [WS, Undici];
const options: TetherSocketOptions = { WebSocket: WS, binaryType: "nodebuffer", connectionTimeout: 2000 };
const ws = new TetherSocket("ws://127.0.0.1:8791/echo", [], options);
ws.addEventListener("message", function (event) {
  console.log(this.url, event.data);
});
ws.addEventListener("error", (event) => console.log(event.message === "TIMEOUT", event.error), { once: true });
ws.addEventListener("close", (event) => console.log(event.code, event.reason), { signal: AbortSignal.timeout(1000) });
ws.send(Buffer.from("binary"));
ws.close();
console.log(classes, init().then((exports) => exports.memory.buffer.byteLength));

// @ts-expect-error: not a class
new TetherSocket("ws://127.0.0.1:8791/echo", [], { WebSocket: {} });
// @ts-expect-error: a class without CLOSING
new TetherSocket("ws://127.0.0.1:8791/echo", [], { WebSocket: class { constructor(readonly url: string) {} } });
// @ts-expect-error: not an overflow policy
new TetherSocket("ws://127.0.0.1:8791/echo", [], { WebSocket: WS, overflow: "drop" });
ws.addEventListener("statechange", (event) => {
  // @ts-expect-error: it is `to`
  console.log(event.state);
});
