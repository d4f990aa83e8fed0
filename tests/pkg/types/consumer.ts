// A consumer of tether-ws: tests/pkg/types.test.mjs copies this file into every case of the
// matrix, under the case's extensions (.ts, or .mts and .cts), and type-checks it against the
// installed package. Nothing here runs. The @ts-expect-error lines prove that mistakes are
// errors: each must fail to compile, or tsc reports the line as unused.

import TetherSocket, {
  CloseEvent,
  ErrorEvent,
  init,
  initSync,
  TetherSocket as NamedTetherSocket,
  type DropEvent,
  type HeartbeatOptions,
  type Options,
  type Provider,
  type ReconnectingEvent,
  type StateChangeEvent,
  type TetherData,
  type TetherSocketEventMap,
  type TetherSocketOptions,
  type TetherState,
} from "tether-ws";
import initSlim, {
  init as namedInitSlim,
  initSync as initSlimSync,
  TetherSocket as SlimTetherSocket,
  type InitInput,
  type TetherSocketOptions as SlimOptions,
} from "tether-ws/slim";

// The default and the named import are the same class.
const Named: typeof NamedTetherSocket = TetherSocket;

const heartbeat: HeartbeatOptions = { intervalMs: 20000, timeoutMs: 5000, message: "ping", isPong: (data) => data === "pong" };
const options: TetherSocketOptions = {
  WebSocket,
  maxReconnectionDelay: 10000,
  minReconnectionDelay: 1000,
  reconnectionDelayGrowFactor: 1.3,
  minUptime: 5000,
  connectionTimeout: 4000,
  maxRetries: 10,
  maxEnqueuedMessages: 100,
  startClosed: true,
  debug: false,
  debugLogger: (...args) => console.log(...args),
  jitter: 0.5,
  maxEnqueuedBytes: 1 << 20,
  overflow: "reject",
  maxMessageBytes: 1 << 20,
  heartbeat,
  shouldReconnect: (event) => event.code !== 4001,
  shouldReconnectOnClose: (event) => event.wasClean,
  reconnectOnOnline: true,
  pauseWhenHidden: false,
  binaryType: "arraybuffer",
};
// reconnecting-websocket's name for the options type, and slim's, are the same type.
const rwsOptions: Options = options;
const slimOptions: SlimOptions = rwsOptions;
// An option set to undefined is one not given (the runtime agrees).
const partial: TetherSocketOptions = { debug: undefined, WebSocket: undefined };

const url: Provider<string> = async () => "ws://127.0.0.1:8791/echo";
const ws = new TetherSocket(url, ["v1"], options);
const named = new Named("ws://127.0.0.1:8791/echo", null, partial);
const slim = new SlimTetherSocket("ws://127.0.0.1:8791/echo", undefined, slimOptions);

ws.addEventListener("open", (event) => console.log(event.type));
ws.addEventListener("message", function (event) {
  // `this` is the underlying WebSocket.
  const socket: WebSocket = this;
  const text: string = typeof event.data === "string" ? event.data : socket.protocol;
  console.log(text);
});
ws.addEventListener("close", (event) => {
  const fields: [number, string, boolean] = [event.code, event.reason, event.wasClean];
  console.log(fields);
});
ws.addEventListener("error", (event) => {
  const message: string = event.message;
  const error: Error = event.error;
  if (message === "TIMEOUT") console.log(error.stack);
});
ws.addEventListener("reconnecting", (event: ReconnectingEvent) => console.log(event.attempt, event.delayMs, event.reason));
ws.addEventListener("statechange", (event: StateChangeEvent) => {
  const to: TetherState = event.to;
  console.log(event.from, to);
});
ws.addEventListener("drop", (event: DropEvent) => {
  const data: TetherData = event.data;
  console.log(data, event.reason);
});
ws.addEventListener("requeue", (event) => console.log(event.count + event.bytes));
ws.addEventListener("custom", { handleEvent: (event: Event) => console.log(event.type) }, { once: true });
const onClose = (event: TetherSocketEventMap["close"]) => console.log(event.code);
ws.addEventListener("close", onClose, { signal: new AbortController().signal });
ws.removeEventListener("close", onClose);
ws.onopen = null;
ws.onmessage = function (event) {
  this.send(`echo ${String(event.data)}`);
};
ws.onclose = (event) => console.log(event.code);
ws.onerror = (event) => console.log(event.message);

const written: boolean = ws.send("hello", { key: "cursor" });
ws.send(new Uint8Array([1, 2]));
ws.send(new ArrayBuffer(4));
ws.send(new Blob(["x"]));
const queued: TetherData[] = ws.drainQueuedMessages();
ws.binaryType = "nodebuffer";
const state: TetherState = ws.state;
const open: boolean = ws.readyState === TetherSocket.OPEN || named.readyState === named.CLOSED;
console.log(written, queued, state, open, ws.url, ws.protocol, ws.extensions, ws.bufferedAmount, ws.retryCount, ws.queuedMessages, ws.queuedBytes);
ws.reconnect(4000, "again");
ws.close(1000, "bye");
ws.free();
slim.free();

// partysocket's event classes.
const closeEvent: CloseEvent = new CloseEvent(1000, "done");
const errorEvent: ErrorEvent = new ErrorEvent(new Error("TIMEOUT"));
console.log(closeEvent.code, errorEvent.message, new CloseEvent().wasClean);

// init() is a no-op kept for old code; slim's loads the wasm.
const memory: Promise<WebAssembly.Memory> = init().then((exports) => exports.memory);
console.log(memory, initSync().memory.buffer);
const input: InitInput = new URL("https://example.com/tether_ws_bg.wasm");
void initSlim().then((exports) => exports.memory);
void namedInitSlim(fetch(input instanceof URL ? input : "x"));
initSlimSync(new Uint8Array(8));

// Mistakes are errors.
// @ts-expect-error: not an overflow policy
new TetherSocket("ws://x", [], { overflow: "drop-all" });
// @ts-expect-error: maxRetries is a number
new TetherSocket("ws://x", [], { maxRetries: "5" });
// @ts-expect-error: an unknown option (a typo of maxRetries)
new TetherSocket("ws://x", [], { maxRetry: 5 });
ws.addEventListener("close", (event) => {
  // @ts-expect-error: close events have no `message`
  console.log(event.message);
});
ws.addEventListener("reconnecting", (event) => {
  // @ts-expect-error: it is `attempt`
  console.log(event.attempts);
});
// @ts-expect-error: not a binary type
ws.binaryType = "text";
// @ts-expect-error: numbers are not sent
ws.send(42);
// @ts-expect-error: slim's initSync needs the wasm
initSlimSync();
