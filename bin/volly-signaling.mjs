#!/usr/bin/env node
// The `volly-signaling` command. The project runs TypeScript through tsx (a runtime dependency), so the bin
// registers tsx's ESM loader and then loads the CLI; no build step, plain Node 20.
import { register } from "tsx/esm/api";

register();
const { runCli } = await import("../src/cli/main.ts");
const code = await runCli(process.argv.slice(2), {
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
// undefined: the server runs and owns the process (it exits on SIGTERM/SIGINT).
if (code !== undefined) process.exitCode = code;
