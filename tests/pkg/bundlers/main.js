// The page of every default-entry fixture (copied to <fixture>/src/main.js by
// bundlers.test.mjs): the default entry in both import forms, with no init() and no bundler
// configuration.
import TetherSocket from "tether-ws";
import { TetherSocket as Named } from "tether-ws";
import { scenario } from "../scenario.mjs";

const params = new URLSearchParams(location.search);
Promise.resolve()
  .then(() => {
    if (typeof TetherSocket !== "function" || TetherSocket !== Named) {
      throw new Error("the default export is not the TetherSocket class");
    }
    return scenario(TetherSocket, { ws: params.get("ws"), key: params.get("key") });
  })
  .then((r) => { window.result = r; }, (e) => { window.failure = String((e && e.stack) || e); });
