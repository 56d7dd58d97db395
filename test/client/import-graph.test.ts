import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { test } from "node:test";

// The SDK runs in browsers: its import graph (from src/client/index.ts) may reach only the generated protocol,
// the shared protocol/PQ code, the SDK itself, and browser-safe packages; never `node:*` or a server module.
const ALLOWED_DIRS = ["gen/", "src/protocol/", "src/client/"];
const ALLOWED_PACKAGES = ["@bufbuild/protobuf", "@connectrpc/connect", "jose", "mlkem"];
const SPECIFIER = /(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']|import\s*\(\s*["']([^"']+)["']\s*\)|import\s+["']([^"']+)["']/g;

function packageOf(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] as string);
}

function walk(entry: string): { files: string[]; problems: string[] } {
  const seen = new Set<string>();
  const problems: string[] = [];
  const queue = [resolve(entry)];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    const from = relative(".", file);
    for (const m of readFileSync(file, "utf8").matchAll(SPECIFIER)) {
      const specifier = (m[1] ?? m[2] ?? m[3]) as string;
      if (specifier.startsWith("node:")) problems.push(`${from} imports ${specifier}`);
      else if (specifier.startsWith(".")) {
        const target = resolve(dirname(file), specifier.replace(/\.js$/, ".ts"));
        const rel = relative(".", target);
        if (!ALLOWED_DIRS.some((d) => rel.startsWith(d))) problems.push(`${from} imports ${rel} (outside ${ALLOWED_DIRS.join(", ")})`);
        else if (!existsSync(target)) problems.push(`${from} imports ${rel}, which does not exist`);
        else queue.push(target);
      } else if (!ALLOWED_PACKAGES.includes(packageOf(specifier))) problems.push(`${from} imports package ${specifier}`);
    }
  }
  return { files: [...seen].map((f) => relative(".", f)).sort(), problems };
}

test("the client SDK imports no server module, no node:* module and only browser-safe packages", () => {
  const { files, problems } = walk("src/client/index.ts");
  assert.deepEqual(problems, []);
  assert.ok(files.includes("src/client/signaling-client.ts") && files.includes("src/protocol/signal-codec.ts"), "the walk follows imports");
  assert.ok(files.some((f) => f.startsWith("gen/")));
});

test("the import-graph check catches a forbidden import", () => {
  // Guard against a walker that silently finds nothing: the server entry must fail the same rules.
  const { problems } = walk("src/server.ts");
  assert.ok(problems.some((p) => p.includes("node:") || p.includes("outside")), problems.join("\n"));
});
