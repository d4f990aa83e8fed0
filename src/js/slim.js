// The npm package's "tether-ws/slim" entry: the class with the wasm as a separate file
// (tether_ws_bg.wasm) for streaming compilation; `await init()` before the first socket.
// Bundled by scripts/build-pkg.sh into pkg/slim.js (ESM) and pkg/slim.cjs (CommonJS).

export { TetherSocket } from "./tether_socket.js";
export { CloseEvent, ErrorEvent } from "./events.js";
export { init, init as default, initSync } from "tether-ws-wasm";
