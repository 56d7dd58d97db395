import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import type { Bus } from "../../src/bus/bus.js";

/** Two buses on the same medium (the same memory bus twice, or two Redis connections) and their disposal. */
export interface BusFixture {
  readonly buses: readonly [Bus, Bus];
  close(): Promise<void>;
}

/** Collects what a subscription receives. */
function collector() {
  const got: Uint8Array[] = [];
  let wake: (() => void) | undefined;
  return {
    got,
    handler: (p: Uint8Array) => {
      got.push(new Uint8Array(p));
      wake?.();
    },
    async waitFor(n: number, timeoutMs = 5000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (got.length < n) {
        if (Date.now() > deadline) throw new Error(`got ${got.length} of ${n} messages`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 50);
        });
      }
    },
  };
}

/**
 * The `Bus` contract, run against each implementation: delivery to every subscriber of a topic on any
 * bus of the medium, nothing across topics, per-publisher order, binary payloads intact, unsubscribe.
 */
export function busContract(name: string, makeBuses: () => Promise<BusFixture>, options: { skip?: string | false } = {}): void {
  describe(`Bus contract: ${name}`, { skip: options.skip }, () => {
    let fx: BusFixture;
    beforeEach(async () => {
      fx = await makeBuses();
    });
    afterEach(() => fx.close());

    test("ping answers", async () => {
      await fx.buses[0].ping();
      await fx.buses[1].ping();
    });

    test("a message reaches every subscriber of its topic, on either bus, and no other topic", async () => {
      const [a, b] = fx.buses;
      const onA = collector();
      const onB = collector();
      const other = collector();
      await a.subscribe("node:x", onA.handler);
      await b.subscribe("node:x", onB.handler);
      await b.subscribe("node:y", other.handler);
      await a.publish("node:x", new Uint8Array([1, 2, 3]));
      await onA.waitFor(1);
      await onB.waitFor(1);
      assert.deepEqual([...(onA.got[0] ?? [])], [1, 2, 3]);
      assert.deepEqual([...(onB.got[0] ?? [])], [1, 2, 3]);
      await b.publish("node:y", new Uint8Array([9]));
      await other.waitFor(1);
      assert.equal(onA.got.length, 1);
    });

    test("messages from one publisher arrive in order, binary intact", async () => {
      const [a, b] = fx.buses;
      const sink = collector();
      await b.subscribe("node:order", sink.handler);
      const all = new Uint8Array(256).map((_, i) => i);
      for (let i = 0; i < 200; i++) await a.publish("node:order", new Uint8Array([i, ...all]));
      await sink.waitFor(200);
      assert.deepEqual(sink.got.map((m) => m[0]), Array.from({ length: 200 }, (_, i) => i));
      assert.deepEqual([...(sink.got[7]?.subarray(1) ?? [])], [...all]);
    });

    test("unsubscribe stops delivery to that handler only", async () => {
      const [a, b] = fx.buses;
      const one = collector();
      const two = collector();
      const stopOne = await b.subscribe("node:u", one.handler);
      await b.subscribe("node:u", two.handler);
      await a.publish("node:u", new Uint8Array([1]));
      await one.waitFor(1);
      await two.waitFor(1);
      await stopOne();
      await a.publish("node:u", new Uint8Array([2]));
      await two.waitFor(2);
      assert.equal(one.got.length, 1);
    });

    test("publishing to a topic nobody listens to is fine", async () => {
      await fx.buses[0].publish("node:nobody", new Uint8Array([0]));
    });
  });
}
