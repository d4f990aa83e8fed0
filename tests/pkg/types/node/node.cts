// The same project's CommonJS side: Node 20 with `ws`, as in reconnecting-websocket's README.
import WebSocket = require("ws");
import { TetherSocket } from "tether-ws";

const ws = new TetherSocket("ws://127.0.0.1:8791/echo", [], { WebSocket, maxRetries: 3 });
ws.onmessage = (event) => console.log(event.data);
ws.send("text");
ws.free();
// @ts-expect-error: maxRetries is a number
new TetherSocket("ws://127.0.0.1:8791/echo", [], { WebSocket, maxRetries: "3" });
