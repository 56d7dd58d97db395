#!/usr/bin/env node
// Fails when `buf lint` complains or `buf generate` would change the committed gen/ (CI runs this).
import { execFileSync } from "node:child_process";

const run = (cmd, args) => execFileSync(cmd, args, { stdio: ["ignore", "pipe", "inherit"] }).toString();
run("npx", ["buf", "lint"]);
run("npx", ["buf", "generate"]);
const diff = run("git", ["status", "--porcelain", "--", "gen"]);
if (diff.trim() !== "") {
  console.error("buf generate changed gen/; run `npm run gen` and commit the result:\n" + diff);
  process.exit(1);
}
console.log("buf lint clean; gen/ is up to date");
