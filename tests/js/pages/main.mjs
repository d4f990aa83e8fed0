// Loads the npm package built by `bash scripts/build-pkg.sh` (its default entry, the wasm
// inside) and exposes it to the tests:
//   window.TetherSocket  the class        window.tether  the whole module
//   window.wasm          init()'s result (the wasm exports; .memory is the wasm memory)
//   window.ready = true  once loaded;    window.loadError = "..." if loading failed
// Equivalent to: import { TetherSocket, init } from "/pkg/index.js"; (a dynamic import so
// that a missing or broken pkg/ is reported instead of failing silently). init() is not
// needed by the package; here it compiles the wasm up front to hand the tests its memory.
// With ?wasmCalls in the page URL, every call from JS into the wasm (the exports, glue
// helpers included) adds one to window.wasmCalls (tests/js/hotpath.test.mjs).
if (new URLSearchParams(location.search).has("wasmCalls")) {
  const Instance = WebAssembly.Instance;
  window.wasmCalls = 0;
  WebAssembly.Instance = function (module, imports) {
    const exports = {};
    for (const [name, value] of Object.entries(new Instance(module, imports).exports)) {
      exports[name] = typeof value !== "function" ? value : (...args) => (window.wasmCalls++, value(...args));
    }
    return { exports };
  };
}
try {
  const mod = await import("/pkg/index.js");
  const wasm = await mod.init();
  window.tether = mod;
  window.TetherSocket = mod.TetherSocket;
  window.wasm = wasm;
  if (typeof mod.TetherSocket !== "function") {
    throw new Error("/pkg/index.js does not export a TetherSocket class");
  }
  window.ready = true;
} catch (e) {
  window.loadError = String((e && e.stack) || e);
  console.error("tether-ws test page: loading /pkg/index.js failed:", window.loadError);
}
