// The runtime's own global WebSocket, no option: Node 22, Deno, Bun.
//   <runtime> esm-global.mjs <ws-base-url> <key>
import TetherSocket from "tether-ws";
import { scenario } from "./scenario.mjs";

const [ws, key] = globalThis.Deno ? Deno.args : process.argv.slice(2);
console.log(JSON.stringify(await scenario(TetherSocket, { ws, key })));
