// Shared harness for the JS tests (node:test + playwright-core + Debian Chromium).
//
// Each test file calls `useBrowser()` once: Chromium is launched once per file (a new,
// empty profile, headless) and closed after it. `browserTest(name, fn)` gives every test
// a fresh page with the package loaded (tests/js/pages/index.html, served by the test
// server from the repo root), fails the test on any uncaught page error or wasm
// panic/"unreachable", and closes the page afterwards (which closes its sockets).
//
// Needs: the test server on 127.0.0.1:8790/8791/8792 and pkg/ built
// (both done by `bash scripts/test.sh`).

import { before, after, test } from "node:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
// The test server's ports (scripts/test.sh starts it on 8790/8791/8792). The TETHER_*_PORT
// variables only exist so that a second server can run beside another test run.
const port = (name, dflt) => Number(process.env[name] || dflt);
export const HTTP = `http://127.0.0.1:${port("TETHER_HTTP_PORT", 8790)}`;
export const WS = `ws://127.0.0.1:${port("TETHER_WS_PORT", 8791)}`;
/** A TCP port that accepts connections and never answers the WebSocket handshake. */
export const BLACKHOLE = `ws://127.0.0.1:${port("TETHER_BLACKHOLE_PORT", 8792)}/`;
export const PAGE_URL = `${HTTP}/tests/js/pages/index.html`;
export const CHROMIUM = process.env.TETHER_CHROMIUM || "/usr/bin/chromium";
export const CHROMIUM_FLAGS = [
  "--headless=new",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** Console messages that mean the wasm instance panicked or trapped. */
const FATAL_CONSOLE = /unreachable|panicked at|RuntimeError|memory access out of bounds/i;
const MAX_CONSOLE_LINES_PER_PAGE = 25;

let context = null;
let userDataDir = null;
let currentPage = null;

// ------------------------------------------------------------------------- small helpers

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `cond` (sync or async) until it returns a truthy value, which is returned.
 * Throws after `timeoutMs` with `what` and the last value seen.
 */
export async function waitFor(cond, timeoutMs, what = "condition", everyMs = 25) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await cond();
    if (last) return last;
    if (Date.now() > deadline) {
      let shown;
      try {
        shown = JSON.stringify(last);
      } catch {
        shown = String(last);
      }
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last value: ${shown})`);
    }
    await sleep(everyMs);
  }
}

let keyCounter = 0;
/** A stats key unique to this test run. */
export function uniqueKey(name = "t") {
  keyCounter += 1;
  const safeName = String(name).replace(/[^A-Za-z0-9_-]/g, "-");
  return `${safeName}-${process.pid}-${Date.now().toString(36)}-${keyCounter}`;
}

/** ws://127.0.0.1:8791<path>?<params> */
export function wsUrl(path, params = {}) {
  const q = new URLSearchParams(params).toString();
  return `${WS}${path}${q ? `?${q}` : ""}`;
}

async function httpGet(path, timeoutMs = 5000) {
  let res;
  try {
    res = await fetch(`${HTTP}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    throw new Error(
      `test server not reachable (GET ${HTTP}${path}: ${e.cause?.code ?? e.message}); ` +
        "start it with `cargo run -p tether-test-server -- --root .` or run `bash scripts/test.sh`",
    );
  }
  const text = await res.text();
  if (!res.ok) throw new Error(`GET ${HTTP}${path} → HTTP ${res.status}: ${text}`);
  return text;
}

/** The test server's stats for `key`: {connections, open, maxConcurrent, messages, ...}. */
export async function serverStats(key) {
  return JSON.parse(await httpGet(`/stats?key=${encodeURIComponent(key)}`));
}

/** GET a control path on the test server (e.g. "/down?ms=1500"); JSON or text result. */
export async function serverControl(path) {
  const text = await httpGet(path);
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

// ------------------------------------------------------------------------ browser + pages

/** Registers before/after hooks: one Chromium per test file. Call once at top level. */
export function useBrowser() {
  before(
    async () => {
      await httpGet("/health", 3000);
      if (!existsSync(join(ROOT, "pkg", "index.js"))) {
        throw new Error("pkg/index.js not found: build the package first (bash scripts/build-pkg.sh)");
      }
      if (!existsSync(CHROMIUM)) {
        throw new Error(`${CHROMIUM} not found: run bash scripts/setup.sh (apt chromium)`);
      }
      userDataDir = mkdtempSync(join(tmpdir(), "tether-chromium-"));
      // launchPersistentContext: a brand-new, empty user data dir per test file.
      context = await chromium.launchPersistentContext(userDataDir, {
        executablePath: CHROMIUM,
        headless: true,
        args: CHROMIUM_FLAGS,
        timeout: 60_000,
      });
    },
    { timeout: 90_000 },
  );
  after(async () => {
    try {
      if (context) await context.close();
    } finally {
      context = null;
      if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
    }
  });
}

/**
 * A new page with the package loaded (`window.TetherSocket`, `window.wasm`, `window.T`).
 * `query` is appended to the page URL (e.g. "?csp=1").
 */
export async function openPage({ query = "" } = {}) {
  if (!context) throw new Error("openPage() before useBrowser()'s before-hook ran");
  const page = await context.newPage();
  const fatal = [];
  let consoleLines = 0;
  const logLine = (line) => {
    consoleLines += 1;
    if (consoleLines <= MAX_CONSOLE_LINES_PER_PAGE) console.log(line);
    else if (consoleLines === MAX_CONSOLE_LINES_PER_PAGE + 1) {
      console.log("[page] ... further console errors of this page not shown");
    }
  };
  page.on("pageerror", (err) => {
    fatal.push(`uncaught page error: ${err.stack || err.message || err}`);
    console.log(`[page error] ${err.stack || err.message || err}`);
  });
  page.on("console", (msg) => {
    const type = msg.type();
    const text = msg.text();
    if (FATAL_CONSOLE.test(text)) fatal.push(`console.${type}: ${text}`);
    if (type === "error" || type === "warning" || FATAL_CONSOLE.test(text)) {
      logLine(`[page console.${type}] ${text}`);
    }
  });
  page.on("crash", () => fatal.push("the page crashed"));
  page.tether = { fatal };

  await page.goto(PAGE_URL + query, { timeout: 20_000 });
  await page
    .waitForFunction(() => window.ready === true || typeof window.loadError === "string", null, {
      timeout: 20_000,
    })
    .catch(() => {
      throw new Error(`the test page did not load the package within 20 s (${PAGE_URL}${query})`);
    });
  const loadError = await page.evaluate(() => window.loadError);
  if (loadError) throw new Error(`the test page could not load /pkg/index.js: ${loadError}`);
  currentPage = page;
  return page;
}

/**
 * Runs `fn(arg)` in the page (like page.evaluate) but never waits longer than
 * `timeoutMs`. Call as evalInPage(page, fn, arg, timeoutMs) or evalInPage(fn, arg) for
 * the page of the running test.
 */
export async function evalInPage(page, fn, arg, timeoutMs = 30_000) {
  if (typeof page === "function") {
    [page, fn, arg, timeoutMs] = [currentPage, page, fn, arg ?? 30_000];
  }
  if (!page) throw new Error("evalInPage: no page");
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`page code did not finish within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([page.evaluate(fn, arg), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Size of the wasm instance's linear memory in bytes. */
export async function wasmMemoryBytes(page) {
  return page.evaluate(() => window.wasm.memory.buffer.byteLength);
}

/**
 * Number of live WebSocket objects in the page after a full garbage collection,
 * counted with the DevTools protocol (HeapProfiler.collectGarbage + Runtime.queryObjects).
 */
/**
 * The page's heap in use after full garbage collections (DevTools protocol), in bytes: V8's
 * (`usedSize`) and Blink's garbage-collected heap (`embedderHeapUsedSize`), where the native
 * half of every WebSocket, EventTarget and event listener a script holds lives. (A leaked
 * socket is ~50 B of V8 heap but ~600 B of Blink heap.)
 */
export async function heapAfterGc(page) {
  const cdp = await page.context().newCDPSession(page);
  try {
    await cdp.send("HeapProfiler.enable");
    for (let i = 0; i < 3; i++) {
      await cdp.send("HeapProfiler.collectGarbage");
      await sleep(50);
    }
    const { usedSize, embedderHeapUsedSize } = await cdp.send("Runtime.getHeapUsage");
    if (typeof embedderHeapUsedSize !== "number") throw new Error("Runtime.getHeapUsage gave no embedderHeapUsedSize");
    return { v8: usedSize, blink: embedderHeapUsedSize, total: usedSize + embedderHeapUsedSize };
  } finally {
    await cdp.detach().catch(() => {});
  }
}

export function liveWebSocketCount(page) {
  return liveObjectCount(page, "(window.__NativeWebSocket || WebSocket).prototype");
}

/**
 * After garbage collection, the number of live objects whose prototype chain holds the
 * object `prototypeExpression` evaluates to (in the page), not counting prototypes.
 */
export async function liveObjectCount(page, prototypeExpression) {
  const cdp = await page.context().newCDPSession(page);
  try {
    await cdp.send("HeapProfiler.enable");
    await cdp.send("HeapProfiler.collectGarbage");
    await sleep(50);
    await cdp.send("HeapProfiler.collectGarbage");
    const { result: proto } = await cdp.send("Runtime.evaluate", {
      expression: prototypeExpression,
      objectGroup: "tether-count",
    });
    const { objects } = await cdp.send("Runtime.queryObjects", {
      prototypeObjectId: proto.objectId,
      objectGroup: "tether-count",
    });
    const { result } = await cdp.send("Runtime.callFunctionOn", {
      objectId: objects.objectId,
      // Prototype objects (such as the counting subclass's in pages/helpers.js) are not
      // sockets: they own a `constructor` property, instances do not.
      functionDeclaration:
        "function () { return this.filter((o) => !Object.prototype.hasOwnProperty.call(o, 'constructor')).length; }",
      returnByValue: true,
      objectGroup: "tether-count",
    });
    await cdp.send("Runtime.releaseObjectGroup", { objectGroup: "tether-count" });
    return result.value;
  } finally {
    await cdp.detach().catch(() => {});
  }
}

/**
 * Declares a test that runs `fn(page, t)` on a fresh page. The test fails if the page had
 * an uncaught error or a wasm panic/trap, even when `fn` itself passed.
 * Options: node:test options plus `query` for the page URL.
 */
export function browserTest(name, options, fn) {
  if (typeof options === "function") [options, fn] = [{}, options];
  const { query, ...testOptions } = options;
  return test(name, { timeout: 60_000, ...testOptions }, async (t) => {
    const page = await openPage({ query });
    let failure = null;
    try {
      await fn(page, t);
    } catch (e) {
      failure = e;
    }
    const fatal = page.tether.fatal.slice();
    await page.close().catch(() => {});
    if (currentPage === page) currentPage = null;
    if (fatal.length) {
      const msg =
        `the page reported ${fatal.length} fatal error(s) (uncaught error or wasm panic):\n  ` +
        fatal.join("\n  ") +
        (failure ? `\nand the test failed with: ${failure.stack || failure}` : "");
      throw new Error(msg);
    }
    if (failure) throw failure;
  });
}
