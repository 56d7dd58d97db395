// The Python client (sdk/python/volly_client.py) on stubs generated from our protos at test time with Debian's
// protoc + grpc_python_plugin, run by Debian's /usr/bin/python3: it joins a room over gRPC and relays an offer
// to a TypeScript client, and receives that client's answer. Plaintext signaling (VOLLY_PQ_ENABLED=false):
// Debian's Python has no ML-KEM; docs/sdks.md says what a post-quantum Python client needs.
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { TestClient } from "../helpers/signal-client.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { generatePythonStubs, PYTHON, PYTHON_SDK, pythonSkip as skip, removePythonStubs } from "./helpers/python-sdk.js";

interface PythonRun {
  code: number | null;
  lines: Array<{ type: string; message: Record<string, unknown> }>;
  stderr: string;
}

function runPython(stubs: string, args: string[]): Promise<PythonRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [join(PYTHON_SDK, "volly_client.py"), ...args], {
      env: { PATH: process.env.PATH, VOLLY_PYTHON_STUBS: stubs, PYTHONDONTWRITEBYTECODE: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      const lines = stdout.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as PythonRun["lines"][number]);
      resolve({ code, lines, stderr });
    });
  });
}

describe("Python client (generated gRPC stubs)", { skip }, () => {
  let stubs = "";
  let server: TestServer;
  before(async () => {
    stubs = generatePythonStubs("client");
    server = await startTestServer({ VOLLY_PQ_ENABLED: "false" });
  });
  after(async () => {
    await server?.close();
    removePythonStubs(stubs);
  });

  test("joins over gRPC, its offer reaches a TypeScript client, and the answer comes back", async () => {
    const bob = await TestClient.connect({ kind: "ws-protobuf", port: server.port, identity: "ts-bob", room: "py-room", pq: false });
    const python = runPython(stubs, [
      "--server", `127.0.0.1:${server.port}`, "--room", "py-room", "--identity", "py-alice",
      "--offer-to", "ts-bob", "--sdp", "v=0 python-offer", "--wait-for", "answer", "--timeout", "10",
    ]);
    const offer = await bob.waitFor("offer", () => true, 15_000);
    assert.equal(offer.from, "py-alice");
    assert.equal(offer.sdp, "v=0 python-offer");
    assert.match(offer.fromSid, /^PA_/);
    bob.send({ case: "answer", value: { sdp: "v=0 ts-answer", target: "py-alice" } });
    const out = await python;
    assert.equal(out.code, 0, out.stderr);
    const join = out.lines.find((l) => l.type === "join");
    assert.equal((join?.message.participant as { identity?: string } | undefined)?.identity, "py-alice");
    assert.equal((join?.message.room as { name?: string } | undefined)?.name, "py-room");
    const answer = out.lines.find((l) => l.type === "answer");
    assert.deepEqual({ from: answer?.message.from, sdp: answer?.message.sdp }, { from: "ts-bob", sdp: "v=0 ts-answer" });
    await bob.leave();
  });

  test("a method no service serves is UNIMPLEMENTED in gRPC's own terms, on both ports", async () => {
    const script = [
      "import grpc, sys",
      "with grpc.insecure_channel(sys.argv[1]) as ch:",
      "    try:",
      "        ch.unary_unary('/volly.signaling.v1.NoSuchService/Nothing')(b'', timeout=10)",
      "    except grpc.RpcError as e:",
      "        print(e.code().name, e.details())",
    ].join("\n");
    for (const port of [server.port, server.apiPort]) {
      // Not spawnSync: the server runs in this process and must answer while Python waits.
      const out = await new Promise<{ stdout: string; stderr: string }>((resolve) => {
        execFile(PYTHON, ["-c", script, `127.0.0.1:${port}`], { timeout: 30_000, env: { PATH: process.env.PATH } }, (_e, stdout, stderr) => resolve({ stdout, stderr }));
      });
      assert.equal(out.stdout.trim(), "UNIMPLEMENTED unknown service or method /volly.signaling.v1.NoSuchService/Nothing", out.stderr);
      // A bare HTTP 404 had grpcio log an hpack error about the text/plain answer.
      assert.doesNotMatch(out.stderr, /hpack|invalid value/i);
    }
  });

  test("against a post-quantum server it stops with the reason instead of hanging", async () => {
    const pqServer = await startTestServer();
    try {
      const out = await runPython(stubs, ["--server", `127.0.0.1:${pqServer.port}`, "--room", "r", "--identity", "py", "--timeout", "1"]);
      assert.equal(out.code, 1);
      assert.match(out.stderr, /VOLLY_PQ_ENABLED=true/);
    } finally {
      await pqServer.close();
    }
  });

  test("a bad token is refused with the server's reason", async () => {
    const out = await runPython(stubs, ["--server", `127.0.0.1:${server.port}`, "--room", "r", "--identity", "py", "--api-secret", "wrong", "--timeout", "5"]);
    assert.equal(out.code, 1);
    assert.match(out.stderr, /UNAUTHENTICATED/);
  });
});
