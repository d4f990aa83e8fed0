// The declarations of "tether-ws/slim" (copied by scripts/build-pkg.sh to pkg/slim.d.ts and,
// with "./index.js" made "./index.cjs", to pkg/slim.d.cts): the same class and types as
// "tether-ws", with the wasm as a separate file that `init()` loads.

import type { InitOutput } from "./index.js";

export { TetherSocket, CloseEvent, ErrorEvent } from "./index.js";
export type {
  DropEvent,
  HeartbeatOptions,
  InitOutput,
  Options,
  Provider,
  ReconnectingEvent,
  RequeueEvent,
  StateChangeEvent,
  TetherBinaryType,
  TetherData,
  TetherListener,
  TetherListenerOptions,
  TetherSocketEventMap,
  TetherSocketListenerThis,
  TetherSocketOptions,
  TetherState,
  WebSocketConstructor,
  WebSocketLike,
} from "./index.js";

/** Where `init()` can take the wasm from: a URL (or string), a Response, its bytes or a compiled WebAssembly.Module. */
export type InitInput = RequestInfo | URL | Response | BufferSource | WebAssembly.Module;

/**
 * Loads the wasm, compiling it as it streams in; must have finished before the first
 * `new TetherSocket(...)`. Calling it again is harmless.
 * @param input the wasm (default: tether_ws_bg.wasm next to the module; required in CommonJS, e.g. `fs.readFileSync(require.resolve("tether-ws/tether_ws_bg.wasm"))`).
 * @returns the wasm exports.
 */
export declare function init(input?: InitInput | Promise<InitInput>): Promise<InitOutput>;
export default init;

/** As `init()`, synchronously, from the wasm's bytes or a compiled WebAssembly.Module. */
export declare function initSync(moduleOrBytes: BufferSource | WebAssembly.Module): InitOutput;
