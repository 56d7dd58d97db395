// The Python example client's connection lifecycle and tokens, run with Debian's /usr/bin/python3 against a real
// server (plaintext signaling, stubs generated at test time as in python-client.test.ts):
// - close() leaves: before, it closed the channel right after queueing `leave`, so grpcio cancelled the stream
//   before `leave` was written and the server kept the participant as a dropped one for the resume window.
// - the signal stream has no deadline: before, every stream carried `grpc-timeout` (60 s; the CLI's 3 x --timeout)
//   and died with DEADLINE_EXCEEDED however active it was. Checked on the wire, from the server's side.
// - once the stream has ended, every receive() raises RuntimeError at once (before: once, then TimeoutError
//   forever) and send() raises too (before: it queued silently).
// - volly_token.make_admin_token (and `volly_token.py admin`) mints the RoomService grants.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer, type IncomingHttpHeaders, type Http2Server } from "node:http2";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { DisconnectReason, ParticipantState } from "../../gen/volly/signaling/v1/models_pb.js";
import { TestClient } from "../helpers/signal-client.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { makeToken } from "../helpers/tokens.js";
import { generatePythonStubs, PYTHON, PYTHON_SDK as SDK, pythonSkip as skip, removePythonStubs } from "./helpers/python-sdk.js";
import { run } from "./helpers/required-tools.js";

/** Scenarios run in Python against the library (not the CLI); each prints one JSON line per step. */
const SCENARIOS = String.raw`
import json, os, sys, time, urllib.error, urllib.request
sys.path.insert(0, os.environ["VOLLY_SDK"])
from volly_client import VollySignalClient, message_json, signal_pb2
from volly_token import DEV_API_KEY as KEY, DEV_API_SECRET as SECRET, make_access_token, make_admin_token

def out(**kw):
    print(json.dumps(kw), flush=True)

scenario, server = sys.argv[1], sys.argv[2]

if scenario == "close":
    # Joins, closes, and reports how long close() took.
    c = VollySignalClient(server, make_access_token(KEY, SECRET, sys.argv[3], sys.argv[4]))
    c.wait_join(10)
    out(step="joined")
    t = time.monotonic()
    c.close()
    out(step="closed", seconds=time.monotonic() - t)

elif scenario == "ended":
    # Joins, waits for the server to end the stream (the test removes the participant), then keeps calling.
    c = VollySignalClient(server, make_access_token(KEY, SECRET, sys.argv[3], sys.argv[4]))
    c.wait_join(10)
    out(step="joined")
    while True:
        try:
            m = c.receive(15)
        except RuntimeError as e:
            out(step="end", error="RuntimeError", message=str(e))
            break
        out(step="message", type=m.WhichOneof("message"))
    for i in range(3):
        t = time.monotonic()
        try:
            c.receive(2)
            out(step="receive", error=None)
        except (RuntimeError, TimeoutError) as e:
            out(step="receive", error=type(e).__name__, message=str(e), seconds=time.monotonic() - t)
    try:
        c.send(signal_pb2.SignalRequest(ping=signal_pb2.Ping(timestamp=1)))
        out(step="send", error=None)
    except RuntimeError as e:
        out(step="send", error="RuntimeError", message=str(e))
    c.close()

elif scenario == "stream":
    # Opens a stream (with the deadline given, if any) and waits for it to end.
    kw = {} if sys.argv[3] == "default" else {"deadline_seconds": float(sys.argv[3])}
    c = VollySignalClient(server, make_access_token(KEY, SECRET, "py-deadline", "py-deadline"), **kw)
    try:
        c.receive(10)
    except (RuntimeError, TimeoutError) as e:
        out(step="ended", message=str(e))
    c.close()

elif scenario == "admin":
    # RoomService over Twirp JSON, with tokens from make_admin_token only.
    def twirp(method, body, token):
        req = urllib.request.Request(server + "/twirp/livekit.RoomService/" + method, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json", "Authorization": "Bearer " + token})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())
    room = sys.argv[3]
    operator = make_admin_token(KEY, SECRET, room_create=True, room_list=True)
    s, b = twirp("CreateRoom", {"name": room, "metadata": "from python"}, operator)
    out(step="CreateRoom", status=s, name=b.get("name"), metadata=b.get("metadata"))
    s, b = twirp("ListRooms", {"names": [room]}, operator)
    out(step="ListRooms", status=s, names=[r["name"] for r in b.get("rooms", [])])
    admin = make_admin_token(KEY, SECRET, room_admin=True, room=room, identity="py-backend")
    s, b = twirp("ListParticipants", {"room": room}, admin)
    out(step="ListParticipants", status=s, participants=b.get("participants"))
    s, b = twirp("ListParticipants", {"room": room + "-other"}, admin)
    out(step="ListParticipants other room", status=s, code=b.get("code"))
    s, b = twirp("ListRooms", {}, admin)
    out(step="ListRooms with roomAdmin", status=s, code=b.get("code"))
    for kw in ({}, {"room_admin": True}):
        try:
            make_admin_token(KEY, SECRET, **kw)
            out(step="refused", args=kw, error=None)
        except ValueError as e:
            out(step="refused", args=kw, error=str(e))
`;

interface Run {
  code: number | null;
  lines: Array<Record<string, unknown>>;
  stdout: string;
  stderr: string;
}

/** Runs Python (`args` after the interpreter) to completion; `onLine` sees each stdout line as it comes. */
function runPython(stubs: string, args: string[], onLine: (line: Record<string, unknown>) => void = () => {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, args, {
      env: { PATH: process.env.PATH, VOLLY_PYTHON_STUBS: stubs, VOLLY_SDK: SDK, PYTHONDONTWRITEBYTECODE: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let pending = "";
    const lines: Run["lines"] = [];
    child.stdout.on("data", (c: Buffer) => {
      stdout += c.toString();
      pending += c.toString();
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        const text = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (!text.startsWith("{")) continue;
        const line = JSON.parse(text) as Record<string, unknown>;
        lines.push(line);
        onLine(line);
      }
    });
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 45_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, lines, stdout, stderr });
    });
  });
}

const scenario = (stubs: string, ...args: string[]) => (onLine?: (line: Record<string, unknown>) => void) =>
  runPython(stubs, ["-c", SCENARIOS, ...args], onLine);

/** An h2c server that records each request's headers and answers it at once with a gRPC status (UNAVAILABLE). */
async function headerRecorder(): Promise<{ server: Http2Server; port: number; requests: IncomingHttpHeaders[] }> {
  const requests: IncomingHttpHeaders[] = [];
  const server = createServer();
  server.on("stream", (stream, headers) => {
    requests.push(headers);
    stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": "14", "grpc-message": "header recorder" }, { endStream: true });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port, requests };
}

describe("Python client lifecycle and admin tokens", { skip }, () => {
  let stubs = "";
  let server: TestServer;
  before(async () => {
    stubs = generatePythonStubs("life");
    server = await startTestServer({ VOLLY_PQ_ENABLED: "false" });
  });
  after(async () => {
    await server?.close();
    removePythonStubs(stubs);
  });

  async function listParticipants(room: string): Promise<Array<{ identity: string; state: string }>> {
    const token = await makeToken({ identity: "", room, grant: { roomJoin: false, roomAdmin: true } });
    const res = await fetch(`${server.apiUrl}/twirp/livekit.RoomService/ListParticipants`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ room }),
    });
    assert.equal(res.status, 200);
    return ((await res.json()) as { participants: Array<{ identity: string; state: string }> }).participants;
  }

  test("close() leaves: gone from ListParticipants at once, and a peer sees it leave with CLIENT_INITIATED", async () => {
    const room = "py-close";
    const bob = await TestClient.connect({ kind: "ws-protobuf", port: server.port, identity: "ts-bob", room, pq: false });
    const out = await scenario(stubs, "close", `127.0.0.1:${server.port}`, "py-leaver", room)();
    assert.equal(out.code, 0, out.stderr);
    // At once: a dropped participant would be listed (as RECONNECTING; JOINED over Twirp) for the 20 s resume window.
    assert.deepEqual((await listParticipants(room)).map((p) => p.identity), ["ts-bob"]);
    const update = await bob.waitFor("participantUpdate", (u) => u.participants.some((p) => p.identity === "py-leaver" && p.state === ParticipantState.DISCONNECTED), 3000);
    assert.equal(update.participants.find((p) => p.identity === "py-leaver")?.disconnectReason, DisconnectReason.CLIENT_INITIATED);
    // Bounded, and in practice one round trip: the server ends the stream right after `leave`.
    const closed = out.lines.find((l) => l.step === "closed");
    assert.ok(typeof closed?.seconds === "number" && closed.seconds < 2, JSON.stringify(closed));
    await bob.leave();
  });

  test("the CLI leaves too when it exits (close() in its finally)", async () => {
    const room = "py-cli-close";
    const bob = await TestClient.connect({ kind: "ws-protobuf", port: server.port, identity: "ts-bob", room, pq: false });
    const out = await runPython(stubs, [join(SDK, "volly_client.py"), "--server", `127.0.0.1:${server.port}`, "--room", room, "--identity", "py-cli", "--timeout", "10"]);
    assert.equal(out.code, 0, out.stderr);
    assert.deepEqual((await listParticipants(room)).map((p) => p.identity), ["ts-bob"]);
    const update = await bob.waitFor("participantUpdate", (u) => u.participants.some((p) => p.identity === "py-cli" && p.state === ParticipantState.DISCONNECTED), 3000);
    assert.equal(update.participants.find((p) => p.identity === "py-cli")?.disconnectReason, DisconnectReason.CLIENT_INITIATED);
    await bob.leave();
  });

  test("the signal stream carries no grpc-timeout, from the library or the CLI (an explicit deadline does)", async () => {
    const recorder = await headerRecorder();
    try {
      const target = `127.0.0.1:${recorder.port}`;
      const byDefault = await scenario(stubs, "stream", target, "default")();
      assert.equal(byDefault.code, 0, byDefault.stderr);
      const cli = await runPython(stubs, [join(SDK, "volly_client.py"), "--server", target, "--room", "r", "--identity", "py", "--timeout", "10"]);
      assert.equal(cli.code, 1, cli.stderr); // the recorder answers UNAVAILABLE
      assert.match(cli.stderr, /UNAVAILABLE/);
      // The control: a deadline asked for is on the wire, so the recorder would see one the client sent.
      const explicit = await scenario(stubs, "stream", target, "120")();
      assert.equal(explicit.code, 0, explicit.stderr);
      const signal = recorder.requests.filter((h) => h[":path"] === "/volly.signaling.v1.SignalService/Signal");
      assert.equal(signal.length, 3, JSON.stringify(recorder.requests));
      assert.deepEqual(signal.map((h) => h["grpc-timeout"] !== undefined), [false, false, true]);
    } finally {
      await new Promise((r) => recorder.server.close(r));
    }
  });

  test("after the stream ends every receive() raises RuntimeError at once, and send() raises too", async () => {
    const room = "py-ended";
    const admin = await makeToken({ identity: "", room, grant: { roomJoin: false, roomAdmin: true } });
    const out = await scenario(stubs, "ended", `127.0.0.1:${server.port}`, "py-ended", room)((line) => {
      if (line.step !== "joined") return;
      void fetch(`${server.apiUrl}/twirp/livekit.RoomService/RemoveParticipant`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${admin}` },
        body: JSON.stringify({ room, identity: "py-ended" }),
      });
    });
    assert.equal(out.code, 0, out.stderr);
    // What was received before the end is still delivered: the server's `leave`.
    assert.ok(out.lines.some((l) => l.step === "message" && l.type === "leave"), out.stdout);
    const end = out.lines.find((l) => l.step === "end");
    assert.equal(end?.error, "RuntimeError", out.stdout);
    const receives = out.lines.filter((l) => l.step === "receive");
    assert.equal(receives.length, 3, out.stdout);
    for (const r of receives) {
      assert.equal(r.error, "RuntimeError", out.stdout);
      assert.equal(r.message, end?.message);
      assert.ok((r.seconds as number) < 1, out.stdout); // not after the 2 s timeout
    }
    assert.equal(out.lines.find((l) => l.step === "send")?.error, "RuntimeError", out.stdout);
  });

  test("make_admin_token mints RoomService grants: CreateRoom, ListRooms, ListParticipants over Twirp JSON", async () => {
    const room = "py-admin";
    const out = await scenario(stubs, "admin", server.apiUrl, room)();
    assert.equal(out.code, 0, out.stderr);
    const step = (name: string) => out.lines.find((l) => l.step === name);
    assert.deepEqual(step("CreateRoom"), { step: "CreateRoom", status: 200, name: room, metadata: "from python" });
    assert.deepEqual(step("ListRooms"), { step: "ListRooms", status: 200, names: [room] });
    assert.deepEqual(step("ListParticipants"), { step: "ListParticipants", status: 200, participants: [] });
    // roomAdmin is for its room only, and grants nothing else.
    assert.deepEqual(step("ListParticipants other room"), { step: "ListParticipants other room", status: 403, code: "permission_denied" });
    assert.deepEqual(step("ListRooms with roomAdmin"), { step: "ListRooms with roomAdmin", status: 403, code: "permission_denied" });
    const refused = out.lines.filter((l) => l.step === "refused");
    assert.equal(refused.length, 2);
    assert.match(String(refused[0]?.error), /at least one/);
    assert.match(String(refused[1]?.error), /room_admin needs room/);
    assert.equal((await server.server.services.store.getRoom(room))?.metadata, "from python");
  });

  test("`volly_token.py admin` prints a token the server takes for RoomService, with no join grant", async () => {
    const out = run(PYTHON, [join(SDK, "volly_token.py"), "admin", "--room-list"], { env: { PATH: process.env.PATH } });
    assert.equal(out.status, 0, out.stderr);
    const token = out.stdout.trim();
    const claims = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString()) as Record<string, unknown>;
    assert.deepEqual(claims.video, { roomList: true });
    assert.equal(claims.sub, undefined);
    assert.equal(claims.iss, "volly-dev-key");
    const res = await fetch(`${server.apiUrl}/twirp/livekit.RoomService/ListRooms`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: "{}",
    });
    assert.equal(res.status, 200, await res.clone().text());
    // The token cannot join: it has no roomJoin.
    const joinTry = await fetch(`${server.httpUrl}/rtc/validate?access_token=${token}`);
    assert.notEqual(joinTry.status, 200);
  });
});
