// The example apps (examples/leptos-chat, examples/yew-feed), built by examples/build.sh and
// served by the test server from the repo root, driven in headless Chromium.
// Skipped with a message when an example's dist/ is missing. Needs the test server only
// (not pkg/), so it launches its own browser instead of harness.mjs's useBrowser().
// SCREENSHOTS=1 also saves examples/<name>/screenshot.png.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { chromium } from "playwright-core";
import { CHROMIUM, CHROMIUM_FLAGS, HTTP, ROOT, serverControl, serverStats, uniqueKey, WS } from "./harness.mjs";

const built = (name) => existsSync(join(ROOT, "examples", name, "dist", `${name}.js`));
const missing = (name) => `examples/${name}/dist not found: build it with \`bash examples/build.sh ${name}\``;
const FATAL = /unreachable|panicked at|RuntimeError|memory access out of bounds/i;

let browser = null;
before(
  async () => {
    if (!built("leptos-chat") && !built("yew-feed")) return;
    await serverControl("/health");
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS, timeout: 60_000 });
  },
  { timeout: 90_000 },
);
after(async () => {
  await browser?.close();
});

/** Opens `url` in a fresh context; `fatal` collects uncaught errors and wasm panics. */
async function openApp(url) {
  const context = await browser.newContext({ viewport: { width: 800, height: 640 } });
  const page = await context.newPage();
  const fatal = [];
  page.on("pageerror", (e) => fatal.push(`uncaught: ${e.stack || e}`));
  page.on("console", (m) => {
    if (m.type() === "error" || FATAL.test(m.text())) fatal.push(`console.${m.type()}: ${m.text()}`);
  });
  await page.goto(url, { timeout: 20_000 });
  return { page, fatal, close: () => context.close() };
}

const stateIs = (page, state, timeout = 30_000) =>
  page.waitForSelector(`#status[data-state="${state}"]`, { timeout });

test("leptos-chat: echoes typed messages and survives a server-side drop", { timeout: 60_000 }, async (t) => {
  if (!built("leptos-chat")) return t.skip(missing("leptos-chat"));
  // A key of our own (through the page's ?ws= override) so that other clients of the
  // default `leptos-example` key cannot disturb the test.
  const key = uniqueKey("leptos-chat");
  const ws = `${WS}/echo?key=${key}`;
  const app = await openApp(`${HTTP}/examples/leptos-chat/index.html?ws=${encodeURIComponent(ws)}`);
  const { page } = app;
  try {
    await stateIs(page, "open");
    // Record every state the status line shows from now on (some last only a moment).
    await page.evaluate(() => {
      const el = document.querySelector("#status");
      window.seenStates = [];
      new MutationObserver(() => window.seenStates.push(el.dataset.state)).observe(el, {
        attributes: true,
        attributeFilter: ["data-state"],
      });
    });

    const say = async (text) => {
      await page.fill("#text", text);
      await page.click("#composer button[type=submit]");
      await page.waitForSelector(`#messages li:has-text("${text}")`, { timeout: 5_000 });
      assert.equal(await page.inputValue("#text"), "", "the input is cleared after sending");
    };
    await say("hello before the drop");

    await serverControl(`/drop-all?key=${encodeURIComponent(key)}`);
    await page.waitForFunction(() => window.seenStates.includes("reconnecting"), null, { timeout: 5_000 });
    await stateIs(page, "open");
    const seen = await page.evaluate(() => window.seenStates);
    assert.deepEqual(seen.slice(0, 1), ["reconnecting"], `states after the drop: ${seen}`);
    assert.ok(Number(await page.textContent("#retries")) >= 1, "the retry count shows the reconnect");

    await say("hello after the drop");
    const texts = await page.$$eval("#messages li", (lis) => lis.map((li) => li.textContent));
    assert.deepEqual(texts, ["me: hello before the drop", "me: hello after the drop"]);
    const stats = await serverStats(key);
    assert.equal(stats.connections, 2, "one connection before the drop, one after");
    if (process.env.SCREENSHOTS) await page.screenshot({ path: join(ROOT, "examples/leptos-chat/screenshot.png") });
    assert.deepEqual(app.fatal, [], "no page errors");
  } finally {
    await app.close();
  }
});

test("yew-feed: shows the 20 pushed messages", { timeout: 60_000 }, async (t) => {
  if (!built("yew-feed")) return t.skip(missing("yew-feed"));
  const app = await openApp(`${HTTP}/examples/yew-feed/index.html`);
  const { page } = app;
  try {
    await stateIs(page, "open");
    await page.waitForFunction(() => document.querySelectorAll("#feed li").length >= 20, null, { timeout: 30_000 });
    const items = await page.$$eval("#feed li", (lis) => lis.map((li) => li.textContent));
    assert.equal(items.length, 20);
    assert.ok(items.every((s) => s.length === 32), `every item is 32 characters: ${JSON.stringify(items[0])}`);
    if (process.env.SCREENSHOTS) await page.screenshot({ path: join(ROOT, "examples/yew-feed/screenshot.png") });
    assert.deepEqual(app.fatal, [], "no page errors");
  } finally {
    await app.close();
  }
});
