// The default entry's wasm: its bytes are inside this module (an escaped string, generated
// by scripts/build-pkg.sh as "tether-ws-wasm-bytes"), compiled synchronously the first time
// a TetherSocket is made, never at import. No .wasm file to serve, no init() to await, and
// every bundler, runtime and test runner loads it as plain JS.

import { Core, initSync } from "tether-ws-glue";
import bytes from "tether-ws-wasm-bytes";

export { Core };

let exports;

/** Instantiates the wasm once; returns its exports. */
export function load() {
  if (!exports) {
    const code = new Uint8Array(bytes.length);
    for (let i = 0; i < bytes.length; i++) code[i] = bytes.charCodeAt(i);
    exports = initSync({ module: new WebAssembly.Module(code) });
  }
  return exports;
}
