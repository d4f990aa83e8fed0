// The outbox's keyed replace: `send(data, { key })` while not open keeps only the latest
// message per key (the older one is reported as a `drop` with reason "replaced"), in the
// position of the newest send; messages without a key are untouched.
import assert from "node:assert/strict";

import { browserTest, evalInPage, serverStats, uniqueKey, useBrowser, waitFor, wsUrl } from "./harness.mjs";

useBrowser();

browserTest("send with a key while not open replaces the queued message with that key", async (page) => {
  const key = uniqueKey("keyed");
  const r = await evalInPage(
    page,
    async ({ url }) => {
      const ws = new TetherSocket(url, undefined, { startClosed: true });
      const log = T.track(ws);
      ws.send("first");
      for (let i = 0; i < 50; i++) ws.send(`cursor ${i}`, { key: "cursor" });
      ws.send("other", { key: "other" });
      ws.send("last");
      const queued = ws.queuedMessages;
      const replaced = log.filter((e) => e.type === "drop" && e.reason === "replaced").length;
      const badKey = T.throwsWhat(() => ws.send("x", { key: 42 }));
      ws.reconnect();
      await T.nextEvent(ws, "open", 5000);
      // Open: a keyed send goes straight out, nothing to replace.
      const direct = [ws.send("live 1", { key: "cursor" }), ws.send("live 2", { key: "cursor" })];
      await T.sleep(100);
      ws.close();
      return { queued, replaced, badKey, direct };
    },
    { url: wsUrl("/echo", { key }) },
  );
  assert.equal(r.queued, 4, "first, the latest cursor, other, last");
  assert.equal(r.replaced, 49, "each replaced cursor message is reported once");
  assert.equal(r.badKey.threw, true, "a non-string key is refused with an Error");
  assert.equal(r.badKey.isRuntimeError, false);
  assert.match(r.badKey.message, /key/);
  assert.deepEqual(r.direct, [true, true]);
  const s = await waitFor(async () => {
    const s = await serverStats(key);
    return s.messages.length >= 6 && s;
  }, 5000, "6 messages at the server");
  assert.deepEqual(s.messages, ["first", "cursor 49", "other", "last", "live 1", "live 2"]);
});
