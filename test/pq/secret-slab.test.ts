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
  while (slab.inUse * SLOT_BYTES < slab.reservedBytes) views.push(slab.view(slab.take()));
  return views;
}

describe("secret slab", () => {
  it("hands out zeroed, distinct 64-byte slots by number, across chunks", () => {
    const slab = new SecretSlab(4);
    const slots = Array.from({ length: 10 }, () => slab.take());
    assert.equal(new Set(slots).size, 10);
    assert.equal(slab.inUse, 10);
    assert.equal(slab.reservedBytes, 3 * 4 * SLOT_BYTES);
    const views = slots.map((s) => slab.view(s));
    for (const v of views) assert.equal(v.length, SLOT_BYTES);
    for (const v of views) assert.ok(v.every((b) => b === 0));
    views.forEach((v, i) => v.fill(i + 1));
    slots.forEach((s, i) => assert.ok(slab.view(s).every((b) => b === i + 1), `slot ${i} was written through another slot`));
    assert.equal(new Set(views.map((v) => v.buffer)).size, 3, "ten slots in chunks of four");
    for (const v of views) assert.equal(v.byteOffset % SLOT_BYTES, 0);
    assert.deepEqual([...slab.view(slots[3] as number, 10, 4)], [4, 4, 4, 4], "a view at an offset");
    const out = new Uint8Array(70).fill(9);
    slab.copyOut(slots[5] as number, 7, out);
    assert.deepEqual([...out.subarray(0, 8)], [6, 6, 6, 6, 6, 6, 6, 9], "copyOut copies exactly its length");
  });

  it("give() zeroes the whole slot and the slot is reused", () => {
    const slab = new SecretSlab(2);
    const a = slab.take();
    const whole = slab.view(a);
    whole.fill(0xaa);
    slab.give(a);
    assert.equal(slab.inUse, 0);
    assert.ok(whole.every((b) => b === 0), "every byte of the slot is zeroed");
    const b = slab.take();
    assert.equal(b, a, "a freed slot is reused before the slab grows");
    assert.ok(slab.view(b).every((x) => x === 0));
    assert.equal(slab.reservedBytes, 2 * SLOT_BYTES);
  });

  it("refuses slots it did not hand out or got back, a second give, and ranges outside a slot, and stays intact", () => {
    const slab = new SecretSlab(4);
    const a = slab.take();
    const b = slab.take();
    slab.view(b).fill(7);
    for (const bad of [2, 3, 4, 1000, -1, 1.5, Number.NaN]) {
      assert.throws(() => slab.give(bad), /not handed out/, `give(${bad})`);
      assert.throws(() => slab.view(bad), /not handed out/, `view(${bad})`);
      assert.throws(() => slab.copyOut(bad, 1, new Uint8Array(1)), /not handed out/, `copyOut(${bad})`);
    }
    slab.give(a);
    assert.throws(() => slab.give(a), /not handed out/, "a slot given back twice could go to two owners");
    assert.throws(() => slab.view(a), /not handed out/, "an owner that gave its slot back cannot read the next owner's bytes");
    for (const [offset, length] of [[-1, 4], [0, 65], [60, 5], [1.5, 2]] as const) {
      assert.throws(() => slab.view(b, offset, length), RangeError);
    }
    assert.throws(() => slab.copyOut(b, 65, new Uint8Array(80)), RangeError);
    assert.throws(() => slab.copyOut(b, 8, new Uint8Array(4)), RangeError, "the target must hold what is copied");
    assert.throws(() => new SecretSlab(0), RangeError);
    assert.equal(slab.inUse, 1);
    assert.ok(slab.view(b).every((x) => x === 7), "the refusals touched no other slot");
    const c = slab.take();
    assert.equal(c, a, "the slot given back once is handed out once");
    assert.notEqual(slab.take(), c);
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
