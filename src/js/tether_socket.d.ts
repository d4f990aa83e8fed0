/** A value, or a function called before every connection attempt returning it or a Promise of it. */
export type Provider<T> = T | (() => T | Promise<T>);

/** What `send()` accepts, as `WebSocket.send` does. */
export type TetherData = string | ArrayBufferLike | ArrayBufferView | Blob;

/** Keep-alive: `message` is sent every `intervalMs` while open; without a reply within `timeoutMs` the connection is treated as dead and replaced. */
export interface HeartbeatOptions {
  /** Time between heartbeats, ms (default 30000). */
  intervalMs?: number;
  /** Time allowed for a reply after a heartbeat, ms (default 10000). */
  timeoutMs?: number;
  /** What to send (default "ping"). */
  message?: TetherData;
  /** Which messages count as a reply (default: every message). */
  isPong?: (data: any) => boolean;
}

/** Options; names shared with reconnecting-websocket keep their meaning. */
export interface TetherSocketOptions {
  /** Longest delay between attempts, ms (default 10000). */
  maxReconnectionDelay?: number;
  /** Delay before the first retry, ms (default 1000). */
  minReconnectionDelay?: number;
  /** Growth of the delay per failed attempt (default 1.3). */
  reconnectionDelayGrowFactor?: number;
  /** How long a connection must stay open before the retry count resets, ms (default 5000). */
  minUptime?: number;
  /** An attempt that does not open in this many ms fails (default 4000). */
  connectionTimeout?: number;
  /** Retries in a row before giving up (default Infinity). */
  maxRetries?: number;
  /** Most messages queued while not open (default Infinity). */
  maxEnqueuedMessages?: number;
  /** Do not connect until `reconnect()` is called (default false). */
  startClosed?: boolean;
  /** Log state changes to the console, with URL query strings redacted (default false). */
  debug?: boolean;
  /** Fraction of each delay that is randomised, 0..1 (default 0.5). */
  jitter?: number;
  /** Most bytes queued while not open, text counted as UTF-8 (default Infinity). */
  maxEnqueuedBytes?: number;
  /** What happens when a send does not fit in the outbox (default "drop-oldest"). */
  overflow?: "drop-oldest" | "drop-newest" | "reject";
  /** Largest message accepted from the server, bytes, text counted as UTF-8 (default Infinity). A larger one is not delivered: an `error` event, then the connection is closed (code 4000 on the wire, which is all a page may send) and reported as a `close` event with code 1009, and retried like any lost connection. */
  maxMessageBytes?: number;
  /** Keep-alive, off by default. */
  heartbeat?: HeartbeatOptions;
  /** Whether to reconnect after a close we did not ask for (default: always). */
  shouldReconnect?: (event: CloseEvent) => boolean;
  /** Retry at once, with backoff reset, when the browser comes back online (default true). */
  reconnectOnOnline?: boolean;
  /** Defer retries while the page is hidden (default false). */
  pauseWhenHidden?: boolean;
  /** How binary messages are delivered (default "blob"). */
  binaryType?: BinaryType;
}

/** The public states. */
export type TetherState = "connecting" | "open" | "closing" | "reconnecting" | "closed";

/** Fired when a retry is scheduled. */
export interface ReconnectingEvent extends Event {
  readonly type: "reconnecting";
  /** 1 for the first retry after a drop. */
  readonly attempt: number;
  /** Wait before the attempt, jitter included, ms. */
  readonly delayMs: number;
  /** What ended the previous connection. */
  readonly reason: "closed" | "connection-timeout" | "heartbeat-timeout" | "message-too-big";
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
  /** "overflow": the outbox limits; "disposed": `free()` with the message still queued; "replaced": a newer message with the same key took its place. */
  readonly reason: "overflow" | "disposed" | "replaced";
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
  /** The browser's own MessageEvent: its `target` and `currentTarget` are the underlying WebSocket. */
  message: MessageEvent;
  close: CloseEvent;
  error: Event;
  reconnecting: ReconnectingEvent;
  statechange: StateChangeEvent;
  drop: DropEvent;
  requeue: RequeueEvent;
}

/** `this` in a listener function: the event's `currentTarget`. */
export type TetherSocketListenerThis<K> = K extends "message" ? WebSocket : EventTarget;

/** A WebSocket that reconnects with backoff and jitter, queues messages while disconnected, and can watch the connection with heartbeats. Call `free()` when done with it. */
export class TetherSocket {
  /**
   * @param url a ws:, wss:, http: or https: URL (relative URLs resolve against the page), or a provider of one.
   * @param protocols subprotocols to offer, or a provider of them.
   * @throws Error naming the problem, for a bad URL, bad protocols or a bad option.
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
  /** The URL of the latest attempt. */
  readonly url: string;
  /** The subprotocol the server selected ("" when none or not open). */
  readonly protocol: string;
  /** The extensions the server selected. */
  readonly extensions: string;
  /** 0 connecting (also while waiting to retry), 1 open, 2 closing, 3 closed. */
  readonly readyState: 0 | 1 | 2 | 3;
  /** Bytes not yet sent: the socket's buffer plus the outbox. */
  readonly bufferedAmount: number;
  /** How binary messages are delivered. */
  binaryType: BinaryType;
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
  onerror: ((event: Event) => void) | null;
  /**
   * Sends now if open, else queues (flushed in order on the next open, before `open` listeners run).
   * @param options.key a replace key: if the message has to be queued, it takes the place of the queued message sent with the same key (reported as a `drop` with reason "replaced"). For state where only the latest value matters, such as a cursor position.
   * @returns true if written to the socket, false if queued or dropped.
   * @throws Error for an unsupported type, or a full outbox under `overflow: "reject"`.
   */
  send(data: TetherData, options?: { key?: string }): boolean;
  /** Closes for good: no reconnect until `reconnect()`. @throws Error for a code other than 1000 or 3000-4999, or a reason over 123 UTF-8 bytes. */
  close(code?: number, reason?: string): void;
  /** Closes the current connection, if any, and connects again at once with backoff reset. */
  reconnect(code?: number, reason?: string): void;
  /** As `EventTarget.addEventListener`. The `on*` handler of a type runs before its listeners. `this` in a listener function is the event's `currentTarget`: the underlying WebSocket for `message`, an internal EventTarget for the rest (never the TetherSocket). `stopImmediatePropagation()` does not skip the remaining listeners. */
  addEventListener<K extends keyof TetherSocketEventMap>(type: K, listener: (this: TetherSocketListenerThis<K>, event: TetherSocketEventMap[K]) => any, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof TetherSocketEventMap>(type: K, listener: (this: TetherSocketListenerThis<K>, event: TetherSocketEventMap[K]) => any, options?: boolean | EventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | EventListenerOptions): void;
  /** Closes the socket, cancels every timer, removes every listener and releases the wasm memory. Queued messages are reported as `drop` events with reason "disposed"; nothing else happens afterwards. May be called from inside any listener or callback. Afterwards every method and property throws an Error saying the socket was freed. */
  free(): void;
  [Symbol.dispose](): void;
}
