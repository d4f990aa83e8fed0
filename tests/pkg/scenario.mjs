// The work every packaging fixture does with the installed package, against the test server
// (tests/server on 127.0.0.1): echo a text and a binary message, reconnect(), then meet a
// server close code. Plain JS with no imports, so that it runs unchanged in a page (through
// any bundler), in Node, Deno, Bun, Vitest and Jest.
//
//   import { scenario } from "./scenario.mjs";
//   const report = await scenario(TetherSocket, { ws: "ws://127.0.0.1:8791", key: "vite8" });
//
// `options.WebSocket` is passed to the TetherSocket when given (the `ws` package in Node 20).
// Resolves to a report ({ ok: true, steps: [...] }); rejects with an Error naming the step.

const STEP_MS = 10000;

function within(ms, what, promise) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`scenario: timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function next(socket, type, test = () => true) {
  return new Promise((resolve) => {
    const on = (e) => {
      if (!test(e)) return;
      socket.removeEventListener(type, on);
      resolve(e);
    };
    socket.addEventListener(type, on);
  });
}

async function bytesOf(data) {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data && typeof data.arrayBuffer === "function") return new Uint8Array(await data.arrayBuffer());
  throw new Error(`scenario: binary message of unexpected type ${Object.prototype.toString.call(data)}`);
}

export async function scenario(TetherSocket, { ws, key, WebSocket } = {}) {
  const steps = [];
  const base = { minReconnectionDelay: 50, maxReconnectionDelay: 200, binaryType: "arraybuffer" };
  if (WebSocket) base.WebSocket = WebSocket;
  const q = (path) => `${ws}${path}${path.includes("?") ? "&" : "?"}key=${encodeURIComponent(key)}`;

  const echo = new TetherSocket(q("/echo"), [], base);
  try {
    await within(STEP_MS, "open /echo", next(echo, "open"));
    steps.push("open");

    const text = next(echo, "message", (e) => typeof e.data === "string");
    echo.send("hello tether");
    const got = (await within(STEP_MS, "text echo", text)).data;
    if (got !== "hello tether") throw new Error(`scenario: text echo gave ${JSON.stringify(got)}`);
    steps.push("text");

    const binary = next(echo, "message", (e) => typeof e.data !== "string");
    echo.send(new Uint8Array([1, 2, 3, 250]));
    const bytes = await bytesOf((await within(STEP_MS, "binary echo", binary)).data);
    if (bytes.join(",") !== "1,2,3,250") throw new Error(`scenario: binary echo gave ${bytes.join(",")}`);
    steps.push("binary");

    const reopened = next(echo, "open");
    echo.reconnect();
    await within(STEP_MS, "open after reconnect()", reopened);
    const again = next(echo, "message", (e) => e.data === "again");
    echo.send("again");
    await within(STEP_MS, "echo after reconnect()", again);
    steps.push("reconnect");
  } finally {
    echo.close();
  }

  const closing = new TetherSocket(q("/close?code=4321&reason=server%20says%20bye&after=0"), [], {
    ...base,
    shouldReconnect: () => false,
  });
  try {
    const e = await within(STEP_MS, "close event from /close", next(closing, "close"));
    if (e.code !== 4321 || e.reason !== "server says bye") {
      throw new Error(`scenario: close event gave code ${e.code} reason ${JSON.stringify(e.reason)}`);
    }
    steps.push("close-code");
  } finally {
    closing.close();
  }
  return { ok: true, steps };
}
