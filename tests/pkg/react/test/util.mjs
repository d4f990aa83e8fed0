// The test server (tests/server on 127.0.0.1; ports from the packaging suite's environment)
// and small helpers.
import { get } from "node:http";

export const HTTP = process.env.TETHER_HTTP || "http://127.0.0.1:8790";
export const WS = process.env.TETHER_WS || "ws://127.0.0.1:8791";

let counter = 0;
/** A stats key of its own for each test. */
export function uniqueKey(name) {
  counter += 1;
  return `react-${name}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}

export const echoUrl = (key, extra = "") => `${WS}/echo?key=${encodeURIComponent(key)}${extra}`;

/** The server's statistics for `key`: connections (ever), open (now), closes... */
export function stats(key) {
  // node:http without keep-alive: fetch's pooled connection would hold the process open.
  return new Promise((resolve, reject) => {
    get(`${HTTP}/stats?key=${encodeURIComponent(key)}`, { agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve(JSON.parse(body)));
    }).on("error", reject);
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` (sync or async) until it returns a truthy value; throws after `ms`. */
export async function until(what, check, ms = 5000) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await check();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await sleep(20);
  }
}
