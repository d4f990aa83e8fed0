// Node 20, ESM, with the `ws` package as the WebSocket option.
//   node esm-ws.mjs <ws-base-url> <key>
import TetherSocketDefault, { TetherSocket } from "tether-ws";
import WS from "ws";
import { scenario } from "./scenario.mjs";

if (TetherSocketDefault !== TetherSocket) throw new Error("the default export is not TetherSocket");
const [ws, key] = process.argv.slice(2);
console.log(JSON.stringify(await scenario(TetherSocket, { ws, key, WebSocket: WS })));
