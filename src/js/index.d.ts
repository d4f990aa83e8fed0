// The declarations of "tether-ws" (copied by scripts/build-pkg.sh to pkg/index.d.ts and
// pkg/index.d.cts), written by hand. tests/pkg/types.test.mjs checks that they name exactly
// what the JS exports, type-checks consumers under every module setting, and checks the JS
// source against them. Only types @types/node has too are named (no BinaryType,
// AddEventListenerOptions...), so that Node projects without the dom lib compile.

/** A value, or a function called before every connection attempt returning it or a Promise of it. */
export type Provider<T> = T | (() => T | Promise<T>);

/** What `send()` accepts, as `WebSocket.send` does. */
export type TetherData = string | ArrayBufferLike | ArrayBufferView | Blob;

/** How binary messages are delivered: the browser's two ways, and the `ws` package's own "nodebuffer" and "fragments". */
export type TetherBinaryType = "blob" | "arraybuffer" | "nodebuffer" | "fragments";

/** What TetherSocket uses of a socket made by the `WebSocket` option's class. The browser's WebSocket, Node's (undici) and the `ws` package's have it. */
export interface WebSocketLike {
  readonly url: string;
  readonly readyState: number;
  readonly protocol: string;
  readonly extensions: string;
  readonly bufferedAmount: number;
  binaryType: string;
  send(data: any): void; // (any: the DOM's Blob and Node's are different types)
  close(code?: number, reason?: string): void;
  addEventListener(type: "open" | "message" | "error" | "close", listener: (event: any) => void): void;
  removeEventListener(type: "open" | "message" | "error" | "close", listener: (event: any) => void): void;
}

/** A WebSocket class, such as the `ws` package's: constructed for every attempt. It is told apart by `CLOSING` being 2, as reconnecting-websocket and partysocket do. */
export interface WebSocketConstructor {
  new (url: string, protocols?: string | string[]): WebSocketLike;
  readonly CLOSING: number;
}

/** Keep-alive: `message` is sent every `intervalMs` while open; without a reply within `timeoutMs` the connection is treated as dead and replaced. */
export interface HeartbeatOptions {
  /** Time between heartbeats, ms (default 30000). */
  intervalMs?: number | undefined;
  /** Time allowed for a reply after a heartbeat, ms (default 10000). */
  timeoutMs?: number | undefined;
  /** What to send (default "ping"). */
  message?: TetherData | undefined;
  /** Which messages count as a reply (default: every message). */
  isPong?: ((data: any) => boolean) | undefined;
}

/** The continuity protocol's settings (PROTOCOL.md): exactly-once, in-order delivery both ways across reconnects, with a server that speaks it. */
export interface ContinuityOptions {
  /** "prefer": use it when the server selects it, a plain WebSocket otherwise; "required": a connection without it fails (default "prefer" in this object). */
  mode?: "off" | "prefer" | "required" | undefined;
  /** Unacknowledged messages at most, per direction (default 256). */
  window?: number | undefined;
  /** Unacknowledged bytes at most, per direction (default 1048576). */
  windowBytes?: number | undefined;
  /** Delay of an ack after the first message not yet acknowledged, ms (default 250). */
  ackDelayMs?: number | undefined;
  /** After a lost session, send the messages in doubt again (true) or report them in `drop` events with reason "session-lost" (false) (default true). */
  resend?: boolean | undefined;
  /** "session": the session and every message not yet acknowledged are written through to `sessionStorage` as they change, and the next page load in this tab takes the session up (PROTOCOL.md, "Keeping a session across page loads"); `send()` of a Blob then throws. Storage that fails turns it off, with an `error` event (default "off"). */
  persist?: "off" | "session" | undefined;
  /** The name the session is kept under in storage, without "#" (default: the URL; required with a URL provider). Two live sockets on one page cannot share one. */
  persistKey?: string | undefined;
}

/** Options; names shared with reconnecting-websocket and partysocket keep their meaning. An option set to undefined (or null) is one not given, hence the `| undefined` for consumers with `exactOptionalPropertyTypes`. */
export interface TetherSocketOptions {
  /** The WebSocket class to use, read before every attempt (default: the global WebSocket). Required where there is none, e.g. Node 20: `{ WebSocket: require("ws") }`. */
  WebSocket?: WebSocketConstructor | undefined;
  /** Longest delay between attempts, ms (default 10000). */
  maxReconnectionDelay?: number | undefined;
  /** Delay before the first retry, ms (default 1000). */
  minReconnectionDelay?: number | undefined;
  /** Growth of the delay per failed attempt (default 1.3). */
  reconnectionDelayGrowFactor?: number | undefined;
  /** How long a connection must stay open before the retry count resets, ms (default 5000). */
  minUptime?: number | undefined;
  /** An attempt that does not open in this many ms fails, with an `error` event whose message is "TIMEOUT" (default 4000). */
  connectionTimeout?: number | undefined;
  /** Retries in a row before giving up (default Infinity). */
  maxRetries?: number | undefined;
  /** Most messages queued while not open (default Infinity). */
  maxEnqueuedMessages?: number | undefined;
  /** Do not connect until `reconnect()` is called (default false). */
  startClosed?: boolean | undefined;
  /** Log what the socket does, with URL query strings redacted (default false). */
  debug?: boolean | undefined;
  /** Where `debug` logs go (default `console.log`). */
  debugLogger?: ((...args: any[]) => void) | undefined;
  /** Fraction of each delay that is randomised, 0..1 (default 0.5). */
  jitter?: number | undefined;
  /** Most bytes queued while not open, text counted as UTF-8 (default Infinity). */
  maxEnqueuedBytes?: number | undefined;
  /** What happens when a send does not fit in the outbox (default "drop-oldest"). */
  overflow?: "drop-oldest" | "drop-newest" | "reject" | undefined;
  /** Largest message accepted from the server, bytes, text counted as UTF-8 (default Infinity). A larger one is not delivered: an `error` event, then the connection is closed (code 4000 on the wire, which is all a page may send) and reported as a `close` event with code 1009, and retried like any lost connection. */
  maxMessageBytes?: number | undefined;
  /** Keep-alive, off by default. */
  heartbeat?: HeartbeatOptions | undefined;
  /** Whether to reconnect after a close we did not ask for (default: always). */
  shouldReconnect?: ((event: CloseEvent) => boolean) | undefined;
  /** partysocket's name for `shouldReconnect` (used when that is not given). */
  shouldReconnectOnClose?: ((event: CloseEvent) => boolean) | undefined;
  /** Retry at once, with backoff reset, when the browser comes back online (default true). */
  reconnectOnOnline?: boolean | undefined;
  /** Defer retries while the page is hidden (default false). */
  pauseWhenHidden?: boolean | undefined;
  /** How binary messages are delivered (default "blob"). */
  binaryType?: TetherBinaryType | undefined;
  /** The continuity protocol (PROTOCOL.md): a mode, or an object of settings (default "off"). With a heartbeat, a session sends the protocol's ping instead of `heartbeat.message`, and any frame from the server is the reply. */
  continuity?: "off" | "prefer" | "required" | ContinuityOptions | undefined;
}

/** reconnecting-websocket's and partysocket's name for the options. */
export type Options = TetherSocketOptions;

/** The public states. */
export type TetherState = "connecting" | "open" | "closing" | "reconnecting" | "closed";

/** A close event, as partysocket exports it. Fired where the platform has no CloseEvent (the browser's has the same fields). */
export declare class CloseEvent extends Event {
  code: number;
  reason: string;
  wasClean: boolean;
  constructor(code?: number, reason?: string, target?: unknown);
}

/** An error event, as partysocket exports it: every `error` event is one. `message` is "TIMEOUT" for a connection timeout. */
export declare class ErrorEvent extends Event {
  message: string;
  error: Error;
  constructor(error: Error, target?: unknown);
}

/** Fired when a retry is scheduled. */
export interface ReconnectingEvent extends Event {
  readonly type: "reconnecting";
  /** 1 for the first retry after a drop. */
  readonly attempt: number;
  /** Wait before the attempt, jitter included, ms. */
  readonly delayMs: number;
  /** What ended the previous connection. */
  readonly reason: "closed" | "connection-timeout" | "heartbeat-timeout" | "message-too-big" | "protocol-error" | "no-continuity";
}

/** Fired on every state change. */
export interface StateChangeEvent extends Event {
  readonly type: "statechange";
  readonly from: TetherState;
  readonly to: TetherState;
}

/** Fired when a queued message is discarded. */
export interface DropEvent extends Event {
  readonly type: "drop";
  /** The message, as it was given to `send()`. */
  readonly data: TetherData;
  /** "overflow": the outbox limits; "disposed": `free()` with the message still queued; "replaced": a newer message with the same key took its place; "session-lost": sent in a continuity session the server lost, never acknowledged, and not sent again (`continuity.resend: false`). */
  readonly reason: "overflow" | "disposed" | "replaced" | "session-lost";
}

/** With continuity: how a connection's session began, before its `open` event. */
export interface ResumeEvent extends Event {
  readonly type: "resume";
  /** True: nothing was lost either way. */
  readonly resumed: boolean;
  /** Why not (null when resumed): "new" (first connection), "unknown" (the server lost or forgot the session), "expired", "auth", "overflow", "unsupported" (the server does not speak the protocol: a plain WebSocket, under "prefer"), "no-welcome" (it selected the protocol without speaking it; the next attempts offer only your subprotocols), "duplicated" (`continuity.persist`: the session in this tab's storage is held by another tab, this one's duplicate; this tab began its own). */
  readonly reason: null | "new" | "unknown" | "expired" | "auth" | "overflow" | "unsupported" | "no-welcome" | "duplicated";
  /** Messages in doubt from a lost session that were sent again first (the server may see them twice). */
  readonly resent: number;
  /** Messages in doubt reported in `drop` events instead (`continuity.resend: false`). */
  readonly dropped: number;
  /** The session was taken up from storage (`continuity.persist`): the first resume after a page load. */
  readonly restored: boolean;
}

/** Fired when a connection died with messages still in the browser's send buffer (`bufferedAmount`): they never left, so they were put back at the head of the queue and go out, in order, on the next connection. Comes just before that connection's `close` event. */
export interface RequeueEvent extends Event {
  readonly type: "requeue";
  /** How many messages. */
  readonly count: number;
  /** Their size in bytes (text as UTF-8). */
  readonly bytes: number;
}

/** Event types and their event objects. */
export interface TetherSocketEventMap {
  open: Event;
  /** The socket's own MessageEvent: its `target` and `currentTarget` are the underlying WebSocket. */
  message: MessageEvent;
  close: CloseEvent;
  error: ErrorEvent;
  reconnecting: ReconnectingEvent;
  statechange: StateChangeEvent;
  drop: DropEvent;
  requeue: RequeueEvent;
  resume: ResumeEvent;
}

/** `this` in a listener function: the event's `currentTarget`. */
export type TetherSocketListenerThis<K> = K extends "message" ? WebSocket : EventTarget;

/** `WebAssembly.Memory` where the lib declares it (dom, recent @types/node), else what every one has. */
type WasmMemory = typeof globalThis extends { WebAssembly: { Memory: { prototype: infer M } } } ? M : { readonly buffer: ArrayBuffer };

/** The wasm module's exports, as `init()` resolves to them. */
export interface InitOutput {
  readonly memory: WasmMemory;
}

/** addEventListener's options, as the DOM's AddEventListenerOptions. */
export interface TetherListenerOptions {
  capture?: boolean | undefined;
  once?: boolean | undefined;
  passive?: boolean | undefined;
  signal?: AbortSignal | undefined;
}

/** A listener function or `{ handleEvent }` object, as the DOM's EventListenerOrEventListenerObject. */
export type TetherListener = ((event: Event) => void) | { handleEvent(event: Event): void };

// `[Symbol.dispose](): void` only where the consumer's lib declares Symbol.dispose (TS lib
// esnext.disposable, or @types/node). Written as `[Symbol.dispose]` in the class, it would be
// an error for everyone else ("Property 'dispose' does not exist on type
// 'SymbolConstructor'"), even with their own code not using it. @types/node instead declares
// Symbol.dispose globally; a package should not change its consumers' globals.
type DisposeKey = SymbolConstructor extends { readonly dispose: infer K extends symbol } ? K : never;
/** `[Symbol.dispose]()`: the same as `free()`, so that `using ws = new TetherSocket(...)` frees it at the end of the block. */
type TetherSocketDisposable = { [K in DisposeKey]: () => void };

export interface TetherSocket extends TetherSocketDisposable {}

/** A WebSocket that reconnects with backoff and jitter, queues messages while disconnected, and can watch the connection with heartbeats. Call `free()` when done with it. */
export declare class TetherSocket {
  /**
   * @param url a ws:, wss:, http: or https: URL (relative URLs resolve against the page), or a provider of one.
   * @param protocols subprotocols to offer, or a provider of them.
   * @throws Error naming the problem, for a bad URL, bad protocols or a bad option, or when there is no WebSocket class (no `WebSocket` option and no global one).
   */
  constructor(url: Provider<string>, protocols?: Provider<string | string[]> | null, options?: TetherSocketOptions);
  static readonly CONNECTING: 0;
  static readonly OPEN: 1;
  static readonly CLOSING: 2;
  static readonly CLOSED: 3;
  readonly CONNECTING: 0;
  readonly OPEN: 1;
  readonly CLOSING: 2;
  readonly CLOSED: 3;
  /** The URL of the current socket, else of the latest attempt. */
  readonly url: string;
  /** The subprotocol the server selected ("" when none or not open); with continuity, the application's part of it. */
  readonly protocol: string;
  /** The extensions the server selected. */
  readonly extensions: string;
  /** 0 connecting (also while waiting to retry), 1 open, 2 closing, 3 closed. */
  readonly readyState: 0 | 1 | 2 | 3;
  /** Bytes not yet sent: the socket's buffer plus the outbox. */
  readonly bufferedAmount: number;
  /** How binary messages are delivered: the current socket's, else the one set. */
  binaryType: TetherBinaryType;
  /** Retries since the last connection that stayed open for `minUptime`. */
  readonly retryCount: number;
  /** The state, finer than `readyState`. */
  readonly state: TetherState;
  /** Messages waiting in the outbox. */
  readonly queuedMessages: number;
  /** Bytes waiting in the outbox. */
  readonly queuedBytes: number;
  onopen: ((event: Event) => void) | null;
  onmessage: ((this: WebSocket, event: MessageEvent) => void) | null;
  onclose: ((event: CloseEvent) => void) | null;
  onerror: ((event: ErrorEvent) => void) | null;
  /**
   * Sends now if open, else queues (flushed in order on the next open, before `open` listeners run).
   * @param options.key a replace key: if the message has to be queued, it takes the place of the queued message sent with the same key (reported as a `drop` with reason "replaced"). For state where only the latest value matters, such as a cursor position.
   * @returns true if written to the socket, false if queued or dropped.
   * @throws Error for an unsupported type, or a full outbox under `overflow: "reject"`.
   */
  send(data: TetherData, options?: { key?: string | undefined }): boolean;
  /** Closes for good: no reconnect until `reconnect()`. @throws Error for a code other than 1000 or 3000-4999, or a reason over 123 UTF-8 bytes. */
  close(code?: number, reason?: string): void;
  /** Closes the current connection, if any, and connects again at once with backoff reset. */
  reconnect(code?: number, reason?: string): void;
  /** Takes every queued message out of the outbox and returns them, oldest first, without `drop` events (partysocket's method, e.g. to hand them to another socket). */
  drainQueuedMessages(): TetherData[];
  /** As `EventTarget.addEventListener`. The `on*` handler of a type runs before its listeners. `this` in a listener function is the event's `currentTarget`: the underlying WebSocket for `message`, an internal EventTarget for the rest (never the TetherSocket). `stopImmediatePropagation()` does not skip the remaining listeners. */
  addEventListener<K extends keyof TetherSocketEventMap>(type: K, listener: (this: TetherSocketListenerThis<K>, event: TetherSocketEventMap[K]) => any, options?: boolean | TetherListenerOptions): void;
  addEventListener(type: string, listener: TetherListener, options?: boolean | TetherListenerOptions): void;
  removeEventListener<K extends keyof TetherSocketEventMap>(type: K, listener: (this: TetherSocketListenerThis<K>, event: TetherSocketEventMap[K]) => any, options?: boolean | { capture?: boolean | undefined }): void;
  removeEventListener(type: string, listener: TetherListener, options?: boolean | { capture?: boolean | undefined }): void;
  /** Closes the socket, cancels every timer, removes every listener and releases the wasm memory. Queued messages are reported as `drop` events with reason "disposed"; nothing else happens afterwards. May be called from inside any listener or callback. Afterwards every method and property throws an Error saying the socket was freed. Also `[Symbol.dispose]()`, where the lib has it. */
  free(): void;
}

export default TetherSocket;

/** Nothing to do: the wasm is compiled on the first construction. Kept so that code written for 0.1's `await init()` keeps working; any argument is ignored. Resolves to the wasm exports. */
export declare function init(input?: unknown): Promise<InitOutput>;

/** As `init()`, synchronously. */
export declare function initSync(module?: unknown): InitOutput;

// Only what is marked `export` above is exported.
export {};
