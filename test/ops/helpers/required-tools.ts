import { spawnSync } from "node:child_process";

/**
 * True in CI (and wherever the suites are told to run everything): a missing tool is then a failure, not a
 * skip. `.ci/run` sets VOLLY_REQUIRE_REDIS=1 and VOLLY_REQUIRE_BROWSER=1 and installs every tool these suites use.
 */
export const mustRunEverything =
  process.env.CI === "true" || process.env.VOLLY_REQUIRE_BROWSER === "1" || process.env.VOLLY_REQUIRE_REDIS === "1";

/** Whether `command` runs (`command --version`-style probe `args`, exit 0). */
export function hasCommand(command: string, args: readonly string[] = ["--version"]): boolean {
  const r = spawnSync(command, [...args], { stdio: "ignore", timeout: 20_000 });
  return r.status === 0;
}

/**
 * The skip option for a test that needs `command` (from Debian package `debianPackage`): false when it is there;
 * a visible reason when it is not; throws in CI, where a missing tool means .ci/run is broken.
 */
export function skipUnless(available: boolean, what: string, debianPackage: string): false | string {
  if (available) return false;
  const reason = `${what} is not installed (apt-get install -y ${debianPackage})`;
  if (mustRunEverything) throw new Error(`${reason}, and this run must not skip (CI / VOLLY_REQUIRE_*)`);
  return reason;
}

/** Runs a command to completion (bounded), returning its exit code and output. */
export function run(command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string } = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(command, [...args], {
    env: options.env ?? process.env,
    input: options.input,
    cwd: options.cwd,
    encoding: "utf8",
    timeout: 60_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}
