import { mkdir, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { buildBrowserBundle, SDK_ENTRY } from "./client-bundle.js";

// `npm run build:client [out]`: the SDK as one browser ES module (default dist/volly-client.js, not committed).
// `npm run build:sdk` (scripts/build-sdk.mjs, run by `prepare`) writes the same file with the rest of the package's dist/.
const out = resolve(process.argv[2] ?? "dist/volly-client.js");
const code = await buildBrowserBundle(SDK_ENTRY);
await mkdir(dirname(out), { recursive: true });
await writeFile(out, code);
console.log(`wrote ${out} (${(code.length / 1024).toFixed(1)} KiB)`);
