// The package's TypeScript declarations, on the packed tarball installed into the fixture
// tests/pkg/types (TypeScript 5.9, @types/ws, @types/node 20; tether-ws unpacked into its
// node_modules):
// - the matrix: each folder of tests/pkg/types is a consumer project compiled with tsc
//   (strict, exactOptionalPropertyTypes, skipLibCheck false). The shared consumer files
//   (consumer.ts, no-disposable.ts, disposable.ts) are copied into each under the extension its
//   tsconfig names, so the same code is checked as .ts, .mts and .cts. bundler and disposable
//   also check TypeScript's own lib files, as a consumer's skipLibCheck false does; the others
//   skip those (skipDefaultLibCheck: nothing of ours is in them; it halves their time);
// - checkjs/: the JS source type-checked and compared with the declarations;
// - the value exports the declarations name equal those of the built JS, per entry and format;
// - what TypeScript cannot infer from the JS: the class's members and the options it reads.
//
//   node --test tests/pkg/types.test.mjs

import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, existsSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, extname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { installFixture, PKG_TESTS, ROOT, run } from "./lib.mjs";

const DIR = join(PKG_TESTS, "types");
const INSTALLED = join(DIR, "node_modules", "tether-ws");
const require = createRequire(import.meta.url);

// The consumer projects, the slowest first (two run at a time).
const CASES = [
  "node", // a Node project: @types/node, no dom lib; the WebSocket option with ws's and undici's classes
  "nodenext", // .mts, .cts and `import = require`
  "disposable", // bundler, lib with esnext.disposable: `using`
  "bundler", // bundler, lib without esnext.disposable
  "node16", // .mts, .cts and `import = require`
  "node10", // no exports map: main/types and the files at the package's root
  "checkjs", // the JS source against the declarations
];
// The shared files copied into them.
const SHARED = ["consumer", "no-disposable", "disposable"];

let ts; // the fixture's typescript
before(async () => {
  await installFixture(DIR);
  ts = require(join(DIR, "node_modules", "typescript"));
});

test("every folder of tests/pkg/types is in the matrix", () => {
  const dirs = readdirSync(DIR, { withFileTypes: true }).filter((d) => d.isDirectory() && existsSync(join(DIR, d.name, "tsconfig.json")));
  assert.deepEqual(dirs.map((d) => d.name).sort(), [...CASES].sort());
});

test("src/js declares the entries only (a .d.ts next to a module would hide its JS from checkjs)", () => {
  const dts = readdirSync(join(ROOT, "src", "js")).filter((f) => f.endsWith(".d.ts"));
  // (continuity.d.ts declares the entry built from index.js with the protocol.)
  const entries = ["index.d.ts", "slim.d.ts", "react.d.ts", "continuity.d.ts"];
  assert.deepEqual(dts.filter((f) => !entries.includes(f)), []);
});

describe("TypeScript matrix (tsc on each consumer project)", { concurrency: 2 }, () => {
  for (const name of CASES) {
    test(name, async () => {
      const dir = join(DIR, name);
      for (const file of JSON.parse(readFileSync(join(dir, "tsconfig.json"), "utf8")).files) {
        const stem = basename(file, extname(file));
        if (SHARED.includes(stem)) copyFileSync(join(DIR, `${stem}.ts`), join(dir, file));
      }
      const r = await run(process.execPath, [join(DIR, "node_modules", "typescript", "bin", "tsc"), "-p", dir, "--pretty", "false"], { cwd: dir });
      assert.equal(r.code, 0, `tsc -p tests/pkg/types/${name} failed:\n${r.stdout}${r.stderr}`);
    });
  }
});

/** A declaration file's program (declarations only: no lib, nothing checked). */
function declarations(files) {
  const program = ts.createProgram(files, {
    noLib: true,
    types: [],
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    noEmit: true,
  });
  return { program, checker: program.getTypeChecker() };
}

/** The names of the values (not types) module `file` exports. */
function declaredValues({ program, checker }, file) {
  const module = checker.getSymbolAtLocation(program.getSourceFile(file));
  assert.ok(module, `${file} is not a module`);
  const typeOnly = (s) => (s.declarations ?? []).some((d) => ts.isExportSpecifier(d) && (d.isTypeOnly || d.parent.parent.isTypeOnly));
  return checker
    .getExportsOfModule(module)
    .filter((s) => {
      const target = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
      return target.flags & ts.SymbolFlags.Value && !typeOnly(s);
    })
    .map((s) => s.name)
    .sort();
}

// Each entry's JS in each format, and the declaration that describes it.
const ENTRIES = [
  ["index.js", "index.d.ts"],
  ["index.cjs", "index.d.cts"],
  ["slim.js", "slim.d.ts"],
  ["slim.cjs", "slim.d.cts"],
];

test("the declarations name exactly the values the built JS exports", async () => {
  const decl = declarations(ENTRIES.map(([, d]) => join(INSTALLED, d)));
  for (const [jsFile, dtsFile] of ENTRIES) {
    const path = join(INSTALLED, jsFile);
    const mod = jsFile.endsWith(".cjs") ? require(path) : await import(pathToFileURL(path).href);
    const runtime = Object.keys(mod).sort();
    assert.deepEqual(declaredValues(decl, join(INSTALLED, dtsFile)), runtime, `${dtsFile} declares other values than ${jsFile} exports (${runtime.join(", ")})`);
  }
});

/** The members (names) of class `name` in `file`, by kind, and the property names of `interfaces`. */
function declaredShape({ program }, file, name, interfaces) {
  const shape = { instance: [], statics: [] };
  for (const node of program.getSourceFile(file).statements) {
    const key = node.name?.text;
    if (ts.isClassDeclaration(node) && key === name) {
      for (const m of node.members) {
        if (!m.name || !ts.isIdentifier(m.name)) continue; // (the constructor; [Symbol.dispose] is checked apart)
        const isStatic = ts.getCombinedModifierFlags(m) & ts.ModifierFlags.Static;
        (isStatic ? shape.statics : shape.instance).push(m.name.text); // (overloads repeat a name)
      }
    } else if (ts.isInterfaceDeclaration(node) && key in interfaces) {
      shape[key] = node.members.map((m) => m.name.text);
    }
  }
  return shape;
}

/** `target`, recording the names read from it (with `prefix`) into `seen`; objects inside are recorded too. */
function recorder(target, seen, prefix = "") {
  return new Proxy(target, {
    get(t, key) {
      if (typeof key !== "string") return t[key];
      seen.add(prefix + key);
      const v = t[key];
      return v && typeof v === "object" ? recorder(v, seen, `${prefix}${key}.`) : v;
    },
  });
}

test("the class's members and the options it reads are the declared ones", async () => {
  const file = join(INSTALLED, "index.d.ts");
  const shape = declaredShape(declarations([file]), file, "TetherSocket", { TetherSocketOptions: 1, HeartbeatOptions: 1 });
  const { TetherSocket } = await import(pathToFileURL(join(INSTALLED, "index.js")).href);
  const own = (o, skip) => Object.getOwnPropertyNames(o).filter((n) => !skip.includes(n)).sort();
  // Members, whether written as methods and accessors or defined by the class at run time.
  assert.deepEqual(own(TetherSocket.prototype, ["constructor"]), [...new Set(shape.instance)].sort(), "TetherSocket.prototype");
  assert.deepEqual(own(TetherSocket, ["length", "name", "prototype"]), [...new Set(shape.statics)].sort(), "TetherSocket's statics");
  assert.equal(TetherSocket.prototype[Symbol.dispose], TetherSocket.prototype.free, "[Symbol.dispose] is free");

  // Every option the constructor reads, heartbeat's included, is declared, and every declared
  // one is read (a fake WebSocket class, as none is global in Node 20; nothing connects).
  const seen = new Set();
  const options = recorder({ startClosed: true, WebSocket: class { static CLOSING = 2; }, heartbeat: {} }, seen);
  new TetherSocket("ws://127.0.0.1:9/", [], options).free();
  const declared = [...shape.TetherSocketOptions, ...shape.HeartbeatOptions.map((n) => `heartbeat.${n}`)];
  assert.deepEqual([...seen].sort(), declared.sort(), "the options read by new TetherSocket()");
});
