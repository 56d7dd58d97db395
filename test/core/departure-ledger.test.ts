import assert from "node:assert/strict";
import { test } from "node:test";
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
  const ledger = new DepartureLedger();
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
});
