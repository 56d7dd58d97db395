// The server gives mlkem OpenSSL's SHA-3 (src/pq/native-keccak.ts). This file runs every ML-KEM known-answer
// suite of ml-kem-vectors.test.ts again, in this process, against the accelerated instance: the import
// below registers those tests after the hook is installed.
import assert from "node:assert/strict";
import { test } from "node:test";
import { getMlKem768 } from "../../src/protocol/pq/kem.js";
import { useNativeKeccak } from "../../src/pq/native-keccak.js";

await useNativeKeccak();

test("the native SHA-3 hook is installed on the shared mlkem instance", async () => {
  const kem = (await getMlKem768()) as unknown as { _xof: { toString(): string } };
  assert.match(kem._xof.toString(), /shake128/);
});

await import("./ml-kem-vectors.test.js");
