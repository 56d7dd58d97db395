#!/usr/bin/env node
// Runs every test file (test/**/*.test.ts) with Node's test runner through tsx. Files run in parallel
// processes; each file starts its own servers on free loopback ports. Extra arguments select files by
// substring: `npm test -- relay pq/`. It first builds the compiled server (dist/server, which the tests that start
// server processes run as `npm start` does) and the client SDK (dist/client and dist/volly-client.js, which the
// README's snippets and the packed-package test import as an app does), so no subset runs code older than src/.
import { spawn, spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return find(path);
    return name.endsWith(".test.ts") ? [path] : [];
  });
}

const filters = process.argv.slice(2);
const files = find("test")
  .map((f) => relative(".", f))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(" ")}`);
  process.exit(1);
}
for (const script of ["scripts/build-server.mjs", "scripts/build-sdk.mjs"]) {
  const built = spawnSync(process.execPath, [script], { stdio: "inherit" });
  if (built.status !== 0) process.exit(built.status ?? 1);
}
const concurrency = process.env.TEST_CONCURRENCY ?? "2";
const child = spawn(
  process.execPath,
  ["--import", "tsx", "--test", `--test-concurrency=${concurrency}`, "--test-timeout=600000", "--test-force-exit", ...files],
  { stdio: "inherit" },
);
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
