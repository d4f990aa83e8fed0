// The slim entry: the wasm is a separate file, fetched by init() from
// new URL("tether_ws_bg.wasm", import.meta.url), which the bundler must emit.
import init, { TetherSocket } from "tether-ws/slim";
import { scenario } from "../scenario.mjs";

const params = new URLSearchParams(location.search);
init()
  .then(() => scenario(TetherSocket, { ws: params.get("ws"), key: params.get("key") }))
  .then((r) => { window.result = r; }, (e) => { window.failure = String((e && e.stack) || e); });
