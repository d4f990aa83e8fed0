import type { Provider, TetherSocket, TetherSocketEventMap, TetherSocketOptions } from "tether-ws";

/** Event handlers: each is read when its event fires, so a new function every render changes nothing else. */
export interface TetherSocketHandlers {
  onOpen?: ((event: TetherSocketEventMap["open"]) => void) | undefined;
  onMessage?: ((event: TetherSocketEventMap["message"]) => void) | undefined;
  onClose?: ((event: TetherSocketEventMap["close"]) => void) | undefined;
  onError?: ((event: TetherSocketEventMap["error"]) => void) | undefined;
  onReconnecting?: ((event: TetherSocketEventMap["reconnecting"]) => void) | undefined;
  onStateChange?: ((event: TetherSocketEventMap["statechange"]) => void) | undefined;
  onDrop?: ((event: TetherSocketEventMap["drop"]) => void) | undefined;
  onRequeue?: ((event: TetherSocketEventMap["requeue"]) => void) | undefined;
}

/**
 * The socket's options (minus `startClosed`: the hook opens and closes it), its handlers and
 * `enabled`. A change of a non-function option's value makes a new socket; functions
 * (handlers, `shouldReconnect`, `heartbeat.isPong`...) are always called in their latest
 * version and never make one. The `WebSocket` class is the one given first.
 */
export interface UseTetherSocketOptions extends Omit<TetherSocketOptions, "startClosed">, TetherSocketHandlers {
  /** Whether the socket should be connected (default true). false closes it; true again reconnects the same socket. */
  enabled?: boolean | undefined;
}

/**
 * A TetherSocket owned by the component: created closed during render (nothing connects
 * during render or on the server), opened after mount while `enabled`, closed on unmount.
 * One connection under StrictMode and Fast Refresh, the same instance across their double
 * effects. `url` or `protocols` changing by value closes this socket and returns a new one.
 * The hook never calls `free()`: a closed socket's memory is released when it is
 * garbage-collected.
 */
export function useTetherSocket(
  url: Provider<string>,
  protocols?: Provider<string | string[]> | null,
  options?: UseTetherSocketOptions,
): TetherSocket;
