// The Rust hooks (tether_ws::leptos, tether_ws::yew) in a server-rendered page, hydrated in
// headless Chromium: tests/hooks is one small app per framework, rendered natively (leptos
// `ssr`, yew `ssr`) by its binary and hydrated by the same code built for wasm32 (leptos
// `hydrate`, yew `hydration`). scripts/test.sh builds both (step "hooks app").
//
// For each framework: the server renders "connecting" without a socket; hydration changes
// nothing in the server's DOM and logs no warning; the socket then connects (one
// connection) and a message round-trips; unmounting the component closes the socket (the
// test server sees it close); mounting it again makes a new one (never two at once), and a
// message sent in its first render, before the socket existed, is delivered. The hook's
// on_message handler sees every message of a burst (its `message` only the latest).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { chromium } from "playwright-core";
import { CHROMIUM, CHROMIUM_FLAGS, HTTP, ROOT, serverControl, serverStats, uniqueKey, waitFor, WS } from "./harness.mjs";

// The binary of tests/hooks (natively: the server renderer), in cargo's target dir.
const TARGET = process.env.CARGO_TARGET_DIR || join(ROOT, "target");
const RENDERER = join(TARGET, "debug", "tether-hooks-app");
const MODULE = "/tests/hooks/dist/tether-hooks-app.js";
const built = existsSync(RENDERER) && existsSync(join(ROOT, MODULE));
const missing =
  `${RENDERER} or tests/hooks/dist not found: build them as scripts/test.sh does ` +
  "(step \"hooks app\": cargo build -p tether-hooks-app, natively and for wasm32, then wasm-bindgen)";

let browser = null;
before(
  async () => {
    if (!built) return;
    await serverControl("/health");
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS, timeout: 60_000 });
  },
  { timeout: 90_000 },
);
after(async () => {
  await browser?.close();
});

/** The page the server renders for `app` (leptos | yew) with a socket to `ws`. */
const render = (app, ws) => execFileSync(RENDERER, [app, ws, MODULE], { encoding: "utf8", timeout: 20_000 });

/**
 * Opens the server-rendered page in a fresh context. The page is written to tests/hooks/dist/
 * and served by the test server (a page that Playwright fulfilled itself would have no
 * address, and Chromium's local network access checks would then refuse its socket to
 * 127.0.0.1). `logged` collects every console warning or error and uncaught error.
 */
async function openRendered(app, key, html) {
  const file = `${app}-${key}.html`;
  writeFileSync(join(ROOT, "tests/hooks/dist", file), html);
  const context = await browser.newContext();
  const page = await context.newPage();
  const logged = [];
  page.on("pageerror", (e) => logged.push(`uncaught: ${e.stack || e}`));
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") logged.push(`console.${m.type()}: ${m.text()}`);
  });
  await page.goto(`${HTTP}/tests/hooks/dist/${file}`, { timeout: 20_000 });
  const close = async () => {
    await context.close();
    rmSync(join(ROOT, "tests/hooks/dist", file), { force: true });
  };
  return { page, logged, close };
}

const text = (page, id) => page.textContent(`#${id}`);
const stateIs = (page, state, timeout = 15_000) => page.waitForSelector(`#state[data-state="${state}"]`, { timeout });

const burstOf = (wire) => [1, 2, 3, 4, 5].map((i) => wire(`burst ${i}`));
for (const { app, hello, burst, mounted } of [
  // Leptos: use_typed_socket (JSON); Yew: use_socket (raw text).
  { app: "leptos", hello: '{"text":"hello"}', burst: burstOf((t) => `{"text":"${t}"}`), mounted: '{"text":"mounted"}' },
  { app: "yew", hello: "hello", burst: burstOf((t) => t), mounted: "mounted" },
]) {
  test(`${app}: SSR renders "connecting", hydration matches, the socket connects and a message round-trips`, { timeout: 60_000 }, async (t) => {
    if (!built) return t.skip(missing);
    const key = uniqueKey(`hooks-${app}`);
    const html = render(app, `${WS}/echo?key=${key}`);
    assert.match(html, /<span id="state" data-state="connecting">connecting<\/span>/, "the server shows connecting");
    assert.match(html, /<span id="retries">0<\/span>/);
    assert.equal((await serverStats(key)).connections, 0, "rendering on the server made no socket");

    const { page, logged, close } = await openRendered(app, key, html);
    try {
      await page.waitForFunction(() => window.hydration, null, { timeout: 20_000 }); // (set by the app's first effect)
      const { changes } = await page.evaluate(() => window.hydration);
      assert.deepEqual(changes, [], "hydrating changed nothing the server rendered");
      await stateIs(page, "open");
      assert.equal(await text(page, "retries"), "0");
      await page.click("#send");
      await waitFor(async () => (await text(page, "message")) === "hello", 10_000, "the echo of hello");
      assert.equal(await text(page, "received"), "1");
      // Five echoes in a burst: `message` ends on the last; on_message saw every one.
      await page.click("#burst");
      await waitFor(async () => (await text(page, "message")) === "burst 5", 10_000, "the echo of the burst");
      await waitFor(async () => (await text(page, "received")) === "6", 5_000, "on_message saw each of the 6 echoes");
      const stats = await serverStats(key);
      assert.equal(stats.connections, 1, "one socket, made after hydration");
      assert.deepEqual(stats.messages, [hello, ...burst]);
      assert.equal(await text(page, "queued"), "0");
      assert.deepEqual(logged, [], "no hydration warning, no error");
    } finally {
      await close();
    }
  });

  test(`${app}: unmounting closes the socket; remounting makes one, and delivers what was sent before it existed`, { timeout: 60_000 }, async (t) => {
    if (!built) return t.skip(missing);
    const key = uniqueKey(`hooks-${app}-unmount`);
    const { page, logged, close } = await openRendered(app, key, render(app, `${WS}/echo?key=${key}`));
    try {
      await stateIs(page, "open");
      await waitFor(async () => (await serverStats(key)).open === 1, 5_000, "the server sees the socket open");

      await page.click("#toggle"); // unmount
      await page.waitForSelector("#echo", { state: "detached", timeout: 5_000 });
      const closed = await waitFor(async () => {
        const s = await serverStats(key);
        return s.open === 0 && s.closes.length === 1 && s;
      }, 5_000, "the socket closed by the unmount");
      assert.equal(closed.closes[0].code, 1000, `a normal close: ${JSON.stringify(closed.closes)}`);

      await page.click("#toggle"); // mount again: it sends "mounted" in its first render
      await stateIs(page, "open");
      await waitFor(async () => (await text(page, "message")) === "mounted", 10_000, "the echo of the held greeting");
      const stats = await serverStats(key);
      assert.equal(stats.connections, 2, "a new socket for the new component");
      assert.equal(stats.open, 1);
      assert.equal(stats.maxConcurrent, 1, "never two sockets at once");
      assert.deepEqual(stats.messages, [mounted]);

      await page.click("#toggle");
      await waitFor(async () => (await serverStats(key)).open === 0, 5_000, "closed by the second unmount");
      assert.deepEqual(logged, [], "no warning, no error");
    } finally {
      await close();
    }
  });
}
