import { after, before, describe, test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { SignalRequestSchema } from "../../gen/volly/signaling/v1/signal_pb.js";
import { encodePlaintext } from "../../src/protocol/signal-codec.js";
import { Fuzz } from "../helpers/fuzz.js";
import { TestClient } from "../helpers/signal-client.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { FUZZ_ENV, INPUTS, SEED, assertHealthy, assertNothingLeaked, flood, processedInputs, watchProcess } from "./fuzz-support.js";

const watched = watchProcess();

describe(`fuzzing a post-quantum server (${INPUTS} processed inputs per entry point, seed ${SEED})`, () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer(FUZZ_ENV);
  });
  after(() => srv.close());

  test("WebSocket binary frames before the handshake (handshake fields included)", async () => {
    await flood(srv, "ws-protobuf", (f) => f.binaryFrame(), false, SEED);
    await assertNothingLeaked(srv);
  });

  test("WebSocket text frames before the handshake (flat and canonical JSON)", async () => {
    await flood(srv, "ws-flat", (f) => f.textFrame(), false, SEED + 1);
    await assertNothingLeaked(srv);
  });

  test("records after the handshake: random requests sealed correctly, and some mutated plaintexts", async () => {
    const fuzz = new Fuzz(SEED + 4);
    const start = await processedInputs(srv);
    for (let conn = 0; (await processedInputs(srv)) - start < INPUTS; conn++) {
      const c = await TestClient.connect({ kind: "ws-protobuf", port: srv.port, identity: `r${conn}`, room: `fuzz-pq-${conn % 3}`, pq: "ML-KEM-768" });
      await c.flush();
      // Valid requests are answered or refused and the channel carries on; a broken plaintext is fatal.
      for (let i = 0; i < 200; i++) {
        const plaintext = fuzz.next() < 0.99
          ? toBinary(SignalRequestSchema, fuzz.request(true))
          : fuzz.mutate(encodePlaintext(SignalRequestSchema, fuzz.request(true), "protobuf"));
        c.sendOuter(create(SignalRequestSchema, { message: { case: "secure", value: await c.pq!.seal(plaintext) } }));
      }
      await Promise.race([c.channel.closed, new Promise((r) => setTimeout(r, 30))]);
      c.kill();
    }
    await assertNothingLeaked(srv);
  });

  test("the server still relays normally and nothing escaped as an unhandled error", async () => {
    await assertHealthy(srv, "ML-KEM-768", watched.failures);
  });
});
