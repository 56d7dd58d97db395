import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { startHandshake } from "../../src/client/pq/client-handshake.js";
import { errorIdOf } from "../../src/errors.js";
import { recordAad, recordNonce } from "../../src/protocol/pq/key-schedule.js";
import { nodePrimitives } from "../../src/pq/node-primitives.js";
import { nodeRecordAead } from "../../src/pq/record-aead.js";
import { ServerRecordLayer } from "../../src/pq/record-layer.js";
import { SLOT_BYTES, SecretSlab, secretSlab } from "../../src/pq/secret-slab.js";
import { ServerHandshake } from "../../src/pq/server-handshake.js";

const id = (expected: string) => (e: unknown) => errorIdOf(e) === expected;

/** Every slot the slab reserved, taken back and read: what a freed key leaves behind. */
function drain(slab: SecretSlab): Uint8Array[] {
  const views: Uint8Array[] = [];
  while (slab.inUse * SLOT_BYTES < slab.reservedBytes) views.push(slab.take());
  return views;
}

describe("secret slab", () => {
  it("hands out zeroed views of the asked length on distinct 64-byte slots, across chunks", () => {
    const slab = new SecretSlab(4);
    const views = [1, 64, 52, 64, 7, 64, 33, 64, 64, 2].map((n) => slab.take(n));
    assert.deepEqual(views.map((v) => v.length), [1, 64, 52, 64, 7, 64, 33, 64, 64, 2]);
    assert.equal(slab.inUse, 10);
    assert.equal(slab.reservedBytes, 3 * 4 * SLOT_BYTES);
    for (const v of views) assert.ok(v.every((b) => b === 0));
    views.forEach((v, i) => v.fill(i + 1));
    views.forEach((v, i) => assert.ok(v.every((b) => b === i + 1), `slot ${i} was written by another view`));
    assert.equal(new Set(views.map((v) => v.buffer)).size, 3, "ten slots in chunks of four");
    for (const v of views) assert.equal(v.byteOffset % SLOT_BYTES, 0);
  });

  it("give() zeroes the whole slot, not only the view, and the slot is reused", () => {
    const slab = new SecretSlab(2);
    const a = slab.take(10);
    const whole = new Uint8Array(a.buffer, a.byteOffset, SLOT_BYTES);
    whole.fill(0xaa);
    slab.give(a);
    assert.equal(slab.inUse, 0);
    assert.ok(whole.every((b) => b === 0), "the slot's bytes beyond the view are zeroed too");
    const b = slab.take(64);
    assert.equal(b.buffer, a.buffer);
    assert.equal(b.byteOffset, a.byteOffset);
    assert.ok(b.every((x) => x === 0));
    assert.equal(slab.reservedBytes, 2 * SLOT_BYTES, "a freed slot is reused before the slab grows");
  });

  it("refuses a view it did not hand out, a sub-view, a second give, and bad lengths, and stays intact", () => {
    const slab = new SecretSlab(4);
    const a = slab.take();
    const b = slab.take();
    b.fill(7);
    assert.throws(() => slab.give(new Uint8Array(64)), /not a slot handed out/);
    assert.throws(() => slab.give(new SecretSlab(4).take()), /not a slot handed out/);
    assert.throws(() => slab.give(a.subarray(8)), /not a slot handed out/);
    slab.give(a);
    assert.throws(() => slab.give(a), /not a slot handed out/, "a slot given back twice could go to two owners");
    for (const n of [0, -1, 65, 1.5, Number.NaN]) assert.throws(() => slab.take(n), RangeError);
    assert.throws(() => new SecretSlab(0), RangeError);
    assert.equal(slab.inUse, 1);
    assert.ok(b.every((x) => x === 7), "the refusals touched no other slot");
    const c = slab.take();
    assert.equal(c.byteOffset, a.byteOffset, "the slot given back once is handed out once");
    assert.notEqual(slab.take().byteOffset, c.byteOffset);
  });
});

describe("secret slab: the record layer's keys", () => {
  const sessionId = "0123456789abcdef0123456789abcdef";

  function clientRecord(key: Uint8Array, epoch: number, seq: number, plaintext: Uint8Array): Uint8Array {
    const view = new Uint8Array(plaintext.length + 16);
    view.set(plaintext);
    nodeRecordAead.seal(key, recordNonce(epoch, BigInt(seq)), recordAad(sessionId, "c2s", epoch, BigInt(seq)), view);
    return view;
  }

  it("holds its prefix and one epoch's keys in the slab, through rekeys, and gives back zeroed slots", () => {
    const slab = new SecretSlab(8);
    let c2s = randomBytes(32);
    const layer = new ServerRecordLayer(sessionId, { c2s: Uint8Array.from(c2s), s2c: randomBytes(32) }, 0, nodeRecordAead, slab);
    assert.equal(slab.inUse, 2, "the AAD prefix and the epoch's c2s ‖ s2c");
    for (let epoch = 1; epoch <= 20; epoch++) {
      const next = randomBytes(32);
      layer.installNextEpoch({ c2s: Uint8Array.from(next), s2c: randomBytes(32) });
      assert.equal(slab.inUse, 3, "the next epoch's keys while a rekey is pending");
      layer.seal(randomBytes(5));
      layer.switchSend();
      const text = randomBytes(9);
      assert.deepEqual(layer.openInPlace(epoch, 0, clientRecord(next, epoch, 0, text)), new Uint8Array(text));
      assert.equal(slab.inUse, 2, "the old epoch's slot goes back once the client's first new-epoch record opens");
      c2s = next;
    }
    layer.destroy();
    layer.destroy();
    assert.equal(slab.inUse, 0);
    assert.throws(() => layer.seal(new Uint8Array(1)), id("pq_record_invalid"));
    for (const v of drain(slab)) assert.ok(v.every((b) => b === 0), "no key byte is left in a freed slot");
  });

  it("a destroy while a rekey is pending gives back all three slots", () => {
    const slab = new SecretSlab(8);
    const layer = new ServerRecordLayer(sessionId, { c2s: randomBytes(32), s2c: randomBytes(32) }, 0, nodeRecordAead, slab);
    layer.installNextEpoch({ c2s: randomBytes(32), s2c: randomBytes(32) });
    layer.switchSend();
    layer.destroy();
    assert.equal(slab.inUse, 0);
  });

  it("a session id too long for a slot keeps its prefix in its own array, and still works", () => {
    const slab = new SecretSlab(8);
    const long = "s".repeat(100);
    const key = randomBytes(32);
    const layer = new ServerRecordLayer(long, { c2s: Uint8Array.from(key), s2c: randomBytes(32) }, 0, nodeRecordAead, slab);
    assert.equal(slab.inUse, 1);
    const view = new Uint8Array(20);
    view.set([1, 2, 3, 4]);
    nodeRecordAead.seal(key, recordNonce(0, 0n), recordAad(long, "c2s", 0, 0n), view);
    assert.deepEqual([...layer.openInPlace(0, 0, view)], [1, 2, 3, 4]);
    layer.destroy();
    assert.equal(slab.inUse, 0);
  });
});

describe("secret slab: a PQ session's secrets", () => {
  async function session() {
    const hs = new ServerHandshake({
      policy: { defaultAlgorithm: "ML-KEM-768", requireHybrid: false, sessionTimeoutMs: 60_000 },
      token: { accessToken: "header.payload.signature" },
      now: () => Date.now(),
    });
    const client = await startHandshake({ algorithm: "ML-KEM-768", accessToken: "header.payload.signature", primitives: nodePrimitives });
    const r = await hs.onHandshake(client.message);
    assert.ok(r);
    const done = await client.complete(r);
    return { server: await hs.onFinished({ clientFinished: done.clientFinished }), client: done.session };
  }

  it("a session holds three slots (secrets, prefix, keys) and gives them all back on destroy", async () => {
    const before = secretSlab.inUse;
    const { server, client } = await session();
    assert.equal(secretSlab.inUse, before + 3);
    assert.deepEqual(await server.exportKey("media", 32), await client.exportKey("media", 32));
    server.destroy();
    server.destroy();
    assert.equal(secretSlab.inUse, before);
    await assert.rejects(() => server.exportKey("media", 32), id("pq_session_expired"));
  });

  it("a rekey the session's end overtakes leaves no slot behind, and a full rekey keeps three", async () => {
    const before = secretSlab.inUse;
    const a = await session();
    const pending = a.server.prepareRekey(await a.client.startRekey());
    a.server.destroy();
    await assert.rejects(() => pending, id("pq_rekey_invalid"));
    assert.equal(secretSlab.inUse, before);

    const b = await session();
    const exported = await b.server.exportKey("media", 32);
    const prepared = await b.server.prepareRekey(await b.client.startRekey());
    assert.equal(secretSlab.inUse, before + 4);
    const answer = b.server.seal(new Uint8Array(0));
    prepared.commit();
    await b.client.open(answer);
    await b.client.completeRekey(prepared.response);
    const record = await b.client.seal(Uint8Array.of(42));
    assert.deepEqual([...b.server.open({ epoch: record.epoch, seq: record.seq, ciphertext: record.ciphertext })], [42]);
    assert.equal(secretSlab.inUse, before + 3, "the old epoch's slot went back once the client switched");
    assert.deepEqual(await b.server.exportKey("media", 32), exported, "the exporter survives the rekey");
    b.server.destroy();
    assert.equal(secretSlab.inUse, before);
  });
});
