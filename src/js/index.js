// The npm package's default entry, "tether-ws": the class, with the wasm inside (no init()
// needed). Bundled with wasm-bindgen's glue by scripts/build-pkg.sh into pkg/index.js (ESM)
// and pkg/index.cjs (CommonJS).

import { load } from "tether-ws-wasm";

export { TetherSocket, TetherSocket as default } from "./tether_socket.js";
export { CloseEvent, ErrorEvent } from "./events.js";

/**
 * Nothing to do since 0.2 (the wasm is compiled on the first construction); kept so that
 * code written for 0.1's `await init()` keeps working. Resolves to the wasm exports.
 */
export function init() {
  return Promise.resolve().then(load);
}

/** As `init`, synchronously. */
export function initSync() {
  return load();
}
