// The SDK keeps a leading U+FEFF of identities and room names, as the server does (test/core/leading-bom-names).
// protobuf-es decodes strings with the runtime's TextDecoder, whose default drops it; the SDK installs its own
// decoding (src/protocol/text-encoding.ts, through signal-codec.ts) in its own runtime, without the server's
// help. So the SDK runs in a process of its own (fixtures/leading-bom-identity.mjs, the compiled SDK), against
// a real server with a real participant.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
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
function runSdk(url: string, room: string): { next(): Promise<Record<string, unknown>>; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [FIXTURE, url, room], { stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  const waiters: Array<() => void> = [];
  let buffered = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => {
    buffered += d.toString();
    const parts = buffered.split("\n");
    buffered = parts.pop() ?? "";
    lines.push(...parts);
    for (const w of waiters.splice(0)) w();
  });
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  let read = 0;
  const next = async (): Promise<Record<string, unknown>> => {
    while (lines.length <= read) {
      const more = new Promise<void>((resolve) => waiters.push(resolve));
      const gone = exited.then((code) => { throw new Error(`the SDK process exited (${code}): ${lines.join(" | ")}\n${stderr}`); });
      await Promise.race([more, gone]);
    }
    return JSON.parse(lines[read++] as string) as Record<string, unknown>;
  };
  return { next, exited };
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
    assert.equal(await sdk.exited, 0);
  } finally {
    carol.kill();
  }
});
