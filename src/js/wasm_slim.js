// The `tether-ws/slim` entry's wasm: the separate file tether_ws_bg.wasm, which `init()`
// fetches and compiles as it streams in (or takes as a URL, Response, bytes or
// WebAssembly.Module). It must have finished before the first TetherSocket is made.

import initGlue, { Core, initSync as initGlueSync } from "tether-ws-glue";
import { fail } from "./options.js";

export { Core };

let exports;

/**
 * Loads the wasm: from `input` (a URL or string, a Response or a Promise of one, bytes or a
 * WebAssembly.Module), by default tether_ws_bg.wasm next to this module. Resolves to the
 * wasm exports; calling it again is harmless.
 */
export async function init(input) {
  if (exports) return exports;
  if (input === undefined) {
    // (In the CommonJS build there is no import.meta: the file must be named.)
    if (!import.meta.url) throw fail("tether-ws/slim: in CommonJS, pass the wasm to init(), e.g. init(fs.readFileSync(require.resolve(\"tether-ws/tether_ws_bg.wasm\")))");
    // Written out in full: bundlers emit the file only for this exact pattern.
    input = new URL("tether_ws_bg.wasm", import.meta.url);
  }
  exports = await initGlue({ module_or_path: input });
  return exports;
}

/** Like `init`, synchronously, from bytes or a WebAssembly.Module. */
export function initSync(input) {
  if (!exports) exports = initGlueSync({ module: input });
  return exports;
}

/** The wasm exports; throws if `init()` has not finished. */
export function load() {
  if (!exports) throw fail("tether-ws/slim: call `await init()` before `new TetherSocket(...)` (or use the default entry, \"tether-ws\", which needs no init)");
  return exports;
}
