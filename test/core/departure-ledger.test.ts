import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { create } from "@bufbuild/protobuf";
import { DisconnectReason, ParticipantInfoSchema } from "../../gen/volly/signaling/v1/models_pb.js";
import { DepartureLedger } from "../../src/room/departure-ledger.js";

const departure = (sid: string, until: number) => ({
  room: "r",
  info: create(ParticipantInfoSchema, { sid, identity: `id-${sid}` }),
  reason: DisconnectReason.SIGNAL_CLOSE,
  until,
});

test("departures: kept while their window runs, forgotten on resume, one per sid, bounded", () => {
  // A clock far in the past: the pruning timer (below) never fires during this test.
  const ledger = new DepartureLedger({ now: () => -1e12 });
  ledger.record(departure("PA_a", 1000));
  ledger.record(departure("PA_b", 3000));
  ledger.record(departure("PA_c", 3000));
  ledger.forget("PA_c");
  assert.deepEqual(ledger.current(500).map((d) => d.info.sid), ["PA_a", "PA_b"]);
  assert.deepEqual(ledger.current(2000).map((d) => d.info.sid), ["PA_b"]);
  // Recorded again (it dropped again): one entry, the newer window.
  ledger.record(departure("PA_b", 5000));
  assert.deepEqual(ledger.current(4000).map((d) => [d.info.sid, d.until]), [["PA_b", 5000]]);
  for (let i = 0; i < 10_050; i++) ledger.record(departure(`PA_${i}`, 9000));
  const kept = ledger.current(0);
  assert.equal(kept.length, 10_000);
  assert.equal(kept[0]?.info.sid, "PA_50", "the oldest are forgotten first");
  ledger.stop();
});

// Only an empty Redis restart reads the ledger: without one, departures past their window (each holding the
// participant's metadata and attributes) stayed until the cap, on a node that merely saw participants drop.
test("departures are forgotten by themselves once their window ends, with no one reading the ledger", async () => {
  const start = Date.now();
  const ledger = new DepartureLedger({ now: () => Date.now() });
  try {
    ledger.record(departure("PA_x", start + 100));
    ledger.record(departure("PA_y", start + 200));
    ledger.record(departure("PA_z", start + 3000));
    assert.equal(ledger.size, 3);
    // Each window's end plus the 1 s of slack the single timer allows.
    await sleep(1400);
    assert.equal(ledger.size, 1, "the two ended windows are gone");
    ledger.record(departure("PA_w", Date.now() + 50));
    assert.equal(ledger.size, 2);
    await sleep(3000 - (Date.now() - start) + 1200);
    assert.equal(ledger.size, 0, "everything is gone past the last window");
  } finally {
    ledger.stop();
  }
});
