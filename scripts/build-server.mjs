#!/usr/bin/env node
// `npm run build:server`, and before `npm start` (prestart), `npm test` and in `prepare`: the server as compiled
// JavaScript in dist/server/ (git-ignored, never committed), so production runs no TypeScript loader:
//   dist/server/main.js     what `npm start` runs (src/main.ts)
//   dist/server/cli.js      what bin/volly-signaling.mjs and the image run (src/cli/main.ts: start, token, keys)
//   dist/server/chunks/     the code both share
// esbuild bundles the project's own modules (src/, gen/) and leaves every package an import, resolved from
// node_modules at run time. Files the server reads at run time (the native record addon, the demo page and the SDK
// sources it bundles) are found from the package root (src/package-root.ts), so dist/ and src/ behave alike.
// It takes a few hundred milliseconds, so `npm start` rebuilds every time and never runs code older than src/.
import { build } from "esbuild";
import { mkdir, rm } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { installBuild } from "./dist-install.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const DIST = join(ROOT, "dist");
const started = performance.now();

const staging = join(DIST, `.build-server-${process.pid}`);
await rm(staging, { recursive: true, force: true });
await mkdir(join(staging, "server"), { recursive: true });
try {
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: { main: "src/main.ts", cli: "src/cli/main.ts" },
    outdir: join(staging, "server"),
    bundle: true,
    splitting: true,
    chunkNames: "chunks/[name]-[hash]",
    format: "esm",
    platform: "node",
    target: "node20",
    packages: "external",
    // Stack traces map back to src/ under `node --enable-source-maps`.
    sourcemap: "linked",
    legalComments: "none",
    logLevel: "warning",
    metafile: true,
  });
  const built = await installBuild(staging, DIST, ["server"]);
  const bytes = Object.values(result.metafile.outputs).reduce((sum, o) => sum + o.bytes, 0);
  const ms = Math.round(performance.now() - started);
  console.log(`volly: built the server in ${ms} ms: ${built.filter((f) => f.endsWith(".js")).length} files in dist/server (${(bytes / 1024).toFixed(1)} KiB with source maps)`);
} catch (e) {
  // esbuild has printed the errors with their source lines.
  console.error(`volly: build:server failed${e instanceof Error && !("errors" in e) ? `: ${e.message}` : ""}`);
  process.exitCode = 1;
} finally {
  await rm(staging, { recursive: true, force: true });
}
