// The npm package's entry, bundled with wasm-bindgen's glue into pkg/tether_ws.js by
// scripts/build-pkg.sh: the glue's init functions and the class.
export { default, initSync } from "tether-ws-glue";
export { TetherSocket } from "./tether_socket.js";
