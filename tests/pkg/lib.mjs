// Shared helpers of the packaging suite (tests/pkg/*.test.mjs): the packed tarball, fixture
// installs, bounded child processes and the test server's URLs.
//
// The suite runs on what `npm pack` makes of pkg/ (built by scripts/build-pkg.sh), installed
// into small fixture apps, each with its own package.json and committed package-lock.json.
// A fixture's own dependencies come from `npm ci`; tether-ws is then unpacked from the
// tarball into its node_modules (what npm does for a package with no dependencies, without
// lock-file churn from a tarball whose hash changes with every build).

import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, copyFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createHash } from "node:crypto";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const PKG_TESTS = join(ROOT, "tests", "pkg");
const port = (name, dflt) => Number(process.env[name] || dflt);
export const HTTP = `http://127.0.0.1:${port("TETHER_HTTP_PORT", 8790)}`;
export const WS = `ws://127.0.0.1:${port("TETHER_WS_PORT", 8791)}`;
export const CHROMIUM = process.env.TETHER_CHROMIUM || "/usr/bin/chromium";
const WORK = join(ROOT, "target", "pkg-tests");

let keyCounter = 0;
/** A test-server stats key unique to this run. */
export function uniqueKey(name) {
  keyCounter += 1;
  return `pkg-${name}-${process.pid}-${Date.now().toString(36)}-${keyCounter}`;
}

/**
 * Runs a command (no shell), bounded by `timeoutMs`; resolves to { code, stdout, stderr }.
 * Rejects only if it cannot start. The whole process group is killed at the timeout.
 */
export function run(cmd, args, { cwd = ROOT, env = {}, timeoutMs = 120000, input } = {}) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, detached: true, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "", stderr = "", timedOut = false;
    child.stdout.on("data", (d) => { stdout += d; });
    child.stderr.on("data", (d) => { stderr += d; });
    const timer = setTimeout(() => {
      timedOut = true;
      try { process.kill(-child.pid, "SIGKILL"); } catch { /* gone */ }
    }, timeoutMs);
    child.on("error", (e) => { clearTimeout(timer); reject(e); });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (timedOut) stderr += `\n[run] killed after ${timeoutMs} ms`;
      resolvePromise({ code: timedOut ? -1 : code ?? (signal ? -1 : 0), stdout, stderr });
    });
    child.stdin.on("error", () => {}); // EPIPE when the child exits without reading its input
    child.stdin.end(input ?? "");
  });
}

/** Like `run`, but throws (with the output) unless the exit code is 0. */
export async function runOk(cmd, args, opts = {}) {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} (in ${opts.cwd ?? ROOT}) exited ${r.code}\n--- stdout\n${r.stdout.slice(-4000)}\n--- stderr\n${r.stderr.slice(-4000)}`);
  }
  return r;
}

let tarball;
/**
 * The package as npm would publish it: `npm pack` of pkg/, once per process (into
 * target/pkg-tests/). TETHER_PKG_TGZ names a tarball to use instead.
 */
export function packedTarball() {
  if (tarball) return tarball;
  if (process.env.TETHER_PKG_TGZ) return (tarball = process.env.TETHER_PKG_TGZ);
  const pkgDir = join(ROOT, "pkg");
  if (!existsSync(join(pkgDir, "package.json"))) throw new Error("pkg/ is not built: run bash scripts/build-pkg.sh");
  mkdirSync(WORK, { recursive: true });
  const r = spawnSync("npm", ["pack", "--silent", "--pack-destination", WORK], { cwd: pkgDir, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`npm pack failed: ${r.stderr}`);
  const name = r.stdout.trim().split("\n").pop();
  return (tarball = join(WORK, name));
}

/**
 * Installs fixture `dir`: `npm ci` from its committed lock (skipped when node_modules was
 * installed from the same lock), then the packed tether-ws unpacked into
 * node_modules/tether-ws. Returns `dir`.
 */
export async function installFixture(dir) {
  const lock = join(dir, "package-lock.json");
  if (!existsSync(lock)) throw new Error(`${dir} has no package-lock.json`);
  const sum = createHash("sha256").update(readFileSync(lock)).digest("hex");
  const stamp = join(dir, "node_modules", ".tether-lock.sha256");
  if (!existsSync(stamp) || readFileSync(stamp, "utf8") !== sum) {
    await runOk("npm", ["ci", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: dir, timeoutMs: 600000 });
    mkdirSync(dirname(stamp), { recursive: true }); // npm ci makes no node_modules for a fixture with no dependencies
    writeFileSync(stamp, sum);
  }
  const target = join(dir, "node_modules", "tether-ws");
  rmSync(target, { recursive: true, force: true });
  mkdirSync(target, { recursive: true });
  await runOk("tar", ["-xzf", packedTarball(), "-C", target, "--strip-components=1"]);
  return dir;
}

/** Copies tests/pkg/scenario.mjs into `dir` (fixtures import it as ./scenario.mjs). */
export function copyScenario(dir) {
  copyFileSync(join(PKG_TESTS, "scenario.mjs"), join(dir, "scenario.mjs"));
}

/** The test server's statistics for `key` (connections, messages, closes...). */
export async function serverStats(key) {
  const res = await fetch(`${HTTP}/stats?key=${encodeURIComponent(key)}`);
  return res.json();
}

export { readdirSync };
