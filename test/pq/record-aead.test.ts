import assert from "node:assert/strict";
import { createCipheriv, createDecipheriv, randomBytes, randomInt } from "node:crypto";
import { describe, test } from "node:test";
import { recordAad, recordNonce } from "../../src/protocol/pq/key-schedule.js";
import { loadNativeRecordAead, nodeRecordAead, recordAead, type RecordAead } from "../../src/pq/record-aead.js";
import { ServerRecordLayer } from "../../src/pq/record-layer.js";

const native = loadNativeRecordAead();
const backends: Array<[string, RecordAead | undefined]> = [
  ["native (native/record-aead)", native],
  ["node:crypto", nodeRecordAead],
];
const notBuilt = "native/record-aead is not built on this machine (npm ci builds it with node-gyp; see its install log)";

/** AES-256-GCM by node:crypto's streaming API, independent of both backends under test. */
function reference(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Buffer {
  const c = createCipheriv("aes-256-gcm", key, nonce, { authTagLength: 16 });
  c.setAAD(aad);
  return Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
}

function referenceOpen(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Buffer {
  const d = createDecipheriv("aes-256-gcm", key, nonce, { authTagLength: 16 });
  d.setAAD(aad);
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  return Buffer.concat([d.update(sealed.subarray(0, sealed.length - 16)), d.final()]);
}

test("the native record AEAD is built where CI requires it", { skip: process.env.VOLLY_REQUIRE_NATIVE === "1" ? false : "VOLLY_REQUIRE_NATIVE is not set (.ci/run sets it)" }, () => {
  assert.ok(native, "native/record-aead must be built: npm ci runs scripts/build-native.mjs");
  assert.equal(recordAead.backend, "native");
});

describe("native record AEAD: the key cache", { skip: native ? false : notBuilt }, () => {
  const a = native as RecordAead;

  test("keeps what it set up for a key until forget() wipes it, in either direction", () => {
    const sealKey = randomBytes(32);
    const openKey = randomBytes(32);
    const view = new Uint8Array(48);
    a.seal(sealKey, randomBytes(12), new Uint8Array(0), view);
    const nonce = randomBytes(12);
    const sealed = reference(openKey, nonce, new Uint8Array(0), randomBytes(20));
    assert.equal(a.open(openKey, nonce, new Uint8Array(0), Uint8Array.from(sealed)), true);
    assert.equal(a.forget(sealKey), true);
    assert.equal(a.forget(openKey), true);
    assert.equal(a.forget(sealKey), false);
    assert.equal(a.forget(randomBytes(32)), false, "a key never used is not there to forget");
  });

  test("a record layer's destroy() and epoch switches make the backend forget the keys they zero", () => {
    const forgotten: Buffer[] = [];
    const watched: RecordAead = { backend: a.backend, seal: a.seal, open: a.open, forget: (key) => (forgotten.push(Buffer.from(key)), a.forget(key)) };
    const c2s = randomBytes(32);
    const s2c = randomBytes(32);
    const layer = new ServerRecordLayer("sid-forget", { c2s: Uint8Array.from(c2s), s2c: Uint8Array.from(s2c) }, 0, watched);
    layer.seal(randomBytes(10));
    layer.openInPlace(0, 0, reference(c2s, recordNonce(0, 0n), recordAad("sid-forget", "c2s", 0, 0n), randomBytes(10)));
    const c2s1 = randomBytes(32);
    const s2c1 = randomBytes(32);
    layer.installNextEpoch({ c2s: Uint8Array.from(c2s1), s2c: Uint8Array.from(s2c1) });
    layer.switchSend();
    assert.ok(forgotten.some((k) => k.equals(s2c)), "the old send key is forgotten when the send side switches");
    layer.seal(randomBytes(10));
    layer.openInPlace(1, 0, reference(c2s1, recordNonce(1, 0n), recordAad("sid-forget", "c2s", 1, 0n), randomBytes(10)));
    assert.ok(forgotten.some((k) => k.equals(c2s)), "the old receive key is forgotten once the new epoch's first record arrives");
    layer.destroy();
    for (const key of [c2s1, s2c1]) {
      assert.ok(forgotten.some((k) => k.equals(key)));
      assert.equal(a.forget(key), false, "nothing of a destroyed layer's keys is left in the cache");
    }
  });
});

for (const [name, aead] of backends) {
  describe(`record AEAD: ${name}`, { skip: aead ? false : notBuilt }, () => {
    const a = aead as RecordAead;

    test("seals in place exactly as AES-256-GCM, and opens what it sealed", () => {
      for (let i = 0; i < 400; i++) {
        const size = i < 4 ? i : randomInt(0, 5000);
        const key = randomBytes(32);
        const nonce = randomBytes(12);
        const ad = randomBytes(randomInt(0, 120));
        const plaintext = randomBytes(size);
        const view = new Uint8Array(size + 16);
        view.set(plaintext);
        a.seal(key, nonce, ad, view);
        assert.deepEqual(Buffer.from(view), reference(key, nonce, ad, plaintext));
        assert.deepEqual(referenceOpen(key, nonce, ad, view), plaintext);
        assert.equal(a.open(key, nonce, ad, view), true);
        assert.deepEqual(Buffer.from(view.subarray(0, size)), plaintext);
      }
    });

    test("seals and opens a view into a larger buffer without touching its neighbours", () => {
      const key = randomBytes(32);
      const nonce = randomBytes(12);
      const buffer = new Uint8Array(300).fill(0xee);
      const plaintext = randomBytes(100);
      buffer.set(plaintext, 50);
      a.seal(key, nonce, new Uint8Array(0), buffer.subarray(50, 166));
      assert.deepEqual(Buffer.from(buffer.subarray(50, 166)), reference(key, nonce, new Uint8Array(0), plaintext));
      assert.ok(buffer.subarray(0, 50).every((b) => b === 0xee) && buffer.subarray(166).every((b) => b === 0xee));
      assert.equal(a.open(key, nonce, new Uint8Array(0), buffer.subarray(50, 166)), true);
      assert.deepEqual(Buffer.from(buffer.subarray(50, 150)), plaintext);
    });

    test("refuses any change to key, nonce, AAD, ciphertext or tag, and zeroes the bytes", () => {
      const key = randomBytes(32);
      const nonce = randomBytes(12);
      const ad = randomBytes(40);
      const plaintext = randomBytes(700);
      const sealed = reference(key, nonce, ad, plaintext);
      const flip = (b: Uint8Array, i: number) => {
        const c = Uint8Array.from(b);
        c[i] = (c[i] as number) ^ 0x01;
        return c;
      };
      const cases: Array<[Uint8Array, Uint8Array, Uint8Array, Uint8Array]> = [
        [flip(key, 7), nonce, ad, Uint8Array.from(sealed)],
        [key, flip(nonce, 11), ad, Uint8Array.from(sealed)],
        [key, nonce, flip(ad, 0), Uint8Array.from(sealed)],
        [key, nonce, ad, flip(sealed, 3)],
        [key, nonce, ad, flip(sealed, sealed.length - 1)],
        [key, nonce, ad, Uint8Array.from(sealed.subarray(1))],
      ];
      for (const [k, n, d, view] of cases) {
        assert.equal(a.open(k, n, d, view), false);
        assert.ok(view.every((b) => b === 0), "a refused record leaves no plaintext behind");
      }
    });

    test("rejects malformed arguments with a clear error instead of reading out of bounds", () => {
      const ok = [randomBytes(32), randomBytes(12), randomBytes(4), new Uint8Array(32)] as const;
      const bad: unknown[][] = [
        [randomBytes(31), ok[1], ok[2], ok[3]],
        [ok[0], randomBytes(16), ok[2], ok[3]],
        [ok[0], ok[1], ok[2], new Uint8Array(15)],
        [ok[0], ok[1], "aad", ok[3]],
        [new Uint16Array(16), ok[1], ok[2], ok[3]],
      ];
      for (const args of bad) {
        assert.throws(() => (a.seal as (...x: unknown[]) => void)(...args));
        assert.throws(() => (a.open as (...x: unknown[]) => void)(...args));
      }
      for (const key of [randomBytes(31), new Uint16Array(16), "key", undefined]) {
        assert.throws(() => (a.forget as (x: unknown) => boolean)(key), /forget\(key\[32\]\)/);
      }
    });

    test("records under many interleaved keys, colliding ones included, all match AES-256-GCM", () => {
      // More keys than the native cache has slots, used in turn, and pairs that share the bytes that pick a
      // slot, used alternately: every record must come out as if its key had been set for it alone.
      const many = Array.from({ length: 700 }, () => randomBytes(32));
      const pairs = many.slice(0, 50).flatMap((k) => [k, Buffer.concat([k.subarray(0, 8), randomBytes(24)])]);
      const check = (key: Buffer) => {
        const nonce = randomBytes(12);
        const plaintext = randomBytes(randomInt(0, 400));
        const view = new Uint8Array(plaintext.length + 16);
        view.set(plaintext);
        a.seal(key, nonce, new Uint8Array(0), view);
        assert.deepEqual(Buffer.from(view), reference(key, nonce, new Uint8Array(0), plaintext));
        assert.equal(a.open(key, nonce, new Uint8Array(0), view), true);
        assert.deepEqual(Buffer.from(view.subarray(0, plaintext.length)), plaintext);
      };
      for (let round = 0; round < 3; round++) {
        for (const key of many) check(key);
        for (const key of pairs) check(key);
      }
    });

    test("a forgotten key still seals and opens correctly afterwards", () => {
      const key = randomBytes(32);
      const nonce = randomBytes(12);
      const plaintext = randomBytes(64);
      const view = new Uint8Array(80);
      view.set(plaintext);
      a.seal(key, nonce, new Uint8Array(0), view);
      a.forget(key);
      assert.equal(a.forget(key), false, "a key is forgotten once");
      assert.equal(a.open(key, nonce, new Uint8Array(0), view), true);
      assert.deepEqual(Buffer.from(view.subarray(0, 64)), plaintext);
    });

    test("a record layer on this backend interoperates with the DESIGN §5 record format", () => {
      const sessionId = randomBytes(16).toString("hex");
      const c2s = randomBytes(32);
      const s2c = randomBytes(32);
      const layer = new ServerRecordLayer(sessionId, { c2s: Uint8Array.from(c2s), s2c: Uint8Array.from(s2c) }, 0, a);
      for (let seq = 0; seq < 50; seq++) {
        const message = randomBytes(randomInt(0, 3000));
        const sealed = reference(c2s, recordNonce(0, BigInt(seq)), recordAad(sessionId, "c2s", 0, BigInt(seq)), message);
        assert.deepEqual(Buffer.from(layer.openInPlace(0, seq, sealed)), message);
        assert.equal(layer.sendSeq, seq);
        const out = layer.seal(message);
        assert.equal(out.seq, BigInt(seq));
        assert.deepEqual(referenceOpen(s2c, recordNonce(0, out.seq), recordAad(sessionId, "s2c", 0, out.seq), out.ciphertext), message);
      }
      // Replaying record 49 is refused, and the layer refuses everything afterwards.
      const replay = reference(c2s, recordNonce(0, 49n), recordAad(sessionId, "c2s", 0, 49n), randomBytes(10));
      assert.throws(() => layer.openInPlace(0, 49, replay), /record/);
      const next = reference(c2s, recordNonce(0, 50n), recordAad(sessionId, "c2s", 0, 50n), randomBytes(10));
      assert.throws(() => layer.openInPlace(0, 50, next), /record/);
    });
  });
}
