// Importing the package must touch nothing: every global a browser library might read or
// call at import is replaced by a getter that records the access, then the entry is loaded.
//   node side-effects.mjs esm|cjs|slim|continuity
// Prints the entry's exports and the accesses made while loading it (none expected).
import { createRequire } from "node:module";

const touched = [];
let watching = false;

function watch(owner, name, label) {
  const desc = Object.getOwnPropertyDescriptor(owner, name);
  let value = desc && ("value" in desc ? desc.value : desc.get?.call(owner));
  Object.defineProperty(owner, name, {
    configurable: true,
    enumerable: desc?.enumerable ?? false,
    get() {
      if (watching) touched.push(label);
      return value;
    },
    set(v) {
      if (watching) touched.push(`${label} (set)`);
      value = v;
    },
  });
}

for (const name of [
  "WebSocket", "window", "self", "document", "navigator", "location", "setTimeout", "setInterval",
  "queueMicrotask", "fetch", "TextDecoder", "TextEncoder", "addEventListener",
]) watch(globalThis, name, name);
watch(Math, "random", "Math.random");
watch(performance, "now", "performance.now");
for (const name of ["Module", "instantiate", "compile", "instantiateStreaming"]) {
  watch(WebAssembly, name, `WebAssembly.${name}`);
}

const mode = process.argv[2];
const require = createRequire(import.meta.url);
const specifier = { esm: "tether-ws", cjs: "tether-ws", slim: "tether-ws/slim", continuity: "tether-ws/continuity" }[mode];
const file = mode === "cjs" ? require.resolve(specifier) : specifier && import.meta.resolve(specifier);
if (!file) throw new Error(`unknown mode ${mode}`);
watching = true;
const entry = mode === "cjs" ? require(specifier) : await import(specifier);
watching = false;
console.log(JSON.stringify({ file: file.split("/").pop(), exports: Object.keys(entry).sort(), touched }));
