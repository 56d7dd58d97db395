import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { ConnectError } from "@connectrpc/connect";
import { closeCodeOf, codeName, errorIdOf, errors, httpStatusOf, toPublicError, twirpCodeOf } from "../../src/errors.js";

const catalogue = Object.entries(errors).map(([key, make]) => {
  const e = (make as (...args: unknown[]) => ConnectError)("x", 1);
  return { key, id: errorIdOf(e) ?? "", error: e };
});

test("every catalogue entry has a unique id named after its factory", () => {
  const ids = catalogue.map((c) => c.id);
  assert.equal(new Set(ids).size, ids.length);
  for (const c of catalogue) {
    assert.equal(c.id, c.key.replace(/[A-Z]/g, (m) => `_${m.toLowerCase()}`), c.key);
    assert.ok(c.error instanceof ConnectError);
  }
});

test("docs/errors.md lists every id, and nothing else", () => {
  const doc = readFileSync(new URL("../../docs/errors.md", import.meta.url), "utf8");
  const documented = new Set([...doc.matchAll(/^\| `([a-z0-9_]+)` \|/gm)].map((m) => m[1]));
  for (const c of catalogue) assert.ok(documented.has(c.id), `${c.id} missing from docs/errors.md`);
  for (const id of documented) assert.ok(catalogue.some((c) => c.id === id), `docs/errors.md lists unknown id ${id}`);
  // Each row states the code the catalogue uses.
  for (const c of catalogue) {
    const row = doc.split("\n").find((l) => l.startsWith(`| \`${c.id}\` |`)) ?? "";
    assert.match(row, new RegExp(`\`${codeName(c.error.code)}\``), `${c.id}: code in docs`);
  }
});

test("unexpected errors reach clients as internal, without internals", () => {
  const leaked = toPublicError(new Error("ECONNREFUSED 10.0.0.5:6379 password=hunter2"));
  assert.equal(codeName(leaked.code), "internal");
  assert.equal(leaked.rawMessage, "internal error");
  // A ConnectError that is not from the catalogue is not trusted either.
  assert.equal(toPublicError(new ConnectError("secret detail", 5)).rawMessage, "internal error");
  const known = errors.roomFull();
  assert.equal(toPublicError(known), known);
});

test("one mapping from codes to HTTP statuses, close codes and Twirp", () => {
  assert.equal(httpStatusOf(errors.tokenInvalid("x").code), 401);
  assert.equal(httpStatusOf(errors.noRoomGrant().code), 403);
  assert.equal(httpStatusOf(errors.roomNameMissing().code), 400);
  assert.equal(httpStatusOf(errors.roomNotFound().code), 404);
  assert.equal(closeCodeOf(errors.pqRecordInvalid().code), 4015);
  assert.equal(closeCodeOf(errors.tokenMissing().code), 4016);
  assert.deepEqual(twirpCodeOf(errors.pqRecordInvalid().code), { code: "dataloss", status: 500 });
  assert.deepEqual(twirpCodeOf(errors.unexpectedMessage("x").code), { code: "failed_precondition", status: 412 });
  assert.deepEqual(twirpCodeOf(errors.roomNotFound().code), { code: "not_found", status: 404 });
});

test("Twirp's own codes: bad_route and malformed (a body that does not decode), by catalogue id", () => {
  const badRoute = errors.badRoute("x");
  assert.deepEqual(twirpCodeOf(badRoute.code, errorIdOf(badRoute)), { code: "bad_route", status: 404 });
  const malformed = errors.malformedMessage("request body does not decode as livekit.ListRoomsRequest");
  assert.deepEqual(twirpCodeOf(malformed.code, errorIdOf(malformed)), { code: "malformed", status: 400 });
  // The same error over Connect and gRPC is invalid_argument, 400 as well.
  assert.deepEqual([codeName(malformed.code), httpStatusOf(malformed.code)], ["invalid_argument", 400]);
});

test("request_too_large: resource_exhausted (gRPC's code for a message over the limit) with the limit in words", () => {
  const e = errors.requestTooLarge(1 << 20);
  assert.deepEqual([errorIdOf(e), codeName(e.code), e.rawMessage], ["request_too_large", "resource_exhausted", "request body larger than 1 MiB"]);
  assert.equal(errors.requestTooLarge(64 * 1024).rawMessage, "request body larger than 64 KiB");
  assert.equal(errors.requestTooLarge(1000).rawMessage, "request body larger than 1000 bytes");
  // Connect and Twirp agree: 429.
  assert.equal(httpStatusOf(e.code), 429);
  assert.deepEqual(twirpCodeOf(e.code, errorIdOf(e)), { code: "resource_exhausted", status: 429 });
});
