// The SDK keeps a leading U+FEFF of identities and room names, as the server does (test/core/leading-bom-names).
// protobuf-es decodes strings with the runtime's TextDecoder, whose default drops it; the SDK installs its own
// decoding (src/protocol/text-encoding.ts, through signal-codec.ts) in its own runtime, without the server's
// help. So the SDK runs in a process of its own (fixtures/leading-bom-identity.mjs, the compiled SDK), against
// a real server with a real participant.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { spawnLines, type ChildLines } from "../helpers/child-lines.js";
import { TestClient } from "../helpers/signal-client.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/leading-bom-identity.mjs", import.meta.url));
const BOM = "\ufeff";

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(() => server.close());

/** The fixture's JSON lines, each as it arrives; rejects with its output when it exits early. */
function runSdk(url: string, room: string): { next(): Promise<Record<string, unknown>>; exited: ChildLines["exited"] } {
  const child = spawnLines([FIXTURE, url, room]);
  let read = 0;
  const next = async (): Promise<Record<string, unknown>> => {
    await child.until((lines) => lines.length > read, "its next line");
    return JSON.parse(child.lines[read++] as string) as Record<string, unknown>;
  };
  return { next, exited: child.exited };
}

test("the SDK sees identities and room names that begin with U+FEFF as they are", async () => {
  const room = `${BOM}sdk-bom`;
  const carol = await TestClient.connect({ kind: "ws-protobuf", port: server.port, identity: `${BOM}carol`, room, pq: "ML-KEM-768" });
  try {
    const sdk = runSdk(server.wsUrl, room);
    assert.deepEqual(await sdk.next(), { self: `${BOM}bob`, local: `${BOM}bob`, room, others: [`${BOM}carol`] });
    const joined = await carol.waitFor("participantUpdate");
    assert.equal(joined.participants[0]?.identity, `${BOM}bob`);
    carol.send({ case: "data", value: { target: `${BOM}bob`, payload: new Uint8Array([1]), id: "to-sdk" } });
    assert.deepEqual(await sdk.next(), { dataFrom: `${BOM}carol` });
    assert.deepEqual(await sdk.next(), { recipients: 1 });
    assert.equal((await carol.waitFor("data")).from, `${BOM}bob`);
    assert.equal((await sdk.exited).code, 0);
  } finally {
    carol.kill();
  }
});
