// For the case whose lib has esnext.disposable: `using` frees the socket at the end of the block.
import { TetherSocket } from "tether-ws";

export function scoped(): Disposable {
  using ws = new TetherSocket("ws://127.0.0.1:8791/echo", [], { startClosed: true });
  ws.send("queued");
  ws[Symbol.dispose]();
  return ws;
}
