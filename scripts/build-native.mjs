#!/usr/bin/env node
// Builds native/record-aead (the record layer's AES-GCM and the handshake's SHA-256) at `npm ci`, and checks
// that the `pqclean` dependency built its ML-KEM addon (npm installs dependencies before it runs this
// package's install script; `pqclean` would otherwise fall back to WebAssembly, which the server does not use). The server runs
// without either (it falls back to node:crypto and to mlkem's JavaScript, and says so in its start-up log),
// so a missing addon is a warning, not an install failure, unless VOLLY_REQUIRE_NATIVE=1 (CI, the Docker
// image), where both must be built.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const dir = join(dirname(fileURLToPath(import.meta.url)), "..", "native", "record-aead");
const required = process.env.VOLLY_REQUIRE_NATIVE === "1";

function nodeGyp() {
  // npm runs install scripts with npm_config_node_gyp set to its bundled node-gyp; outside npm, ask npm's own.
  if (process.env.npm_config_node_gyp) return process.env.npm_config_node_gyp;
  try {
    return createRequire(import.meta.url).resolve("node-gyp/bin/node-gyp.js", { paths: [join(dirname(process.execPath), "..", "lib", "node_modules", "npm")] });
  } catch {
    return undefined;
  }
}

function headersArgs() {
  // Use the headers installed with this Node (distribution packages and official images ship them) rather
  // than downloading a tarball, which an offline build machine cannot.
  if (process.env.npm_config_nodedir) return [];
  const prefix = join(dirname(process.execPath), "..");
  return existsSync(join(prefix, "include", "node", "node_api.h")) ? [`--nodedir=${prefix}`] : [];
}

const gyp = nodeGyp();
const result = gyp
  ? spawnSync(process.execPath, [gyp, "rebuild", "--silent", ...headersArgs()], { cwd: dir, stdio: "inherit" })
  : { status: 1, error: new Error("node-gyp not found") };
if (result.status === 0) {
  console.log("volly: built native/record-aead (AES-256-GCM records in place, and the handshake's SHA-256, through OpenSSL)");
} else {
  const why = result.error ? result.error.message : `node-gyp exited with ${result.status}`;
  const message = `volly: native/record-aead was not built (${why}); the server will use node:crypto for records and hashes, which is correct but slower`;
  if (required) {
    console.error(`${message}\nVOLLY_REQUIRE_NATIVE=1: failing the install`);
    process.exit(1);
  }
  console.warn(`WARNING: ${message}`);
}

let pqcleanAddon;
try {
  pqcleanAddon = join(dirname(createRequire(import.meta.url).resolve("pqclean/package.json")), "build", "Release", "node_pqclean.node");
} catch {
  pqcleanAddon = undefined;
}
if (pqcleanAddon !== undefined && existsSync(pqcleanAddon)) {
  console.log("volly: pqclean's native addon is built (ML-KEM-768 in C for the handshake)");
} else {
  const message = "volly: pqclean's native addon was not built (see its install log above); the server will use mlkem's JavaScript for ML-KEM-768, which is correct but slower";
  if (required) {
    console.error(`${message}\nVOLLY_REQUIRE_NATIVE=1: failing the install`);
    process.exit(1);
  }
  console.warn(`WARNING: ${message}`);
}
