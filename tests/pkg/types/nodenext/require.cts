// CommonJS consumers' own form, `import x = require(...)`: require("tether-ws") is the module
// object ({ TetherSocket, default, init, ... }), as index.cjs exports it.
import tether = require("tether-ws");
import slim = require("tether-ws/slim");

const ws: tether.TetherSocket = new tether.TetherSocket("ws://127.0.0.1:8791/echo", [], { startClosed: true });
const Default: typeof tether.TetherSocket = tether.default;
const options: slim.Options = { startClosed: true };
void slim.init(new Uint8Array(8)).then(() => new slim.TetherSocket("ws://127.0.0.1:8791/echo", [], options));
console.log(ws, Default);
// @ts-expect-error: the module object is not the class
new tether("ws://127.0.0.1:8791/echo");
