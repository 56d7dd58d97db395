import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { hasCommand, run, skipUnless } from "./required-tools.js";

// What the tests of the Python client (sdk/python) share: Debian's Python and the stubs generated from our
// protos at test time with Debian's protoc + grpc_python_plugin, as docs/sdks.md tells a Python team to.

/** The Python client's folder. */
export const PYTHON_SDK = join(fileURLToPath(new URL("../../../", import.meta.url)), "sdk/python");

/** Debian's Python: pyenv's python3 does not see Debian's python3-* packages. */
export const PYTHON = "/usr/bin/python3";

/** The `skip` option of a suite that runs the Python client: a visible reason when a tool is missing. */
export const pythonSkip = skipUnless(
  hasCommand("protoc", ["--version"]) &&
    hasCommand("sh", ["-c", "command -v grpc_python_plugin"]) &&
    hasCommand(PYTHON, ["-c", "import grpc, google.protobuf"]),
  "protoc, grpc_python_plugin or Python's grpc/protobuf",
  "protobuf-compiler protobuf-compiler-grpc python3-grpcio python3-protobuf",
);

/** Generates the stubs into a new temporary folder (`sdk/python/generate.sh`) and returns its path. */
export function generatePythonStubs(tag: string): string {
  const dir = mkdtempSync(join(tmpdir(), `volly-py-${tag}-`));
  const gen = run("sh", [join(PYTHON_SDK, "generate.sh"), dir]);
  assert.equal(gen.status, 0, gen.stderr);
  return dir;
}

/** Deletes what `generatePythonStubs` made ("" when it never ran). */
export function removePythonStubs(dir: string): void {
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
}
