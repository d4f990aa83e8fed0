// The package's JS source checked against its hand-written declarations. TypeScript infers
// the types of src/js/*.js (allowJs; the build-time aliases are `paths` in tsconfig.json), and
// they must agree with src/js/index.d.ts and slim.d.ts: a member renamed, added or removed
// on either side, or a declared type the code does not have, is an error here. What TypeScript
// cannot see in the JS (members defined with Object.defineProperty, the options the code reads)
// types.test.mjs checks at run time.
//
// tsconfig.json: checkJs, so the JS is type-checked too, but not strict (the JS has no JSDoc
// types: strict mode would want one on every parameter); `paths` stand for the aliases
// scripts/build-pkg.sh gives esbuild, the glue and the wasm bytes being small declarations.

import * as js from "tether-ws-src"; // src/js/index.js (a plain import would find index.d.ts)
import * as jsSlimWasm from "../../../../src/js/wasm_slim.js"; // slim's init and initSync
import type * as dts from "../../../../src/js/index.js"; // src/js/index.d.ts
import type * as slimDts from "../../../../src/js/slim.js"; // src/js/slim.d.ts

/** T's public members (without #private names, which make a class type nominal). */
type Public<T> = { [K in keyof T]: T[K] };
/** The members the class defines in its static block, with Object.defineProperty. */
type Dynamic = "onopen" | "onmessage" | "onclose" | "onerror" | "CONNECTING" | "OPEN" | "CLOSING" | "CLOSED" | typeof Symbol.dispose;

// The same value exports (names), both ways.
export const jsExportsDeclared: Record<keyof typeof dts, unknown> = js;
export const declaredExportsInJs: Record<keyof typeof js, unknown> = {} as typeof dts;

// The class: the same member names, both ways.
type JsSocket = Public<InstanceType<typeof js.TetherSocket>>;
type DtsSocket = Omit<Public<dts.TetherSocket>, Dynamic>;
export const jsHasDeclared: Record<keyof DtsSocket, unknown> = {} as JsSocket;
export const declaredHasJs: Record<keyof JsSocket, unknown> = {} as DtsSocket;
// The declared types fit the code's: where the JS infers a type, the declaration must be
// assignable to it (the JS's parameters are `any`, and Core's results are untyped here).
export const declaredAsJs: JsSocket = {} as DtsSocket;
export const jsAsDeclared: DtsSocket = {} as JsSocket;
// The constructor, of the class and of the default export.
type DtsCtorArgs = ConstructorParameters<typeof dts.TetherSocket>;
export const jsClass: new (...args: DtsCtorArgs) => DtsSocket = js.TetherSocket;
export const jsDefault: new (...args: DtsCtorArgs) => DtsSocket = js.default;

// partysocket's event classes: the same fields, and the declared constructors accepted.
type Fields<T> = Omit<Public<T>, keyof Event>;
export const closeFields: Fields<dts.CloseEvent> = {} as Fields<InstanceType<typeof js.CloseEvent>>;
export const closeFieldsBack: Fields<InstanceType<typeof js.CloseEvent>> = {} as Fields<dts.CloseEvent>;
export const errorFields: Fields<dts.ErrorEvent> = {} as Fields<InstanceType<typeof js.ErrorEvent>>;
export const errorFieldsBack: Fields<InstanceType<typeof js.ErrorEvent>> = {} as Fields<dts.ErrorEvent>;
export const closeClass: new (...args: ConstructorParameters<typeof dts.CloseEvent>) => Event = js.CloseEvent;
export const errorClass: new (...args: ConstructorParameters<typeof dts.ErrorEvent>) => Event = js.ErrorEvent;

// init and initSync, of both entries.
export const init: typeof dts.init = js.init;
export const initSync: typeof dts.initSync = js.initSync;
export const slimInit: typeof slimDts.init = jsSlimWasm.init;
export const slimInitSync: typeof slimDts.initSync = jsSlimWasm.initSync;
