// The server's ML-KEM-768 is PQClean's C build (pqclean's native addon, src/pq/native-mlkem.ts) where it was
// built. This file checks it against mlkem, whose JavaScript passes every known-answer suite, both ways round,
// and then runs those suites (ml-kem-vectors.test.ts) again in this process with the native backend in
// place: encapsulate(), decapsulate() and generateKeyPair() then go through it.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import {
  checkDecapsulationKey,
  checkEncapsulationKey,
  decapsulate,
  encapsulate,
  generateKeyPair,
  getMlKem768,
  mlKem768BackendName,
  setMlKem768Backend,
} from "../../src/protocol/pq/kem.js";
import { isPqError } from "../../src/protocol/pq/pq-error.js";
import { loadNativeMlKem, useNativeMlKem } from "../../src/pq/native-mlkem.js";
import { nodePrimitives } from "../../src/pq/node-primitives.js";

const loaded = loadNativeMlKem();
const native = typeof loaded === "string" ? undefined : loaded;
const notBuilt = `pqclean's native addon is not available here (${typeof loaded === "string" ? loaded : ""}); npm ci builds it with node-gyp`;
const p = nodePrimitives;
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

test("the native ML-KEM-768 is built where CI requires it", { skip: process.env.VOLLY_REQUIRE_NATIVE === "1" ? false : "VOLLY_REQUIRE_NATIVE is not set (.ci/run sets it)" }, () => {
  assert.ok(native, notBuilt);
});

describe("native ML-KEM-768 against mlkem", { skip: native ? false : notBuilt }, () => {
  const n = native!;

  test("mlkem decapsulates what the native backend encapsulates, to the same secret (200 keys)", async () => {
    const kem = await getMlKem768();
    for (let i = 0; i < 200; i++) {
      const [ek, dk] = kem.generateKeyPair();
      const [ct, ss] = n.encapsulate(ek);
      assert.equal(ct.length, 1088);
      assert.equal(ss.length, 32);
      assert.equal(hex(kem.decap(ct, dk)), hex(ss), `key ${i}`);
    }
  });

  test("the native backend decapsulates what mlkem encapsulates to its keys, which pass the FIPS 203 checks (200 keys)", async () => {
    const kem = await getMlKem768();
    for (let i = 0; i < 200; i++) {
      const [ek, dk] = n.generateKeyPair();
      assert.equal(ek.length, 1184);
      assert.equal(dk.length, 2400);
      checkEncapsulationKey(ek);
      checkDecapsulationKey(dk);
      assert.equal(hex(dk.subarray(1152, 2336)), hex(ek), "dk embeds ek as FIPS 203 lays it out");
      const [ct, ss] = kem.encap(ek, randomBytes(32));
      assert.equal(hex(n.decapsulate(ct, dk)), hex(ss), `key ${i}`);
    }
  });

  test("a tampered ciphertext gives mlkem's implicit-rejection secret, not the real one", async () => {
    const kem = await getMlKem768();
    const [ek, dk] = kem.generateKeyPair();
    const [ct, ss] = n.encapsulate(ek);
    for (const at of [0, 500, 1087]) {
      const bad = ct.slice();
      bad[at]! ^= 1;
      const rejected = n.decapsulate(bad, dk);
      assert.notEqual(hex(rejected), hex(ss));
      assert.equal(hex(rejected), hex(kem.decap(bad, dk)), `byte ${at}`);
    }
  });

  test("each encapsulation draws fresh randomness", async () => {
    const [ek] = (await getMlKem768()).generateKeyPair();
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) seen.add(hex(n.encapsulate(ek)[0]));
    assert.equal(seen.size, 50);
  });

  test("wrong sizes and types are refused with a TypeError, before the C code sees them", () => {
    assert.throws(() => n.encapsulate(new Uint8Array(1183)), TypeError);
    assert.throws(() => n.encapsulate("x".repeat(1184) as unknown as Uint8Array), TypeError);
    assert.throws(() => n.decapsulate(new Uint8Array(1087), new Uint8Array(2400)), TypeError);
    assert.throws(() => n.decapsulate(new Uint8Array(1088), new Uint8Array(2399)), TypeError);
    assert.equal(n.encapsulate(new Uint8Array(1184))[0].length, 1088, "the backend still works after refusing");
  });
});

describe("kem.ts with the native backend in place", { skip: native ? false : notBuilt }, () => {
  test("useNativeMlKem installs it, and the protocol functions round-trip through it", async () => {
    assert.deepEqual(useNativeMlKem(), { backend: "pqclean (native)" });
    assert.equal(mlKem768BackendName(), "pqclean (native)");
    for (const algorithm of ["ML-KEM-768", "X25519MLKEM768"] as const) {
      const pair = await generateKeyPair(algorithm, p);
      const { ciphertext, sharedSecret } = await encapsulate(algorithm, pair.publicKey, p);
      assert.equal(hex(await decapsulate(algorithm, ciphertext, pair.secretKey, p)), hex(sharedSecret), algorithm);
    }
  });

  test("encapsulate still runs the FIPS 203 modulus check the C code does not", async () => {
    const ek = new Uint8Array(1184);
    ek[0] = 0xff;
    ek[1] = 0x0f; // first coefficient 4095 ≥ q
    await assert.rejects(() => encapsulate("ML-KEM-768", ek, p), (e: unknown) => isPqError(e) && e.kind === "key_modulus");
  });

  test("setMlKem768Backend(undefined) restores mlkem, and the backend comes back for the suites below", async () => {
    setMlKem768Backend(undefined);
    assert.equal(mlKem768BackendName(), "mlkem");
    setMlKem768Backend(native);
    assert.equal(mlKem768BackendName(), "pqclean (native)");
  });
});

// The known-answer suites again, with the native backend under encapsulate/decapsulate/generateKeyPair.
if (native) {
  setMlKem768Backend(native);
  await import("./ml-kem-vectors.test.js");
}
