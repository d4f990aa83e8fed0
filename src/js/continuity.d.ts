// The declarations of "tether-ws/continuity" (copied by scripts/build-pkg.sh to
// pkg/continuity.d.ts and, with "./index.js" made "./index.cjs", to pkg/continuity.d.cts):
// the same class and types as "tether-ws", whose `continuity` option works here (the default
// entry refuses it: see PROTOCOL.md and README's "Continuity").

export * from "./index.js";
export { default } from "./index.js";
