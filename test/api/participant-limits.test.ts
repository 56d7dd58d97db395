// Limits on a participant's name, metadata and attributes (docs/api.md, Limits), the same on every path
// that sets them: RoomService UpdateParticipant (the real livekit-server-sdk over Twirp), the participant's
// own update_metadata (the real SDK) and the joining token. Refusals are invalid_argument with a message
// that says which rule, and nothing is stored or broadcast.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { RoomServiceClient, TwirpError } from "livekit-server-sdk";
import { Code, ConnectError, generateVollyAccessToken, VollySignalingClient } from "../../src/client/index.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { DEV_KEY, DEV_SECRET, nodeClient } from "../helpers/werift-sdk.js";
import WebSocket from "ws";

const KIB64 = 64 * 1024;

/** `n` attributes k0..k(n-1) with value "v". */
function entries(n: number, from = 0): Record<string, string> {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${from + i}`, "v"]));
}

describe("participant field limits", () => {
  let srv: TestServer;
  let api: RoomServiceClient;
  const room = "limits";
  let alice: VollySignalingClient;
  before(async () => {
    // Frames large enough for every request below, so the field limits are what refuses them.
    srv = await startTestServer({ VOLLY_MAX_FRAME_BYTES: String(1 << 20) });
    api = new RoomServiceClient(srv.apiUrl, DEV_KEY, DEV_SECRET);
    alice = (await nodeClient(srv.wsUrl, "lim-alice", room)).client;
    await alice.connect();
  });
  after(async () => {
    await alice.disconnect();
    await srv.close();
  });

  const refusedByApi = async (attributes: Record<string, string>, message: RegExp, name?: string): Promise<void> => {
    const before = await api.getParticipant(room, "lim-alice");
    try {
      await api.updateParticipant(room, "lim-alice", { attributes, ...(name !== undefined ? { name } : {}) });
    } catch (e) {
      assert.ok(e instanceof TwirpError, String(e));
      assert.deepEqual([e.status, e.code], [400, "invalid_argument"], e.message);
      assert.match(e.message, message);
      const now = await api.getParticipant(room, "lim-alice");
      assert.deepEqual([now.version, now.name, now.attributes], [before.version, before.name, before.attributes], "nothing stored");
      return;
    }
    assert.fail("expected UpdateParticipant to be refused");
  };

  const refusedOwn = async (update: Parameters<VollySignalingClient["updateMetadata"]>[0], message: RegExp): Promise<void> => {
    const before = await api.getParticipant(room, "lim-alice");
    try {
      await alice.updateMetadata(update);
    } catch (e) {
      assert.ok(e instanceof ConnectError, String(e));
      assert.equal(Code[e.code], Code[Code.InvalidArgument], e.message);
      assert.match(e.rawMessage, message);
      const now = await api.getParticipant(room, "lim-alice");
      assert.deepEqual([now.version, now.name, now.attributes], [before.version, before.name, before.attributes], "nothing stored");
      assert.equal(alice.state, "connected", "a refused update does not end the connection");
      return;
    }
    assert.fail("expected updateMetadata to be refused");
  };

  test("attribute keys: at most 256 characters, not empty, no control characters (both paths)", async () => {
    await refusedByApi({ ["k".repeat(70_000)]: "v" }, /^attribute keys must be 1-256 characters without control characters$/);
    await refusedByApi({ ["k".repeat(257)]: "v" }, /attribute keys must be 1-256 characters/);
    await refusedByApi({ ["😀".repeat(257)]: "v" }, /attribute keys must be 1-256 characters/);
    await refusedByApi({ "a\u0007b": "v" }, /attribute keys must be 1-256 characters without control characters/);
    await refusedByApi({ "": "v" }, /attribute keys must be 1-256 characters/);
    await refusedOwn({ attributes: { ["k".repeat(60_000)]: "v" } }, /attribute keys must be 1-256 characters/);
    await refusedOwn({ attributes: { "line\nbreak": "v" } }, /control characters/);
    // Reserved: protobuf-es would drop it on the way, so the SDK refuses it, as the server does a token's.
    await refusedOwn({ attributes: JSON.parse('{"__proto__":"own","k":"v"}') as Record<string, string> }, /^the attribute key __proto__ is reserved$/);

    // 256 characters, counted as code points: 256 emoji are 512 UTF-16 units.
    const longest = "😀".repeat(256);
    const info = await api.updateParticipant(room, "lim-alice", { attributes: { [longest]: "v", "ünïcödé key": "a\nvalue may hold anything" } });
    assert.deepEqual(Object.keys(info.attributes).sort(), [longest, "ünïcödé key"].sort());
    await alice.updateMetadata({ attributes: { [longest]: "", "ünïcödé key": "" } });
    assert.deepEqual((await api.getParticipant(room, "lim-alice")).attributes, {});
  });

  test("attributes: keys and values together at most 64 KiB (UTF-8 bytes), counted after the merge", async () => {
    await refusedByApi({ a: "v".repeat(KIB64) }, /^attributes \(keys and values together\) is larger than 65536 bytes$/);
    await refusedOwn({ attributes: { a: "v".repeat(KIB64) } }, /attributes \(keys and values together\) is larger than 65536 bytes/);
    // 40,000 two-byte characters are 80,000 bytes.
    await refusedByApi({ a: "é".repeat(40_000) }, /larger than 65536 bytes/);
    // Exactly the limit is fine; one more byte in another key is not, on either path.
    await api.updateParticipant(room, "lim-alice", { attributes: { a: "v".repeat(KIB64 - 1) } });
    await refusedByApi({ b: "1" }, /larger than 65536 bytes/);
    await refusedOwn({ attributes: { b: "1" } }, /larger than 65536 bytes/);
    // Replacing a value or deleting one frees its room.
    await alice.updateMetadata({ attributes: { a: "", b: "v".repeat(KIB64 - 1) } });
    assert.equal((await api.getParticipant(room, "lim-alice")).attributes.b?.length, KIB64 - 1);
    await api.updateParticipant(room, "lim-alice", { attributes: { b: "" } });
  });

  test("attributes: at most 64 entries, and the refusal says entries", async () => {
    await refusedByApi(entries(65), /^attributes may have at most 64 entries$/);
    await refusedOwn({ attributes: entries(65) }, /attributes may have at most 64 entries/);
    await api.updateParticipant(room, "lim-alice", { attributes: entries(60) });
    await refusedByApi(entries(5, 60), /at most 64 entries/);
    await refusedOwn({ attributes: entries(5, 60) }, /at most 64 entries/);
    await alice.updateMetadata({ attributes: entries(4, 60) });
    assert.equal(Object.keys((await api.getParticipant(room, "lim-alice")).attributes).length, 64);
    await api.updateParticipant(room, "lim-alice", { attributes: Object.fromEntries(Object.keys(entries(64)).map((k) => [k, ""])) });
  });

  test("names: at most 256 characters, no control characters (both paths)", async () => {
    await refusedByApi({}, /^name must not contain control characters$/, "A\u0000\u0007B");
    await refusedByApi({}, /name must not contain control characters/, "tab\there");
    await refusedByApi({}, /^name must be at most 256 characters$/, "n".repeat(257));
    await refusedByApi({}, /^name must be at most 256 characters$/, "😀".repeat(257));
    await refusedOwn({ name: "A\u0007B" }, /name must not contain control characters/);
    await refusedOwn({ name: "n".repeat(257) }, /name must be at most 256 characters/);
    // 256 characters are fine even where they are more than 256 bytes or UTF-16 units.
    const name = "😀".repeat(256);
    assert.equal((await api.updateParticipant(room, "lim-alice", { name })).name, name);
    await alice.updateMetadata({ name: "Alice" });
    assert.equal((await api.getParticipant(room, "lim-alice")).name, "Alice");
  });

  test("metadata: at most 64 KiB on both paths", async () => {
    const refused = api.updateParticipant(room, "lim-alice", { metadata: "m".repeat(KIB64 + 1) });
    await assert.rejects(refused, (e: unknown) => e instanceof TwirpError && e.code === "invalid_argument" && /^metadata is larger than 65536 bytes$/.test(e.message));
    await refusedOwn({ metadata: "é".repeat(KIB64 / 2 + 1) }, /metadata is larger than 65536 bytes/);
    await alice.updateMetadata({ metadata: "m".repeat(KIB64) });
  });

  test("a token whose name or attributes break the limits is refused before the upgrade", async () => {
    const cases: Array<{ name?: string; attributes?: Record<string, string>; message: RegExp }> = [
      { name: "A\u0000B", message: /name must not contain control characters/ },
      { attributes: entries(65), message: /at most 64 entries/ },
      { attributes: { "bad\u0001key": "v" }, message: /control characters/ },
      // A JSON key, as a token carries it: an own property named __proto__, not the prototype.
      { attributes: JSON.parse('{"__proto__":"p","ok":"1"}') as Record<string, string>, message: /^the attribute key __proto__ is reserved$/ },
    ];
    for (const [i, c] of cases.entries()) {
      const token = await generateVollyAccessToken(DEV_KEY, DEV_SECRET, { room, identity: `lim-token-${i}`, name: c.name, attributes: c.attributes });
      // Refused with the rest of the token, before any upgrade: /rtc/validate says the same.
      const validate = await fetch(`${srv.httpUrl}/rtc/validate?access_token=${token}`);
      assert.equal(validate.status, 400);
      assert.match(await validate.text(), c.message);
      const client = new VollySignalingClient({ url: srv.wsUrl, token, webSocket: WebSocket, reconnect: false });
      await assert.rejects(client.connect(), (e: unknown) => {
        assert.ok(e instanceof ConnectError, String(e));
        assert.equal(Code[e.code], Code[Code.InvalidArgument], e.message);
        assert.match(e.rawMessage, c.message);
        return true;
      });
      await client.disconnect();
    }
    const names = (await api.listParticipants(room)).map((p) => p.identity);
    assert.deepEqual(names, ["lim-alice"]);
  });
});
