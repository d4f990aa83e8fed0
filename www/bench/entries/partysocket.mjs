// esbuild entry: partysocket 1.x's generic ReconnectingWebSocket (partysocket/ws) as a
// standalone ES module (www/bench/dist/partysocket.js).
export { default } from "partysocket/ws";
