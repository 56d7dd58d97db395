#!/usr/bin/env node
// `npm run build:sdk`, and `prepare` (so `npm ci`, a git or folder install and `npm pack` run it): the client SDK
// as compiled JavaScript with declarations, in dist/ (git-ignored, never committed):
//   dist/client/index.js    `@volly/signaling/client` for Node and bundlers: one ES module of the SDK's own code,
//                           its packages left as imports (src/demo/client-bundle.ts, LIBRARY_BUILD; esbuild)
//   dist/types/**/*.d.ts    its declarations, entry dist/types/src/client/index.d.ts (tsc -p tsconfig.sdk.json)
//   dist/volly-client.js    the self-contained, minified browser module (`npm run build:client` writes the same)
// It is built into a staging directory and then moved into place (scripts/dist-install.mjs).
//
// Under `prepare` without TypeScript (a devDependency: `npm ci --omit=dev` of a checkout, which only runs the
// server) the JavaScript is still built and the declarations are skipped with a warning; `npm pack`/`npm publish`
// and a direct `npm run build:sdk` fail instead.
import { spawn } from "node:child_process";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { register } from "tsx/esm/api";
import { installBuild } from "./dist-install.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const DIST = join(ROOT, "dist");
/** The directories this script owns entirely (stale files in them are removed); plus dist/volly-client.js. */
const OWNED = ["client", "types"];
const started = performance.now();
const prepare = process.env.npm_lifecycle_event === "prepare";
const packing = ["pack", "publish"].includes(process.env.npm_command ?? "");

function tscPath() {
  try {
    return createRequire(import.meta.url).resolve("typescript/bin/tsc");
  } catch {
    return undefined;
  }
}

/** Runs tsc on tsconfig.sdk.json into `outDir`; rejects with its output on errors. */
function emitDeclarations(tsc, outDir) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [tsc, "-p", join(ROOT, "tsconfig.sdk.json"), "--outDir", outDir], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    child.on("error", reject);
    child.on("exit", (code, signal) =>
      code === 0 ? resolvePromise() : reject(new Error(`tsc -p tsconfig.sdk.json failed (${signal ?? `exit ${code}`}):\n${output}`)),
    );
  });
}

const tsc = tscPath();
if (tsc === undefined && (!prepare || packing)) {
  console.error("volly: build:sdk needs TypeScript (a devDependency) for the SDK's declarations: run npm ci first");
  process.exit(1);
}

const staging = join(DIST, `.build-sdk-${process.pid}`);
await rm(staging, { recursive: true, force: true });
await mkdir(join(staging, "client"), { recursive: true });
try {
  register();
  const { buildBrowserBundle, buildSdkLibrary, SDK_ENTRY } = await import("../src/demo/client-bundle.ts");
  const [library, browser] = await Promise.all([
    buildSdkLibrary(),
    buildBrowserBundle(SDK_ENTRY),
    tsc === undefined ? undefined : emitDeclarations(tsc, join(staging, "types")),
  ]);
  await writeFile(join(staging, "client", "index.js"), library);
  await writeFile(join(staging, "volly-client.js"), browser);

  const built = await installBuild(staging, DIST, OWNED);
  const declarations = built.filter((f) => f.endsWith(".d.ts")).length;
  const ms = Math.round(performance.now() - started);
  console.log(
    `volly: built the client SDK in ${ms} ms: dist/client/index.js (${(library.length / 1024).toFixed(1)} KiB), ` +
      `${declarations} declaration files in dist/types, dist/volly-client.js (${(browser.length / 1024).toFixed(1)} KiB)`,
  );
  if (tsc === undefined) {
    console.warn("WARNING: volly: TypeScript is not installed (npm ci --omit=dev?): the SDK's declarations (dist/types) were not built");
  }
} finally {
  await rm(staging, { recursive: true, force: true });
}
