#!/usr/bin/env node
// The `volly-signaling` command: the compiled CLI in dist/server (scripts/build-server.mjs; `npm ci`, `npm pack`
// and the image build it), on plain Node 20 with no TypeScript loader.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const cli = new URL("../dist/server/cli.js", import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write(`volly-signaling: the server is not built (${fileURLToPath(cli)} is missing): run \`npm run build:server\` in the package\n`);
  process.exit(1);
}
const { runCli } = await import(cli.href);
const code = await runCli(process.argv.slice(2), {
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
// undefined: the server runs and owns the process (it exits on SIGTERM/SIGINT).
if (code !== undefined) process.exitCode = code;
