// A jsdom window as the global environment, the way jest-environment-jsdom and Vitest's
// jsdom environment provide one: the page's globals (document, WebSocket...) on globalThis.
// Imported first by the tests that render; every console error or warning and every error
// jsdom reports (an exception thrown in a listener, say) is collected in `problems`.
import { after } from "node:test";
import { JSDOM, VirtualConsole } from "jsdom";

export const problems = [];

const virtualConsole = new VirtualConsole();
virtualConsole.on("jsdomError", (e) => problems.push(`jsdom: ${e.stack || e.message}`));
for (const level of ["error", "warn"]) virtualConsole.on(level, (...a) => problems.push(`page console.${level}: ${a.join(" ")}`));

const dom = new JSDOM("<!doctype html><html><body></body></html>", {
  url: "http://127.0.0.1/",
  pretendToBeVisual: true,
  virtualConsole,
});
const { window } = dom;
// What global-jsdom does: the page's globals that Node lacks. (Node's own Event and
// EventTarget stay: jsdom's WebSocket is undici's, built on them.)
for (const key of Object.getOwnPropertyNames(window)) {
  if (!(key in globalThis)) globalThis[key] = window[key];
}
globalThis.window = globalThis.self = window;
// jsdom's WebSocket (a real one), also where Node has its own (22+), as a jsdom
// environment gives it: the one the tests count on the server.
globalThis.WebSocket = window.WebSocket;
// Tells React that render() and friends run inside act().
globalThis.IS_REACT_ACT_ENVIRONMENT = true;

for (const level of ["error", "warn"]) {
  const original = console[level];
  console[level] = (...a) => {
    problems.push(`console.${level}: ${a.map(String).join(" ")}`);
    original.apply(console, a);
  };
}
process.on("uncaughtException", (e) => problems.push(`uncaught: ${e.stack}`));
process.on("unhandledRejection", (e) => problems.push(`unhandled rejection: ${e?.stack ?? e}`));

// Nothing of the page may keep the test process alive.
after(() => window.close());
