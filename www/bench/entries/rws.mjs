// esbuild entry: reconnecting-websocket 4.4 as a standalone ES module (www/bench/dist/rws.js).
export { default } from "reconnecting-websocket";
