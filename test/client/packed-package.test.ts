import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { freePorts } from "../helpers/redis.js";
import { nextEvent, nodeClient } from "../helpers/werift-sdk.js";

// The package as an app gets it: `npm pack` of this checkout (which runs `prepare`, so scripts/build-sdk.mjs builds
// dist/), unpacked into node_modules/@volly/signaling of a fresh project outside the repository, its dependencies
// symlinked from this checkout's node_modules (what `npm install <tgz>` would put there, without the registry; a
// bare import the package does not declare fails to resolve). Then a plain `node app.mjs` (no tsx, no TypeScript
// loader) joins a room on a test server over the post-quantum channel with `ws`, and `tsc` type-checks a strict
// Node app (nodenext, lib ES2023 without DOM) against the shipped declarations.
// Nothing here reaches the npm registry: tests stay on loopback.

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const TSC = join(ROOT, "node_modules", "typescript", "bin", "tsc");
const ROOM = "packed-package";
const DEV_KEY = "volly-dev-key";
const DEV_SECRET = "volly-dev-secret-key-2024";

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion (its whole process group is killed after `timeoutMs`). */
function run(command: string, args: string[], cwd: string, timeoutMs: number, env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
      reject(new Error(`${command} ${args.join(" ")} did not finish in ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/** The environment of the app: no NODE_OPTIONS (no loader can sneak in), nothing of this test's process. */
function appEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, ...extra };
}

// The app, as the docs show it for Node: `ws` injected, nothing else. It first proves that no TypeScript loader is
// present (importing a .ts file fails as it does in plain Node), then prints what it joined and disconnects; the
// process must then exit by itself.
const APP_MJS = `
import WebSocket from "ws";
import { ConnectError, generateVollyAccessToken, VollySignalingClient } from "@volly/signaling/client";
import { ConnectError as ConnectErrorOfConnect } from "@connectrpc/connect";

let typeScriptRefused = false;
try {
  await import("./probe.ts");
} catch (e) {
  typeScriptRefused = e.code === "ERR_UNKNOWN_FILE_EXTENSION";
}
const token = await generateVollyAccessToken(${JSON.stringify(DEV_KEY)}, ${JSON.stringify(DEV_SECRET)}, { room: ${JSON.stringify(ROOM)}, identity: "plain-node-app" });
const client = new VollySignalingClient({ url: process.env.VOLLY_URL, token, webSocket: WebSocket });
const join = await client.connect();
const session = client.getPostQuantumSession();
console.log(JSON.stringify({
  resolved: import.meta.resolve("@volly/signaling/client"),
  execArgv: process.execArgv,
  typeScriptRefused,
  sameConnectError: ConnectError === ConnectErrorOfConnect,
  room: join.room.name,
  identity: join.participant.identity,
  others: join.participants.map((p) => p.identity),
  algorithm: session.algorithm,
  sessionId: session.sessionId,
}));
await client.disconnect();
`;

// A strict Node app in TypeScript: the documented calls, typed through the shipped .d.ts only.
const APP_TS = `
import WebSocket from "ws";
import {
  Code,
  ConnectError,
  errorReasonOf,
  generatePqKeyPair,
  generateVollyAccessToken,
  VollyMessagingClient,
  VollySignalingClient,
  type VollyCall,
  type VollyJoinInfo,
  type VollyParticipant,
  type VollySignalingClientOptions,
} from "@volly/signaling/client";

const token: string = await generateVollyAccessToken("key", "secret", { room: "r", identity: "ts-app", ttl: "1h" });
const keys = await generatePqKeyPair("ML-KEM-768");
const options: VollySignalingClientOptions = { url: "ws://127.0.0.1:7880", token, webSocket: WebSocket };
const client = new VollySignalingClient(options);
client.on("participantJoined", (p: VollyParticipant) => console.log(p.identity));
client.on("incomingCall", (call: VollyCall) => void call.reject());
client.on("disconnected", (info) => console.log(info.reason));
const messaging = new VollyMessagingClient({ postQuantumSession: client.getPostQuantumSession() });
messaging.on("message", (m) => console.log(m.from, m.body));
try {
  const join: VollyJoinInfo = await client.connect();
  const key: Uint8Array = await client.getPostQuantumSession().exportKey("app", 32);
  console.log(join.room.name, join.participants.length, key.length, keys.publicKeyBase64.length);
} catch (e) {
  if (e instanceof ConnectError && e.code === Code.Unauthenticated) console.log(errorReasonOf(e));
}
`;

// tsc on the app: strict plus the flags that broke on the SDK's sources (exactOptionalPropertyTypes,
// noPropertyAccessFromIndexSignature), a Node-only lib, and skipLibCheck off (every .d.ts is checked).
const TSCONFIG = {
  compilerOptions: {
    target: "ES2022",
    module: "NodeNext",
    moduleResolution: "NodeNext",
    lib: ["ES2023"],
    types: ["node"],
    strict: true,
    exactOptionalPropertyTypes: true,
    noPropertyAccessFromIndexSignature: true,
    noUncheckedIndexedAccess: true,
    skipLibCheck: false,
    noEmit: true,
  },
  files: ["app.ts"],
};

let server: TestServer;
let temp: string;
let app: string;
let tarball: string;
let packed: { size: number; unpackedSize: number; entryCount: number; files: Array<{ path: string }> };

/** Puts the unpacked package and links to its dependencies (and the app's: ws and its types) into `project`. */
function installUnpacked(project: string, unpacked: string): void {
  const modules = join(project, "node_modules");
  mkdirSync(join(modules, "@volly"), { recursive: true });
  renameSync(unpacked, join(modules, "@volly", "signaling"));
  const pkg = JSON.parse(readFileSync(join(modules, "@volly", "signaling", "package.json"), "utf8")) as { dependencies: Record<string, string> };
  for (const name of new Set([...Object.keys(pkg.dependencies), "ws", "@types/node", "@types/ws"])) {
    const target = join(ROOT, "node_modules", name);
    assert.ok(existsSync(target), `${name} is installed in the checkout`);
    mkdirSync(dirname(join(modules, name)), { recursive: true });
    symlinkSync(target, join(modules, name), "dir");
  }
}

before(async () => {
  temp = mkdtempSync(join(tmpdir(), "volly-packed-"));
  const pack = await run("npm", ["pack", "--json", "--pack-destination", temp], ROOT, 90_000);
  assert.equal(pack.code, 0, `npm pack failed:\n${pack.stdout}\n${pack.stderr}`);
  // `prepare`'s output comes first on stdout; the JSON report is the rest.
  const report = JSON.parse(pack.stdout.slice(pack.stdout.search(/^\[/m))) as Array<typeof packed & { filename: string }>;
  packed = report[0] as typeof packed & { filename: string };
  tarball = join(temp, (report[0] as { filename: string }).filename);

  mkdirSync(join(temp, "unpacked"));
  const untar = await run("tar", ["-xzf", tarball, "-C", join(temp, "unpacked")], temp, 30_000);
  assert.equal(untar.code, 0, untar.stderr);
  app = join(temp, "app");
  mkdirSync(app);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "volly-packed-app", private: true, type: "module" }));
  installUnpacked(app, join(temp, "unpacked", "package"));
  writeFileSync(join(app, "app.mjs"), APP_MJS);
  writeFileSync(join(app, "probe.ts"), "export const typed: number = 1;\n");
  writeFileSync(join(app, "app.ts"), APP_TS);
  writeFileSync(join(app, "tsconfig.json"), JSON.stringify(TSCONFIG, null, 2));
  writeFileSync(join(app, "tsconfig.skiplibcheck.json"), JSON.stringify({ extends: "./tsconfig.json", compilerOptions: { skipLibCheck: true } }));

  server = await startTestServer();
});

after(async () => {
  await server?.close();
  if (temp !== undefined) rmSync(temp, { recursive: true, force: true });
});

test("npm pack ships the built SDK, the server, its native sources and the docs; not tests, benchmarks or deployment", (t) => {
  const paths = packed.files.map((f) => f.path);
  t.diagnostic(`tarball: ${packed.size} bytes, ${packed.entryCount} files, ${packed.unpackedSize} bytes unpacked`);
  for (const required of [
    "package.json",
    "README.md",
    "tsconfig.json",
    "dist/client/index.js",
    "dist/types/src/client/index.d.ts",
    "dist/volly-client.js",
    "dist/server/main.js",
    "dist/server/cli.js",
    "bin/volly-signaling.mjs",
    "scripts/build-native.mjs",
    "native/record-aead/binding.gyp",
    "native/record-aead/record_aead.c",
    "native/record-aead/sha256.c",
    "src/main.ts",
    "src/demo/page/index.html",
    "docs/client-sdk.md",
  ]) {
    assert.ok(paths.includes(required), `${required} is packed`);
  }
  assert.ok(paths.some((p) => p.startsWith("gen/")) && paths.some((p) => p.startsWith("proto/") && p.endsWith(".proto")));
  const allowed = /^(package\.json|README\.md|LICENSE|tsconfig\.json|bin\/|src\/|gen\/|proto\/|native\/[^/]+\/[^/]+$|scripts\/build-native\.mjs$|dist\/(client\/|types\/|server\/|volly-client\.js$)|docs\/)/;
  assert.deepEqual(paths.filter((p) => !allowed.test(p)), [], "only what an app or the server needs");
  assert.deepEqual(paths.filter((p) => /^(test|bench|deploy|sdk|\.ci)\//.test(p) || /\/build\//.test(p)), []);
});

test("every file the bin, npm start and the exports load is in the tarball, and every package they import is a dependency", () => {
  const pkgDir = join(app, "node_modules", "@volly", "signaling");
  const pkg = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")) as {
    dependencies: Record<string, string>;
    bin: Record<string, string>;
    scripts: Record<string, string>;
    exports: Record<string, string | Record<string, string>>;
  };
  for (const target of Object.values(pkg.exports).flatMap((e) => (typeof e === "string" ? [e] : Object.values(e)))) {
    assert.ok(existsSync(join(pkgDir, target)), `export target ${target} is in the tarball`);
  }
  assert.match(pkg.scripts.start ?? "", /^exec node dist\/server\/main\.js$/);
  assert.match(pkg.scripts.install ?? "", /scripts\/build-native\.mjs/);
  // Follow static and dynamic imports (not `import type`, erased at run time) from the entry points.
  const builtins = new Set(builtinModules);
  const specifiers = /(?:^|\n)\s*(?:import(?!\s+type\b)[^"';]*?from\s*|export(?!\s+type\b)\s[^"';]*?from\s*|import\s+)["']([^"']+)["']|import\s*\(\s*["']([^"']+)["']\s*\)/g;
  // The bin loads dist/server/cli.js by a computed URL, so the compiled entries are listed here.
  const queue = [...Object.values(pkg.bin), "dist/server/main.js", "dist/server/cli.js", "src/index.ts", "scripts/build-native.mjs"].map((f) => resolve(pkgDir, f));
  const seen = new Set<string>();
  const problems: string[] = [];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    const from = relative(pkgDir, file);
    for (const m of readFileSync(file, "utf8").matchAll(specifiers)) {
      const spec = (m[1] ?? m[2]) as string;
      if (spec.startsWith(".")) {
        const target = resolve(dirname(file), spec);
        const file2 = existsSync(target) ? target : target.replace(/\.js$/, ".ts");
        if (existsSync(file2)) queue.push(file2);
        else problems.push(`${from} imports ${spec}, which is not in the tarball`);
      } else if (!spec.startsWith("node:") && !builtins.has(spec)) {
        const name = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : (spec.split("/")[0] as string);
        if (!(name in pkg.dependencies)) problems.push(`${from} imports ${spec}, not a dependency`);
      }
    }
  }
  assert.deepEqual(problems, []);
  assert.ok(seen.size > 50 && [...seen].some((f) => f.includes(join("dist", "server", "chunks"))), `the walk follows imports (${seen.size} files)`);
  assert.ok(existsSync(join(pkgDir, "src", "demo", "page", "index.html")), "the demo page the server reads");
});

test("plain `node app.mjs` imports @volly/signaling/client from the tarball and joins over ML-KEM-768 with ws", async () => {
  const observer = await nodeClient(server.wsUrl, "observer", ROOM);
  await observer.client.connect();
  try {
    const joined = nextEvent(observer.client, "participantJoined", 30_000);
    const result = await run(process.execPath, ["app.mjs"], app, 30_000, appEnv({ VOLLY_URL: server.wsUrl }));
    assert.equal(result.code, 0, `node app.mjs failed:\n${result.stdout}\n${result.stderr}`);
    const printed = JSON.parse(result.stdout.trim().split("\n").at(-1) as string) as Record<string, unknown>;
    assert.deepEqual(
      { ...printed, sessionId: typeof printed.sessionId },
      {
        resolved: pathToFileURL(join(app, "node_modules", "@volly", "signaling", "dist", "client", "index.js")).href,
        execArgv: [],
        typeScriptRefused: true,
        sameConnectError: true,
        room: ROOM,
        identity: "plain-node-app",
        others: ["observer"],
        algorithm: "ML-KEM-768",
        sessionId: "string",
      },
    );
    assert.match(printed.sessionId as string, /^[0-9a-f]{32}$/);
    const [participant] = await joined;
    assert.equal(participant.identity, "plain-node-app");
  } finally {
    await observer.client.disconnect();
  }
});

test("tsc type-checks a strict Node app (nodenext, lib ES2023 without DOM) against the shipped declarations", async (t) => {
  // skipLibCheck: true (what most apps use): no error at all, and the types come from dist/types, not the sources.
  const skipping = await run(process.execPath, [TSC, "-p", "tsconfig.skiplibcheck.json", "--listFiles", "--pretty", "false"], app, 60_000);
  const listed = skipping.stdout.split("\n").filter((l) => l.includes("/@volly/signaling/"));
  assert.deepEqual(skipping.stdout.split("\n").filter((l) => /error TS/.test(l)), []);
  assert.equal(skipping.code, 0, skipping.stdout);
  assert.ok(listed.some((f) => f.endsWith("/dist/types/src/client/index.d.ts")), "the types entry is used");
  assert.deepEqual(listed.filter((f) => !f.endsWith(".d.ts")), [], "no .ts source of the SDK is compiled");

  // skipLibCheck: false: every declaration file is checked too. The SDK's own are clean; two of its dependencies'
  // declarations name DOM types, which a Node-only lib lacks (an app importing them directly gets the same).
  const strict = await run(process.execPath, [TSC, "-p", "tsconfig.json", "--pretty", "false"], app, 60_000);
  const errors = strict.stdout.split("\n").filter((l) => /error TS/.test(l));
  const known = /^(?:\S*\/)?node_modules\/(@connectrpc\/connect|mlkem)\/\S+\.d\.ts\(\d+,\d+\): error TS2304: Cannot find name '(HeadersInit|Crypto)'\.$/;
  assert.deepEqual(errors.filter((e) => !known.test(e)), [], "no error in the app or in @volly/signaling's declarations");
  const named = new Set(errors.map((e) => known.exec(e)).map((m) => `${m?.[1]}: ${m?.[2]}`));
  if (named.size > 0) t.diagnostic(`DOM names in dependencies' own declarations (Node-only lib, skipLibCheck off): ${[...named].join(", ")}`);
});

// What the image and `npx volly-signaling` run: the compiled server from the tarball, on plain Node (no loader in
// the environment, none registered by the bin). It reads the files it needs at run time from the package root:
// the demo page and the SDK sources the demo bundles. The unpacked package has no native record addon (its
// install script did not run), so records fall back to node:crypto, as on a machine without a compiler.
test("the installed package's bin runs the compiled server: health, the demo page, a PQ join from app.mjs, drain on SIGTERM", async () => {
  const [port = 0, apiPort = 0] = await freePorts(2);
  const pkgDir = join(app, "node_modules", "@volly", "signaling");
  const child = spawn(process.execPath, [join(pkgDir, "bin", "volly-signaling.mjs"), "start"], {
    cwd: app,
    env: appEnv({ VOLLY_HOST: "127.0.0.1", VOLLY_PORT: String(port), VOLLY_API_PORT: String(apiPort), LOG_LEVEL: "info" }),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolveExit) => child.on("exit", (code) => resolveExit(code)));
  try {
    const deadline = Date.now() + 30_000;
    while (!output.includes('"msg":"listening"')) {
      if (Date.now() > deadline || child.exitCode !== null) assert.fail(`the packed server did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(await (await fetch(`http://127.0.0.1:${apiPort}/healthz`)).json(), { status: "ok" });
    const page = await fetch(`http://127.0.0.1:${port}/demo/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<html/i);
    const script = await fetch(`http://127.0.0.1:${port}/demo/app.js`);
    assert.equal(script.status, 200, "the demo bundles the SDK sources found from the package root");
    assert.ok((await script.text()).length > 10_000);

    const result = await run(process.execPath, ["app.mjs"], app, 30_000, appEnv({ VOLLY_URL: `ws://127.0.0.1:${port}` }));
    assert.equal(result.code, 0, `node app.mjs failed:\n${result.stdout}\n${result.stderr}`);
    const printed = JSON.parse(result.stdout.trim().split("\n").at(-1) as string) as { algorithm: string; others: string[] };
    assert.deepEqual([printed.algorithm, printed.others], ["ML-KEM-768", []]);
    assert.match(output, /"records":"node:crypto"/, "no addon in the unpacked package: the fallback, said at start-up");
  } finally {
    child.kill("SIGTERM");
  }
  assert.equal(await exited, 0, output);
  assert.match(output, /"msg":"closed"/);
});

test("prepare builds nothing where the build scripts are absent (the Docker image's npm ci --omit=dev step)", async () => {
  const dir = join(temp, "docker-deps");
  mkdirSync(dir);
  writeFileSync(join(dir, "package.json"), readFileSync(join(ROOT, "package.json")));
  const result = await run("npm", ["run", "prepare"], dir, 30_000);
  assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
  assert.match(result.stdout, /no build scripts here: dist\/ is not built/);
});
