import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DeliveryCursor } from "../../src/session/delivery-cursor.js";

const bytes = (id: bigint) => new TextEncoder().encode(`m${id}`);
const tick = () => new Promise((r) => setImmediate(r));

/** A cursor over a fake mailbox; records what it sent and what it reported lost. */
function cursorOver(mailbox: Array<{ id: bigint; response: Uint8Array }>, last = 0n) {
  const sent: bigint[] = [];
  const lost: Array<[bigint, bigint]> = [];
  const reads: bigint[] = [];
  const cursor = new DeliveryCursor(last, {
    sendDelivered: (id) => void sent.push(id),
    readMailbox: async (afterId) => {
      reads.push(afterId);
      return { messages: mailbox.filter((m) => m.id > afterId), firstId: mailbox[0]?.id ?? afterId + 1n };
    },
    messagesLost: (from, to) => void lost.push([from, to]),
  });
  const held = () => (cursor as unknown as { heldMap: Map<bigint, Uint8Array> | undefined }).heldMap;
  return { cursor, sent, lost, reads, held };
}

describe("delivery cursor", () => {
  test("holds deliveries until started, then sends them in order; an idle cursor keeps no map", () => {
    const { cursor, sent, held } = cursorOver([]);
    assert.equal(held(), undefined);
    cursor.deliver(2n, bytes(2n));
    cursor.deliver(1n, bytes(1n));
    assert.deepEqual(sent, []);
    assert.equal(cursor.highestSeen, 2n);
    cursor.start();
    assert.deepEqual(sent, [1n, 2n]);
    assert.equal(held(), undefined, "the map goes once nothing waits");
    cursor.deliver(3n, bytes(3n));
    cursor.deliver(3n, bytes(3n));
    cursor.deliver(2n, bytes(2n));
    assert.deepEqual(sent, [1n, 2n, 3n], "duplicates and old ids are dropped");
    assert.equal(cursor.lastDelivered, 3n);
    assert.equal(held(), undefined);
  });

  test("a gap is filled from the mailbox, in order", async () => {
    const mailbox = [1n, 2n, 3n, 4n].map((id) => ({ id, response: bytes(id) }));
    const { cursor, sent, lost } = cursorOver(mailbox);
    cursor.start();
    cursor.deliver(1n, bytes(1n));
    cursor.deliver(4n, bytes(4n)); // 2 and 3 were lost on the way
    await tick();
    assert.deepEqual(sent, [1n, 2n, 3n, 4n]);
    assert.deepEqual(lost, []);
  });

  test("ids the mailbox no longer has are reported lost and skipped", async () => {
    const mailbox = [5n, 6n].map((id) => ({ id, response: bytes(id) }));
    const { cursor, sent, lost, held } = cursorOver(mailbox);
    cursor.start();
    cursor.deliver(6n, bytes(6n));
    await tick();
    assert.deepEqual(lost, [[1n, 4n]]);
    assert.deepEqual(sent, [5n, 6n]);
    assert.equal(held(), undefined);
  });

  test("a replay after a resume goes first, then live messages continue", () => {
    const { cursor, sent } = cursorOver([], 10n);
    cursor.replay([11n, 12n].map((id) => ({ id, response: bytes(id) })));
    cursor.deliver(13n, bytes(13n));
    assert.deepEqual(sent, []);
    cursor.start();
    assert.deepEqual(sent, [11n, 12n, 13n]);
  });
});
