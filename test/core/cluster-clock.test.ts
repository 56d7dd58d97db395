// The cluster clock (src/cluster/cluster-clock.ts): anchored to a reference (Redis's TIME) and counted on the
// monotonic clock in between, so a step of this machine's wall clock never moves it. Fake clocks throughout.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ClusterClock } from "../../src/cluster/cluster-clock.js";

/** A monotonic clock the test moves by hand. */
function fakeMonotonic(start = 1000): { read: () => number; advance: (ms: number) => void } {
  let t = start;
  return { read: () => t, advance: (ms) => (t += ms) };
}

describe("ClusterClock", () => {
  test("without a source: the wall clock at construction, then counted on the monotonic clock only", async () => {
    const mono = fakeMonotonic();
    const clock = new ClusterClock(undefined, mono.read, 1_700_000_000_000);
    assert.equal(clock.now(), 1_700_000_000_000);
    mono.advance(2500);
    assert.equal(clock.now(), 1_700_000_002_500);
    assert.equal(await clock.sync(), 0, "nothing to re-anchor to");
    assert.ok(clock.isAnchored);
  });

  test("sync anchors to the source, corrected by half the round trip", async () => {
    const mono = fakeMonotonic();
    // The reference is read 4 ms into an 8 ms round trip; the local wall clock is 30 s off.
    const source = async () => {
      mono.advance(4);
      const reading = 1_700_000_000_000;
      mono.advance(4);
      return reading;
    };
    const clock = new ClusterClock(source, mono.read, 1_700_000_030_000);
    assert.equal(clock.isAnchored, false);
    const moved = await clock.sync();
    assert.equal(clock.now(), 1_700_000_000_004, "the reading plus half the round trip");
    assert.equal(Math.round(moved), -30_004, "the local clock was 30 s ahead, less the 4 ms of the trip");
    mono.advance(1000);
    assert.equal(clock.now(), 1_700_000_001_004);
  });

  test("a reading within the round trip's error keeps the anchor; a step of the reference is followed", async () => {
    const mono = fakeMonotonic();
    let reference = 5_000_000;
    let trip = 10;
    const source = async () => {
      mono.advance(trip);
      return reference + mono.read();
    };
    const clock = new ClusterClock(source, mono.read, 0);
    await clock.sync();
    const anchored = clock.now();
    // 3 ms of disagreement in a 10 ms round trip: noise, not a move.
    reference += 3;
    assert.equal(await clock.sync(), 0);
    assert.equal(clock.now(), anchored + trip);
    // The reference stepped back a minute (its host's clock was stepped): every node follows.
    reference -= 60_000;
    trip = 2;
    const moved = await clock.sync();
    assert.ok(Math.abs(moved + 60_000) < 10, `moved ${moved}`);
  });

  test("readings in whole milliseconds (Date.now, the memory store's reference) do not make now() jitter", async () => {
    const mono = fakeMonotonic(1000.25);
    // The reference and the monotonic clock agree exactly; readings are truncated to the millisecond and the
    // round trip takes no time, as Date.now() read in the same turn.
    const source = async () => Math.floor(1_700_000_000_000 + mono.read());
    const clock = new ClusterClock(source, mono.read, 0, "this host's wall clock");
    await clock.sync();
    const readings: number[] = [];
    for (let i = 0; i < 20; i++) {
      mono.advance(1000.3);
      assert.equal(await clock.sync(), 0, `sync ${i}: a truncation is not a move`);
      readings.push(clock.now());
    }
    for (let i = 1; i < readings.length; i++) assert.ok((readings[i] as number) > (readings[i - 1] as number), "now() only goes forward");
    assert.equal(clock.reference, "this host's wall clock");
  });

  test("a failing source rejects and leaves the anchor as it was", async () => {
    const mono = fakeMonotonic();
    const clock = new ClusterClock(async () => Promise.reject(new Error("down")), mono.read, 42_000);
    await assert.rejects(() => clock.sync(), /down/);
    assert.equal(clock.now(), 42_000);
  });
});
