import assert from "node:assert/strict";
import { test } from "node:test";
import { keepClaims, restoreClaims, TokenVerifier } from "../../src/auth/access-token.js";
import { intern } from "../../src/intern-string.js";
import { pack, unpack } from "../../src/store/compact-records.js";
import { create } from "@bufbuild/protobuf";
import { StoredSessionSchema } from "../../gen/volly/signaling/v1/internal_pb.js";
import { DEV_KEY, DEV_SECRET, makeToken } from "../helpers/tokens.js";

// What a joined connection keeps of its claims (the payload's JSON text, as the token carried it) must decode
// to the claims it was verified with: the token refresh re-signs them.
test("kept claims are the token's payload text and restore to the verified claims, without the token", async () => {
  const verifier = new TokenVerifier(new Map([[DEV_KEY, DEV_SECRET]]));
  const token = await makeToken({
    identity: "zoë",
    name: "Zoë ✓ 🎧",
    metadata: '{"seat":3}',
    grant: { room: "kept-room", hidden: true, canPublish: false, canPublishData: undefined },
    claims: { attributes: { team: "blue", "ünï": "cödé" }, custom: { nested: [1, 2, 3] } },
  });
  const claims = await verifier.verify(token);
  const kept = keepClaims(claims);
  assert.equal(kept, Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8"), "the payload's JSON text, nothing rebuilt");
  assert.doesNotMatch(kept, /eyJ/, "no token in what is kept");
  const restored = restoreClaims(kept);
  assert.equal(restored.token, "");
  const { token: _t, ...expected } = claims;
  const { token: _r, ...actual } = restored;
  assert.deepEqual(actual, expected);
  assert.equal(restored.apiKey, DEV_KEY, "the API key is the payload's iss");
  assert.equal(restored.identity, "zoë");
  assert.deepEqual(restored.attributes, { team: "blue", "ünï": "cödé" });
  assert.equal(restored.video.canPublishData, false, "canPublishData follows canPublish");
});

test("intern returns an equal string for any content, and packed records still decode", () => {
  const samples = ["", "a", "123", "4294967295", "-0", "__proto__", "constructor", "\u0000\u00ff\n", "x".repeat(5000), "Zoë 🎧", "\ud800"];
  for (const s of samples) {
    // A copy with its own storage, as a decoded token's claims or a packed record would be.
    const copy = s.split("").join("");
    assert.equal(intern(copy), s);
    assert.equal(intern(s), s, "interning twice gives the same contents");
  }
  const session = create(StoredSessionSchema, { sessionId: "0123456789abcdef0123456789abcdef", identity: "zoë", room: "r", nodeId: "n", createdAt: 1n, expiresAt: 2n });
  const a = pack(StoredSessionSchema, session);
  const b = pack(StoredSessionSchema, session);
  assert.equal(a, b);
  assert.deepEqual(unpack(StoredSessionSchema, b), session);
});
