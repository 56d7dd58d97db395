import { after, before, describe, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { toBinary } from "@bufbuild/protobuf";
import { SignalRequestSchema } from "../../gen/volly/signaling/v1/signal_pb.js";
import { Fuzz } from "../helpers/fuzz.js";
import { makeToken } from "../helpers/tokens.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { FUZZ_ENV, INPUTS, SEED, assertHealthy, assertNothingLeaked, flood, processedInputs, watchProcess } from "./fuzz-support.js";

const watched = watchProcess();

describe(`fuzzing a joined participant's requests, PQ off (${INPUTS} processed inputs per entry point, seed ${SEED})`, () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ ...FUZZ_ENV, VOLLY_PQ_ENABLED: "false" });
  });
  after(() => srv.close());

  test("WebSocket binary frames after join", async () => {
    await flood(srv, "ws-protobuf", (f) => f.binaryFrame(), true, SEED + 2);
    await assertNothingLeaked(srv);
  });

  test("WebSocket text frames after join", async () => {
    await flood(srv, "ws-flat", (f) => f.textFrame(), true, SEED + 3);
    await assertNothingLeaked(srv);
  });

  test("gRPC stream messages (some do not decode)", async () => {
    const fuzz = new Fuzz(SEED + 5);
    const start = await processedInputs(srv);
    for (let conn = 0; (await processedInputs(srv)) - start < INPUTS; conn++) {
      const client = new grpc.Client(`127.0.0.1:${srv.port}`, grpc.credentials.createInsecure());
      const md = new grpc.Metadata();
      md.set("authorization", `Bearer ${await makeToken({ identity: `g${conn}`, room: `fuzz-grpc-${conn % 3}` })}`);
      const call = client.makeBidiStreamRequest("/volly.signaling.v1.SignalService/Signal", (b: Uint8Array) => Buffer.from(b), (b: Buffer) => b, md);
      call.on("data", () => {});
      call.on("error", () => {});
      const status = new Promise<void>((resolve) => call.on("status", () => resolve()));
      for (let i = 0; i < 100; i++) call.write(fuzz.next() < 0.9 ? toBinary(SignalRequestSchema, fuzz.request()) : fuzz.binaryFrame());
      await Promise.race([status, new Promise((r) => setTimeout(r, 30))]);
      call.cancel();
      await status;
      client.close();
    }
    await assertNothingLeaked(srv);
  });

  test("the server still relays normally and nothing escaped as an unhandled error", async () => {
    await assertHealthy(srv, false, watched.failures);
  });
});
