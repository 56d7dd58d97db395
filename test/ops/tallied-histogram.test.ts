// The relay's histogram and message counter keep their tallies outside prom-client between scrapes; what a
// scrape shows must be exactly what prom-client's own Histogram and Counter would have shown.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Histogram, Registry } from "prom-client";
import { Metrics } from "../../src/metrics/metrics.js";
import { TalliedHistogram } from "../../src/metrics/tallied-histogram.js";

const BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25];
// Below, on and above every bound, zero, and values past the last bound (counted only in +Inf).
const VALUES = [0, 0.00005, 0.0001, 0.0001000001, 0.0003, 0.001, 0.0049, 0.005, 0.07, 0.25, 0.2500001, 3, 42];

function pair(): { stock: Histogram<string>; tallied: TalliedHistogram; stockText: () => Promise<string>; talliedText: () => Promise<string> } {
  const a = new Registry();
  const b = new Registry();
  const stock = new Histogram({ name: "h_seconds", help: "h", buckets: BUCKETS, registers: [a] });
  const tallied = new TalliedHistogram({ name: "h_seconds", help: "h", buckets: BUCKETS, registers: [b] });
  return { stock, tallied, stockText: () => a.metrics(), talliedText: () => b.metrics() };
}

test("TalliedHistogram renders exactly what prom-client's Histogram renders for the same values", async () => {
  const { stock, tallied, stockText, talliedText } = pair();
  assert.equal(await talliedText(), await stockText(), "empty");
  for (const v of VALUES) {
    stock.observe(v);
    tallied.record(v);
  }
  const text = await talliedText();
  assert.equal(text, await stockText());
  assert.match(text, /h_seconds_bucket\{le="\+Inf"\} 13/);
  assert.match(text, /h_seconds_count 13/);
  // Reading folds the tallies once: a second read adds nothing, and later values add on top.
  assert.equal(await talliedText(), text);
  stock.observe(0.002);
  tallied.record(0.002);
  assert.equal(await talliedText(), await stockText());
  const json = await tallied.get();
  assert.deepEqual(json.values, (await stock.get()).values);
});

test("TalliedHistogram survives reset() like a stock histogram", async () => {
  const { stock, tallied, stockText, talliedText } = pair();
  stock.observe(0.01);
  tallied.record(0.01);
  await talliedText();
  stock.reset();
  tallied.reset();
  assert.equal(await talliedText(), await stockText());
  stock.observe(0.3);
  tallied.record(0.3);
  assert.equal(await talliedText(), await stockText());
});

test("message counts taken between scrapes appear in the counter, once, by type and direction", async () => {
  const m = new Metrics();
  for (let i = 0; i < 5; i++) m.countMessage("offer", "in");
  m.countMessage("offer", "out");
  m.countMessage("trickle", "in");
  const read = async () => Object.fromEntries((await m.messages.get()).values.map((v) => [`${v.labels.type}/${v.labels.direction}`, v.value]));
  assert.deepEqual(await read(), { "offer/in": 5, "offer/out": 1, "trickle/in": 1 });
  assert.deepEqual(await read(), { "offer/in": 5, "offer/out": 1, "trickle/in": 1 });
  m.countMessage("offer", "in");
  assert.deepEqual(await read(), { "offer/in": 6, "offer/out": 1, "trickle/in": 1 });
  assert.match(await m.registry.metrics(), /volly_signal_messages_total\{type="offer",direction="in"\} 6/);
});
