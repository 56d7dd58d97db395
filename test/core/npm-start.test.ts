import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { test } from "node:test";
import { promisify } from "node:util";
import { freePorts } from "../helpers/redis.js";

const run = promisify(execFile);

// The README's promise: on a fresh clone, `npm start` serves on 7880/7881 with embedded defaults and
// `curl http://localhost:7880/healthz` prints {"status":"ok"}; SIGTERM stops it cleanly.
test("npm start serves /healthz on 7880 and stops cleanly on SIGTERM", async () => {
  const child = spawn("npm", ["start"], { env: { ...process.env, LOG_LEVEL: "info" }, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  try {
    const deadline = Date.now() + 30_000;
    while (!output.includes('"msg":"listening"')) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`server did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const { stdout } = await run("curl", ["-s", "http://localhost:7880/healthz"]);
    assert.equal(stdout, '{"status":"ok"}');
    const api = await run("curl", ["-s", "http://localhost:7881/healthz"]);
    assert.equal(api.stdout, '{"status":"ok"}');
    const stats = JSON.parse((await run("curl", ["-s", "http://localhost:7881/volly/sessions/stats"])).stdout);
    assert.deepEqual(
      [stats.active_sessions, stats.expired_sessions, stats.total_sessions, stats.algorithm],
      [0, 0, 0, "ML-KEM-768"],
    );
    assert.match(output, /"backend":"memory"/);
    // The compiled server (prestart builds dist/server from src/), on plain Node: no TypeScript loader in the group.
    const group = (await run("ps", ["-o", "args=", "-g", String(child.pid)])).stdout.split("\n").filter((l) => l.startsWith("node "));
    assert.deepEqual(group, ["node dist/server/main.js"], "npm start runs the compiled server");
    assert.match(output, /volly: built the server in \d+ ms/);
  } catch (e) {
    if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
    throw e;
  }
  // A supervisor signals the process it started, npm, not its process group: the server must get it too (a
  // shell between npm and the server would die of it and leave the server running on its own).
  const exited = once(child, "exit") as Promise<[number | null]>;
  process.kill(child.pid as number, "SIGTERM");
  const stopped = setTimeout(() => process.kill(-(child.pid as number), "SIGKILL"), 20_000);
  // The pipes close when every process of the group (npm, the server) has exited.
  await Promise.all([once(child.stdout, "close"), once(child.stderr, "close")]);
  clearTimeout(stopped);
  const [code] = await exited;
  assert.match(output, /"msg":"shutting down"/);
  assert.match(output, /"msg":"closed"/);
  assert.ok(code === 0 || code === null, `exit code ${code}`);
});

// `npm start -- --help` printed nothing and started a server on the default ports; an argument the entry does
// not take must not be ignored either.
test("npm start -- --help prints the usage and starts nothing; an unknown argument is refused", async () => {
  const help = await run(process.execPath, ["dist/server/main.js", "--help"], { timeout: 30_000 });
  assert.match(help.stdout, /^Usage: volly-signaling \[start\]/);
  const bogus = await run(process.execPath, ["dist/server/main.js", "--port=1"], { timeout: 30_000 }).then(
    () => assert.fail("an unknown argument started the server"),
    (e: { code?: number; stderr?: string }) => e,
  );
  assert.equal(bogus.code, 2);
  assert.match(bogus.stderr ?? "", /npm start takes no arguments \(got "--port=1"\)/);
});

// npx runs the CLI through a shell that dies of a SIGTERM without passing it on: the server must notice that
// npx is gone and stop as it would on the signal, not keep serving on its own. A SIGKILL to npx leaves that
// shell alive (re-parented): the server used to watch only the shell, and kept serving and holding its ports.
for (const signal of ["SIGTERM", "SIGKILL"] as const) test(`npx volly-signaling: a ${signal} to npx stops the server too`, async () => {
  const [port = 0, apiPort = 0] = await freePorts(2);
  const env = { ...process.env, LOG_LEVEL: "info", VOLLY_PORT: String(port), VOLLY_API_PORT: String(apiPort) };
  const child = spawn("npx", ["volly-signaling"], { env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  const group = child.pid as number;
  try {
    const deadline = Date.now() + 30_000;
    while (!output.includes('"msg":"listening"')) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`server did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    process.kill(group, signal);
    const stopped = Date.now() + 20_000;
    while (!output.includes('"msg":"closed"')) {
      if (Date.now() > stopped) throw new Error(`the server kept running after npx was stopped:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(output, /"msg":"shutting down"/);
    await assert.rejects(run("curl", ["-sf", `http://127.0.0.1:${apiPort}/healthz`]), "the port is closed");
  } finally {
    try {
      process.kill(-group, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
});
