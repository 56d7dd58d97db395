import assert from "node:assert/strict";
import { test } from "node:test";
import { keepClaims, restoreClaims, TokenVerifier } from "../../src/auth/access-token.js";
import { intern } from "../../src/intern-string.js";
import { pack, unpack } from "../../src/store/compact-records.js";
import { create } from "@bufbuild/protobuf";
import { StoredSessionSchema } from "../../gen/volly/signaling/v1/internal_pb.js";
import { DEV_KEY, DEV_SECRET, makeToken } from "../helpers/tokens.js";

// What a joined connection keeps of its claims must give back what the token refresh signs again: every
// claim but the ones the refresh sets itself (iss, iat, nbf, exp), with the identity and the expiry.
test("kept claims restore to the verified claims a refresh needs, hold no token, and are equal across a room's grant", async () => {
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
  assert.doesNotMatch(kept, /eyJ/, "no token in what is kept");
  for (const claim of ["iss", "nbf", "exp", "sub"]) assert.equal(claim in JSON.parse(kept), false, `${claim} is not kept`);
  const restored = restoreClaims(kept, claims.identity, claims.expiresAt);
  assert.equal(restored.token, "");
  const { token: _t, apiKey: _a, payload, ...expected } = claims;
  const { token: _r, apiKey: _b, payload: restoredPayload, ...actual } = restored;
  assert.deepEqual(actual, expected, "identity, name, metadata, attributes, grant and expiry");
  const { iss: _i, nbf: _n, ...signedAgain } = payload;
  assert.deepEqual(restoredPayload, signedAgain, "every claim a refresh signs again");
  assert.deepEqual(restored.attributes, { team: "blue", "ünï": "cödé" });
  assert.equal(restored.video.canPublishData, false, "canPublishData follows canPublish");

  // Two participants with the same grant keep equal strings (kept once, see intern-string.ts).
  const [a, b] = await Promise.all(["ann", "bob"].map(async (identity) => keepClaims(await verifier.verify(await makeToken({ identity, room: "same" })))));
  assert.equal(a, b);
  // An identity that is not the token's sub (it came from jti) keeps the sub it had.
  const jti = await verifier.verify(await makeToken({ identity: "", claims: { jti: "from-jti" } }));
  assert.equal(jti.identity, "from-jti");
  assert.equal(restoreClaims(keepClaims(jti), jti.identity, jti.expiresAt).identity, "from-jti");
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
