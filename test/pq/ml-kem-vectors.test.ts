import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { gunzipSync } from "node:zlib";
import { ml_kem768 } from "@noble/post-quantum/ml-kem.js";
import {
  checkDecapsulationKey,
  checkEncapsulationKey,
  checkPublicKey,
  decapsulate,
  encapsulate,
  generateKeyPair,
  getMlKem768,
} from "../../src/protocol/pq/kem.js";
import { isPqError } from "../../src/protocol/pq/pq-error.js";
import { nodePrimitives } from "../../src/pq/node-primitives.js";
import { createWebCryptoPrimitives } from "../../src/protocol/pq/webcrypto-primitives.js";

const VECTORS = path.resolve(process.cwd(), "../shared/vectors/ml-kem-768");
const p = nodePrimitives;

interface Group<T> {
  tgId?: number;
  parameterSet?: string;
  function?: string;
  testType?: string;
  tests: T[];
}
interface VectorFile<T> {
  testGroups: Array<Group<T>>;
}
type Row = Record<string, unknown> & { tcId: number };

function load<T = Row>(name: string): VectorFile<T> {
  return JSON.parse(gunzipSync(readFileSync(path.join(VECTORS, name))).toString("utf8")) as VectorFile<T>;
}
function hex(s: unknown): Uint8Array {
  assert.equal(typeof s, "string");
  return new Uint8Array(Buffer.from(s as string, "hex"));
}
function str(s: unknown): string {
  assert.equal(typeof s, "string");
  return s as string;
}
function eqHex(actual: Uint8Array, expected: unknown, msg: string): void {
  assert.equal(Buffer.from(actual).toString("hex"), str(expected).toLowerCase(), msg);
}
/** ACVP results are matched to prompts by tgId/tcId. */
function acvp(mode: string): Array<{ group: Group<Row>; test: Row; expected: Row }> {
  const prompt = load(`ML-KEM-${mode}-FIPS203-prompt.json.gz`);
  const results = load(`ML-KEM-${mode}-FIPS203-expectedResults.json.gz`);
  const byId = new Map<number, Row>();
  for (const g of results.testGroups) for (const t of g.tests) byId.set(t.tcId, t);
  const out: Array<{ group: Group<Row>; test: Row; expected: Row }> = [];
  for (const group of prompt.testGroups) {
    if (group.parameterSet !== "ML-KEM-768") continue;
    for (const test of group.tests) {
      const expected = byId.get(test.tcId);
      assert.ok(expected, `expected result for tcId ${test.tcId}`);
      out.push({ group, test, expected });
    }
  }
  return out;
}
function throwsPq(fn: () => unknown, kind: string, msg?: string): void {
  assert.throws(fn, (e: unknown) => isPqError(e) && e.kind === kind, msg);
}
async function rejectsPq(fn: () => Promise<unknown>, kind: string, msg?: string): Promise<void> {
  await assert.rejects(fn, (e: unknown) => isPqError(e) && e.kind === kind, msg);
}

describe("ACVP ML-KEM FIPS203 (ML-KEM-768)", () => {
  it("keyGen: d ‖ z → ek, dk (25 cases)", async () => {
    const kem = await getMlKem768();
    const cases = acvp("keyGen");
    assert.equal(cases.length, 25);
    for (const { test, expected } of cases) {
      const [ek, dk] = kem.deriveKeyPair(new Uint8Array([...hex(test.d), ...hex(test.z)]));
      eqHex(ek, expected.ek, `ek tcId ${test.tcId}`);
      eqHex(dk, expected.dk, `dk tcId ${test.tcId}`);
      checkDecapsulationKey(dk);
    }
  });

  const encapDecap = acvp("encapDecap");
  const of = (fn: string): typeof encapDecap => encapDecap.filter((c) => c.group.function === fn);

  it("encapsulation AFT: ek, m → c, k (25 cases)", async () => {
    const kem = await getMlKem768();
    const cases = of("encapsulation");
    assert.equal(cases.length, 25);
    for (const { test, expected } of cases) {
      const [c, k] = kem.encap(hex(test.ek), hex(test.m));
      eqHex(c, expected.c, `c tcId ${test.tcId}`);
      eqHex(k, expected.k, `k tcId ${test.tcId}`);
    }
  });

  it("decapsulation VAL: dk, c → k through kem.decapsulate (10 cases)", async () => {
    const cases = of("decapsulation");
    assert.equal(cases.length, 10);
    for (const { test, expected } of cases) {
      const k = await decapsulate("ML-KEM-768", hex(test.c), { algorithm: "ML-KEM-768", mlkem: hex(test.dk) }, p);
      eqHex(k, expected.k, `k tcId ${test.tcId}`);
    }
  });

  it("encapsulationKeyCheck: checkEncapsulationKey and encapsulate agree with testPassed (10 cases)", async () => {
    const cases = of("encapsulationKeyCheck");
    assert.equal(cases.length, 10);
    assert.ok(cases.some((c) => c.expected.testPassed === false) && cases.some((c) => c.expected.testPassed === true));
    for (const { test, expected } of cases) {
      const ek = hex(test.ek);
      if (expected.testPassed === true) {
        checkEncapsulationKey(ek);
        await encapsulate("ML-KEM-768", ek, p);
      } else {
        assert.throws(() => checkEncapsulationKey(ek), (e: unknown) => isPqError(e), `tcId ${test.tcId}`);
        await assert.rejects(() => encapsulate("ML-KEM-768", ek, p), (e: unknown) => isPqError(e), `tcId ${test.tcId}`);
      }
    }
  });

  it("decapsulationKeyCheck: checkDecapsulationKey (the FIPS 203 §7.3 hash check mlkem skips) agrees with testPassed (10 cases)", async () => {
    const cases = of("decapsulationKeyCheck");
    assert.equal(cases.length, 10);
    const failing = cases.filter((c) => c.expected.testPassed === false);
    assert.ok(failing.length > 0 && failing.length < cases.length);
    const kem = await getMlKem768();
    const ct = new Uint8Array(1088);
    for (const { test, expected } of cases) {
      const dk = hex(test.dk);
      if (expected.testPassed === true) {
        checkDecapsulationKey(dk);
        await decapsulate("ML-KEM-768", ct, { algorithm: "ML-KEM-768", mlkem: dk }, p);
      } else {
        throwsPq(() => checkDecapsulationKey(dk), "secret_key_invalid", `tcId ${test.tcId}`);
        await rejectsPq(() => decapsulate("ML-KEM-768", ct, { algorithm: "ML-KEM-768", mlkem: dk }, p), "secret_key_invalid");
        // Documents why the check exists: mlkem alone accepts at least one of these keys.
      }
    }
    const acceptedByMlkem = failing.filter(({ test }) => {
      try {
        kem.decap(ct, hex(test.dk));
        return true;
      } catch {
        return false;
      }
    });
    assert.ok(acceptedByMlkem.length > 0, "mlkem skips the hash check (if this fails, mlkem added it)");
  });
});

describe("Wycheproof ML-KEM-768", () => {
  it("mlkem_768_encaps_test: valid (ek, m → c, K) and invalid incl. ModulusOverflow", async () => {
    const kem = await getMlKem768();
    let valid = 0;
    let invalid = 0;
    let modulus = 0;
    for (const g of load("wycheproof-mlkem_768_encaps_test.json.gz").testGroups) {
      for (const t of g.tests) {
        const ek = hex(t.ek);
        if (t.result === "valid") {
          const [c, k] = kem.encap(ek, hex(t.m));
          eqHex(c, t.c, `c tcId ${t.tcId}`);
          eqHex(k, t.K, `K tcId ${t.tcId}`);
          checkEncapsulationKey(ek);
          valid++;
        } else {
          assert.equal(t.result, "invalid");
          assert.throws(() => checkEncapsulationKey(ek), (e: unknown) => isPqError(e), `tcId ${t.tcId}`);
          await assert.rejects(() => encapsulate("ML-KEM-768", ek, p), (e: unknown) => isPqError(e), `tcId ${t.tcId}`);
          assert.throws(() => kem.encap(ek, hex(t.m)), `mlkem refuses tcId ${t.tcId}`);
          if ((t.flags as string[]).includes("ModulusOverflow")) {
            throwsPq(() => checkEncapsulationKey(ek), "key_modulus");
            modulus++;
          }
          invalid++;
        }
      }
    }
    assert.equal(valid, 133);
    assert.equal(invalid, 132);
    assert.equal(modulus, 12);
  });

  it("mlkem_768_test: seed → ek, decapsulation of c → K (incl. Strcmp), invalid lengths refused", async () => {
    const kem = await getMlKem768();
    let count = 0;
    for (const g of load("wycheproof-mlkem_768_test.json.gz").testGroups) {
      for (const t of g.tests) {
        const seed = hex(t.seed);
        const c = hex(t.c);
        count++;
        if (t.result === "valid") {
          const [ek, dk] = kem.deriveKeyPair(seed);
          eqHex(ek, t.ek, `ek tcId ${t.tcId}`);
          eqHex(await decapsulate("ML-KEM-768", c, { algorithm: "ML-KEM-768", mlkem: dk }, p), t.K, `K tcId ${t.tcId}`);
          continue;
        }
        if (seed.length !== 64) {
          assert.throws(() => kem.deriveKeyPair(seed), `seed length tcId ${t.tcId}`);
          continue;
        }
        const [, dk] = kem.deriveKeyPair(seed);
        await rejectsPq(() => decapsulate("ML-KEM-768", c, { algorithm: "ML-KEM-768", mlkem: dk }, p), "ciphertext_length");
      }
    }
    assert.equal(count, 193);
  });

  it("mlkem_768_keygen_seed_test: seed → ek, dk (100 cases)", async () => {
    const kem = await getMlKem768();
    let n = 0;
    for (const g of load("wycheproof-mlkem_768_keygen_seed_test.json.gz").testGroups) {
      for (const t of g.tests) {
        const [ek, dk] = kem.deriveKeyPair(hex(t.seed));
        eqHex(ek, t.ek, `ek tcId ${t.tcId}`);
        eqHex(dk, t.dk, `dk tcId ${t.tcId}`);
        n++;
      }
    }
    assert.equal(n, 100);
  });

  it("mlkem_768_semi_expanded_decaps_test: valid K, invalid lengths and corrupted keys refused", async () => {
    let n = 0;
    for (const g of load("wycheproof-mlkem_768_semi_expanded_decaps_test.json.gz").testGroups) {
      for (const t of g.tests) {
        const sk = { algorithm: "ML-KEM-768" as const, mlkem: hex(t.dk) };
        if (t.result === "valid") eqHex(await decapsulate("ML-KEM-768", hex(t.c), sk, p), t.K, `tcId ${t.tcId}`);
        else await assert.rejects(() => decapsulate("ML-KEM-768", hex(t.c), sk, p), (e: unknown) => isPqError(e), `tcId ${t.tcId}`);
        n++;
      }
    }
    assert.equal(n, 9);
  });
});

describe("accumulated test (Go TestAccumulated, FIPS 203 final)", () => {
  it("100 iterations give 1114b1b6…", async () => {
    const kem = await getMlKem768();
    const n = 100;
    const stream = createHash("shake128", { outputLength: n * (64 + 32 + 1088) }).digest();
    const out = createHash("shake128", { outputLength: 32 });
    let off = 0;
    const take = (len: number): Uint8Array => Uint8Array.from(stream.subarray(off, (off += len)));
    for (let i = 0; i < n; i++) {
      const [ek, dk] = kem.deriveKeyPair(take(64));
      out.update(ek);
      const [ct, k] = kem.encap(ek, take(32));
      out.update(ct);
      out.update(k);
      const sk = { algorithm: "ML-KEM-768" as const, mlkem: dk };
      assert.deepEqual(await decapsulate("ML-KEM-768", ct, sk, p), k);
      out.update(await decapsulate("ML-KEM-768", take(1088), sk, p)); // implicit rejection
    }
    assert.equal(out.digest("hex"), "1114b1b6699ed191734fa339376afa7e285c9e6acf6ff0177d346696ce564415");
  });
});

describe("cross-check with @noble/post-quantum", () => {
  it("noble decapsulates what the project encapsulates, and the reverse", async () => {
    for (let i = 0; i < 5; i++) {
      const noble = ml_kem768.keygen();
      const enc = await encapsulate("ML-KEM-768", noble.publicKey, p);
      assert.deepEqual(ml_kem768.decapsulate(enc.ciphertext, noble.secretKey), enc.sharedSecret);

      const ours = await generateKeyPair("ML-KEM-768", p);
      const nobleEnc = ml_kem768.encapsulate(ours.publicKey);
      assert.deepEqual(await decapsulate("ML-KEM-768", nobleEnc.cipherText, ours.secretKey, p), nobleEnc.sharedSecret);
      // noble runs the §7.3 hash check itself: our keys pass it.
      assert.deepEqual(ml_kem768.decapsulate(nobleEnc.cipherText, ours.secretKey.mlkem), nobleEnc.sharedSecret);
    }
  });

  it("deterministic keygen and encapsulation match byte for byte", async () => {
    const kem = await getMlKem768();
    const seed = Uint8Array.from({ length: 64 }, (_, i) => i * 7);
    const m = Uint8Array.from({ length: 32 }, (_, i) => 255 - i);
    const [ek, dk] = kem.deriveKeyPair(seed);
    const n = ml_kem768.keygen(seed);
    assert.deepEqual(ek, n.publicKey);
    assert.deepEqual(dk, n.secretKey);
    const [c, k] = kem.encap(ek, m);
    const ne = ml_kem768.encapsulate(ek, m);
    assert.deepEqual(c, ne.cipherText);
    assert.deepEqual(k, ne.sharedSecret);
  });
});

describe("negative cases", () => {
  it("a flipped ciphertext byte gives a different key without throwing (implicit rejection)", async () => {
    const kp = await generateKeyPair("ML-KEM-768", p);
    const { ciphertext, sharedSecret } = await encapsulate("ML-KEM-768", kp.publicKey, p);
    for (const index of [0, 500, 1087]) {
      const bad = ciphertext.slice();
      bad[index]! ^= 0x01;
      const k = await decapsulate("ML-KEM-768", bad, kp.secretKey, p);
      assert.equal(k.length, 32);
      assert.notDeepEqual(k, sharedSecret);
    }
  });

  it("an encapsulation key with a coefficient ≥ q is refused (key_modulus)", async () => {
    const kp = await generateKeyPair("ML-KEM-768", p);
    const bad = kp.publicKey.slice();
    bad[0] = 0xff;
    bad[1]! |= 0x0f;
    throwsPq(() => checkEncapsulationKey(bad), "key_modulus");
    await rejectsPq(() => encapsulate("ML-KEM-768", bad, p), "key_modulus");
    // The same ML-KEM part inside a hybrid share.
    await rejectsPq(() => encapsulate("X25519MLKEM768", new Uint8Array([...bad, ...new Uint8Array(32).fill(9)]), p), "key_modulus");
    // The largest reduced coefficient (3328) is fine: 3328 = 0xD00.
    const edge = kp.publicKey.slice();
    edge[0] = 0x00;
    edge[1] = (edge[1]! & 0xf0) | 0x0d;
    checkEncapsulationKey(edge);
  });

  it("wrong lengths are refused", async () => {
    const kp = await generateKeyPair("ML-KEM-768", p);
    for (const len of [0, 1183, 1185, 1216]) {
      throwsPq(() => checkPublicKey("ML-KEM-768", new Uint8Array(len)), "key_length");
      await rejectsPq(() => encapsulate("ML-KEM-768", new Uint8Array(len), p), "key_length");
    }
    throwsPq(() => checkPublicKey("X25519MLKEM768", kp.publicKey), "key_length");
    for (const len of [0, 1087, 1089, 1120]) {
      await rejectsPq(() => decapsulate("ML-KEM-768", new Uint8Array(len), kp.secretKey, p), "ciphertext_length");
    }
    for (const len of [2399, 2401]) {
      throwsPq(() => checkDecapsulationKey(new Uint8Array(len)), "secret_key_invalid");
    }
  });

  it("hybrid: round trip under both primitives; all-zero and low-order X25519 shares refused", async () => {
    for (const prim of [p, createWebCryptoPrimitives()]) {
      const kp = await generateKeyPair("X25519MLKEM768", prim);
      assert.equal(kp.publicKey.length, 1216);
      const enc = await encapsulate("X25519MLKEM768", kp.publicKey, prim);
      assert.equal(enc.ciphertext.length, 1120);
      assert.equal(enc.sharedSecret.length, 64);
      assert.deepEqual(await decapsulate("X25519MLKEM768", enc.ciphertext, kp.secretKey, prim), enc.sharedSecret);
      // The ML-KEM half is the plain ML-KEM shared secret (TLS layout: mlkem_ss ‖ x25519_ss).
      assert.deepEqual(ml_kem768.decapsulate(enc.ciphertext.subarray(0, 1088), kp.secretKey.mlkem), enc.sharedSecret.subarray(0, 32));
      const lowOrder = [new Uint8Array(32), Uint8Array.of(1, ...new Uint8Array(31))];
      for (const point of lowOrder) {
        const share = new Uint8Array([...kp.publicKey.subarray(0, 1184), ...point]);
        await rejectsPq(() => encapsulate("X25519MLKEM768", share, prim), "x25519_zero");
        const ct = new Uint8Array([...enc.ciphertext.subarray(0, 1088), ...point]);
        await rejectsPq(() => decapsulate("X25519MLKEM768", ct, kp.secretKey, prim), "x25519_zero");
      }
    }
  });
});
