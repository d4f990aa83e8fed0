// For the cases whose lib has no esnext.disposable: the package still compiles (a declared
// `[Symbol.dispose]` would be an error in its .d.ts), and adds no Symbol.dispose of its own.
import { TetherSocket } from "tether-ws";

export function noDispose(ws: TetherSocket): void {
  // @ts-expect-error: no Symbol.dispose in this lib
  ws[Symbol.dispose]();
  ws.free();
}
