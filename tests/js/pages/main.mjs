// Loads the npm package built by `bash scripts/build-pkg.sh` (wasm-bindgen --target web) and
// exposes it to the tests:
//   window.TetherSocket  the class        window.tether  the whole module
//   window.wasm          init()'s result (the wasm exports; .memory is the wasm memory)
//   window.ready = true  once loaded;    window.loadError = "..." if loading failed
// Equivalent to: import init, { TetherSocket } from "/pkg/tether_ws.js"; (a dynamic
// import so that a missing or broken pkg/ is reported instead of failing silently).
try {
  const mod = await import("/pkg/tether_ws.js");
  const wasm = await mod.default();
  window.tether = mod;
  window.TetherSocket = mod.TetherSocket;
  window.wasm = wasm;
  if (typeof mod.TetherSocket !== "function") {
    throw new Error("/pkg/tether_ws.js does not export a TetherSocket class");
  }
  window.ready = true;
} catch (e) {
  window.loadError = String((e && e.stack) || e);
  console.error("tether-ws test page: loading /pkg/tether_ws.js failed:", window.loadError);
}
