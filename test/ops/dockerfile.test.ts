// The Dockerfile without a Docker engine: its structure (multi-stage, production deps only, non-root,
// healthcheck, ports, entry point), that everything the image runs is installed by `npm ci --omit=dev`, that
// the files it copies exist, and that its HEALTHCHECK command really tells a healthy server from a dead one.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import { join, relative } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { startTestServer } from "../helpers/test-server.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const dockerfile = readFileSync(join(root, "Dockerfile"), "utf8");
const instructions = dockerfile
  .replace(/\\\n/g, " ")
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => l !== "" && !l.startsWith("#"));
const after = (keyword: string): string[] => instructions.filter((l) => l.startsWith(`${keyword} `)).map((l) => l.slice(keyword.length + 1).trim());

test("multi-stage: built on node:20-bookworm, runs on node:20-bookworm-slim, production dependencies only", () => {
  const froms = after("FROM");
  assert.ok(froms.length >= 2, "at least a deps stage and a runtime stage");
  // The deps stage needs a compiler for native/record-aead and pqclean; the runtime stage gets only the built files.
  assert.match(froms[0] ?? "", /^node:20-bookworm AS deps$/);
  assert.match(froms.at(-1) ?? "", /^node:20-bookworm-slim\b/);
  assert.ok(after("RUN").some((r) => /VOLLY_REQUIRE_NATIVE=1 npm ci --omit=dev\b/.test(r)), "npm ci --omit=dev, with the native addons required (record AEAD and pqclean's ML-KEM)");
  assert.ok(after("COPY").some((c) => /^--from=deps \/app\/node_modules /.test(c)), "node_modules copied from the deps stage");
  assert.ok(after("COPY").some((c) => /^--from=deps \/app\/native\/record-aead\/build\/Release\/record_aead\.node /.test(c)), "the built record addon copied from the deps stage");
  // No TypeScript loader in production: the deps stage compiles the server and the runtime stage gets dist/server.
  assert.ok(after("RUN").some((r) => /^node scripts\/build-server\.mjs$/.test(r)), "the server built in the deps stage");
  assert.ok(after("COPY").some((c) => /^--from=deps \/app\/dist\/server \.\/dist\/server$/.test(c)), "dist/server copied from the deps stage");
});

test("runs as a non-root user, NODE_ENV=production, exposes 7880 7881, health-checks /healthz, starts the bin", () => {
  const users = after("USER");
  assert.ok(users.length > 0, "a USER instruction");
  assert.ok(!["root", "0"].includes(users.at(-1) ?? ""), "the last USER is not root");
  const runtime = instructions.slice(instructions.findLastIndex((l) => l.startsWith("FROM ")));
  assert.ok(runtime.findIndex((l) => l.startsWith("USER ")) < runtime.findIndex((l) => l.startsWith("ENTRYPOINT ")), "USER before ENTRYPOINT");
  assert.match(after("ENV").join(" "), /NODE_ENV=production/);
  assert.deepEqual(after("EXPOSE"), ["7880 7881"]);
  assert.match(after("HEALTHCHECK")[0] ?? "", /\/healthz/);
  assert.deepEqual(JSON.parse(after("ENTRYPOINT")[0] ?? "[]"), ["node", "bin/volly-signaling.mjs"]);
  assert.deepEqual(JSON.parse(after("CMD")[0] ?? "[]"), ["start"]);
});

test("every COPY source exists and .dockerignore keeps node_modules, .git and .env out", () => {
  for (const c of after("COPY").filter((x) => !x.startsWith("--from"))) {
    const sources = c.split(/\s+/).slice(0, -1);
    for (const s of sources) assert.ok(existsSync(join(root, s)), `COPY source ${s}`);
  }
  const ignored = readFileSync(join(root, ".dockerignore"), "utf8").split("\n").map((l) => l.trim());
  for (const p of ["node_modules", ".git", ".env"]) assert.ok(ignored.includes(p), `.dockerignore lists ${p}`);
  for (const c of after("COPY").filter((x) => !x.startsWith("--from"))) {
    for (const s of c.split(/\s+/).slice(0, -1)) assert.ok(!ignored.includes(s), `${s} is copied, so it must not be ignored`);
  }
});

test("every package the image's code imports is a runtime dependency (npm ci --omit=dev installs it)", () => {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { dependencies: Record<string, string> };
  const builtins = new Set(builtinModules);
  // The image's build step (scripts/build-server.mjs) runs after npm ci --omit=dev too.
  const files = ["src", "gen", "bin", "scripts/build-server.mjs", "scripts/dist-install.mjs"]
    .flatMap((d) => walk(join(root, d)))
    .filter((f) => /\.(ts|mts|mjs|js)$/.test(f) && !f.endsWith(".d.ts"));
  const missing = new Set<string>();
  const found = new Set<string>();
  for (const file of files) {
    const text = readFileSync(file, "utf8");
    // Static imports, re-exports and dynamic imports, but not `import type` (erased at run time).
    for (const m of text.matchAll(/(?:^|\n)\s*(?:import(?!\s+type\b)[^"';]*?from\s*|export\s[^"';]*?from\s*|import\s*\(\s*|import\s+)["']([^"']+)["']/g)) {
      const spec = m[1] ?? "";
      if (spec.startsWith(".") || spec.startsWith("node:") || builtins.has(spec)) continue;
      const name = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : (spec.split("/")[0] ?? spec);
      found.add(name);
      if (!(name in pkg.dependencies)) missing.add(`${name} (${relative(root, file)})`);
    }
  }
  for (const expected of ["esbuild", "pino", "prom-client", "@connectrpc/connect-node"]) assert.ok(found.has(expected), `the scan sees ${expected}`);
  assert.deepEqual([...missing], []);
});

test("the HEALTHCHECK command exits 0 against a healthy server and 1 when nothing answers", async () => {
  const match = /HEALTHCHECK .*?CMD (\[.*\])\s*$/m.exec(dockerfile.replace(/\\\n\s*/g, " "));
  const argv = JSON.parse(match?.[1] ?? "[]") as string[];
  assert.equal(argv[0], "node");
  const server = await startTestServer();
  try {
    // Asynchronous: the server runs in this process and must keep answering while the probe runs.
    const probe = (apiPort: number): Promise<number | null> =>
      new Promise((resolve) => {
        const child = spawn(process.execPath, argv.slice(1), { env: { VOLLY_API_PORT: String(apiPort) }, stdio: "ignore", timeout: 10_000 });
        child.on("close", (code) => resolve(code));
      });
    assert.equal(await probe(server.apiPort), 0);
    assert.equal(await probe(1), 1);
  } finally {
    await server.close();
  }
});

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  if (!statSync(dir).isDirectory()) return [dir];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}
