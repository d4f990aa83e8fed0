// Every reconnect() and close() call made on any TetherSocket, by the hook or anyone.
import { TetherSocket } from "tether-ws";

export const calls = [];

for (const method of ["reconnect", "close"]) {
  const original = TetherSocket.prototype[method];
  TetherSocket.prototype[method] = function (...args) {
    calls.push(method);
    return original.apply(this, args);
  };
}
