import assert from "node:assert/strict";
import { request as httpRequest, Agent } from "node:http";
import { after, before, describe, test } from "node:test";
import { Fuzz } from "../helpers/fuzz.js";
import { makeToken } from "../helpers/tokens.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { FUZZ_ENV, INPUTS, SEED, assertNothingLeaked, watchProcess } from "./fuzz-support.js";

const watched = watchProcess();
const agent = new Agent({ keepAlive: true, maxSockets: 16 });

/**
 * One raw HTTP/1.1 request (no client-side validation of what we send); resolves with the status. A 500 is
 * an unexpected internal error, except the one documented case: connect-es answers a Connect/gRPC request
 * body that does not decode with `internal` "parse binary: ..." (the gRPC convention; docs/errors.md); that
 * one is reported as 422 here so the 5xx check below catches everything else.
 */
function send(port: number, method: string, path: string, headers: Record<string, string>, body?: Uint8Array | string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, method, path, headers, agent }, (res) => {
      let text = "";
      res.setEncoding("latin1");
      res.on("data", (d: string) => (text += d.slice(0, 200)));
      res.on("end", () => {
        const status = res.statusCode ?? 0;
        const connectDecodeError = status === 500 && path.startsWith("/volly.") && text.startsWith('{"code":"internal","message":"parse binary:');
        resolve(connectDecodeError ? 422 : status);
      });
    });
    // An accepted WebSocket upgrade gets no 'response': count it as 101 and hang up.
    req.on("upgrade", (_res, socket) => {
      socket.destroy();
      resolve(101);
    });
    req.on("error", reject);
    req.setTimeout(10_000, () => req.destroy(new Error("no answer within 10 s")));
    req.end(body);
  });
}

/**
 * Runs `count` requests, 16 at a time, and counts statuses. Any 5xx but 503 (an unexpected internal error)
 * fails, unless the caller names it as a deliberate answer (`expected5xx`).
 */
async function fire(count: number, one: (i: number) => Promise<number>, expected5xx: readonly number[] = []): Promise<Map<number, number>> {
  const statuses = new Map<number, number>();
  let next = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < count) {
      const i = next++;
      const status = await one(i);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
  }));
  const serverErrors = [...statuses].filter(([s]) => s >= 500 && s !== 503 && !expected5xx.includes(s));
  assert.deepEqual(serverErrors, [], `5xx answers: ${JSON.stringify([...statuses])}`);
  return statuses;
}

describe(`fuzzing the HTTP entry points (${INPUTS} inputs each, seed ${SEED})`, () => {
  let srv: TestServer;
  let admin: string;
  before(async () => {
    srv = await startTestServer(FUZZ_ENV);
    admin = await makeToken({ identity: "admin", room: "fuzz-room", grant: { roomAdmin: true, roomList: true, roomCreate: true } });
  });
  after(async () => {
    agent.destroy();
    await srv.close();
  });

  test("JWTs: mutated and random tokens on /rtc/validate", async () => {
    const fuzz = new Fuzz(SEED + 10);
    const valid = await makeToken({ identity: "v", room: "fuzz-room" });
    const statuses = await fire(INPUTS, async () => {
      const r = fuzz.next();
      const token = r < 0.5 ? Buffer.from(fuzz.mutate(new TextEncoder().encode(valid))).toString("latin1")
        : r < 0.8 ? `${fuzz.string(40)}.${fuzz.string(200)}.${fuzz.string(43)}` : fuzz.string(400);
      return send(srv.port, "GET", `/rtc/validate?access_token=${encodeURIComponent(token)}`, {});
    });
    assert.ok((statuses.get(401) ?? 0) > INPUTS / 2, JSON.stringify([...statuses]));
  });

  test("query strings on /rtc/validate and the upgrade path", async () => {
    const fuzz = new Fuzz(SEED + 11);
    const valid = await makeToken({ identity: "q", room: "fuzz-room" });
    await fire(INPUTS, async (i) => {
      const params = new URLSearchParams();
      params.set("access_token", fuzz.next() < 0.7 ? valid : fuzz.string(30));
      for (let k = 0, n = fuzz.int(5); k < n; k++) {
        params.append(fuzz.pick(["format", "reconnect", "sid", "last_message_id", "room", fuzz.string(6)]), fuzz.pick([fuzz.string(12), "1", "true", "PA_x", "99999999999999999999999", "-1", "json", "protobuf"]));
      }
      const path = fuzz.pick(["/rtc/validate", "/rtc", "/"]);
      // A GET without an upgrade on /rtc answers 426; with one, the upgrade path runs the same checks.
      const headers: Record<string, string> = i % 4 === 0 ? { connection: "Upgrade", upgrade: "websocket", "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==" } : {};
      const status = await send(srv.port, "GET", `${path}?${params}`, headers).catch(() => 0);
      return status === 101 ? 101 : status;
    });
  });

  test("Connect bodies for the RoomService (JSON and binary, with and without a token)", async () => {
    const fuzz = new Fuzz(SEED + 12);
    const methods = ["CreateRoom", "ListRooms", "DeleteRoom", "ListParticipants", "GetParticipant", "RemoveParticipant", "UpdateParticipant", "UpdateRoomMetadata", "SendData", "GetSessionStats", fuzz.string(8)];
    await fire(INPUTS, async () => {
      const json = fuzz.next() < 0.6;
      const body = json ? fuzz.textFrame().replace(/"type"/, `"${fuzz.pick(["room", "identity", "metadata", "data", "name"])}"`) : fuzz.bytes(120);
      const headers: Record<string, string> = { "content-type": json ? "application/json" : fuzz.pick(["application/proto", "application/grpc-web+proto", "text/plain"]) };
      if (fuzz.next() < 0.7) headers.authorization = `Bearer ${admin}`;
      return send(srv.apiPort, "POST", `/volly.signaling.v1.RoomService/${fuzz.pick(methods)}`, headers, body);
    });
  });

  test("Twirp bodies for livekit.RoomService (JSON and protobuf)", async () => {
    const fuzz = new Fuzz(SEED + 13);
    const methods = ["CreateRoom", "ListRooms", "DeleteRoom", "ListParticipants", "GetParticipant", "RemoveParticipant", "UpdateParticipant", "UpdateRoomMetadata", "SendData", "MutePublishedTrack", fuzz.string(8)];
    await fire(INPUTS, async () => {
      const json = fuzz.next() < 0.6;
      const headers: Record<string, string> = { "content-type": json ? "application/json" : "application/protobuf" };
      if (fuzz.next() < 0.7) headers.authorization = `Bearer ${admin}`;
      const body = json ? JSON.stringify({ room: fuzz.pick(["fuzz-room", fuzz.string(10)]), identity: fuzz.string(6), metadata: fuzz.string(20), data: fuzz.pick(["AAAA", "!!", fuzz.string(8)]), [fuzz.string(5)]: fuzz.int(9) }) : fuzz.bytes(100);
      return send(srv.apiPort, fuzz.pick(["POST", "POST", "POST", "GET", "PUT"]), `/twirp/livekit.RoomService/${fuzz.pick(methods)}`, headers, body);
      // MutePublishedTrack is one of LiveKit's media methods: `unimplemented`, 501, is its answer.
    }, [501]);
  });

  test("nothing leaked and no unhandled error", async () => {
    await assertNothingLeaked(srv);
    assert.deepEqual(watched.failures, []);
  });
});
