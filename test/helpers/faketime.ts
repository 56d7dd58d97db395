import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * libfaketime: shifts a process's wall clock (`Date.now()`, `CLOCK_REALTIME`) and, with
 * `FAKETIME_DONT_FAKE_MONOTONIC=1`, leaves its monotonic clock alone, as an NTP step or a skewed host
 * does. Debian's `faketime` package (`.ci/run` installs it).
 */
export const FAKETIME_LIBRARY =
  process.env.FAKETIME_LIBRARY ??
  ["x86_64-linux-gnu", "aarch64-linux-gnu"].map((arch) => `/usr/lib/${arch}/faketime/libfaketime.so.1`).find((path) => existsSync(path)) ??
  "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

/** The `skip` option of a suite that needs libfaketime: a visible reason when it is missing, else false. */
export function faketimeSkip(): string | false {
  if (existsSync(FAKETIME_LIBRARY)) return false;
  return `libfaketime not found at ${FAKETIME_LIBRARY} (apt-get install faketime, or set FAKETIME_LIBRARY)`;
}

/** The environment of a process whose wall clock is `offset` off for good ("+30s", "-10s"). */
export function skewedClockEnv(offset: string): Record<string, string> {
  return { LD_PRELOAD: FAKETIME_LIBRARY, FAKETIME_DONT_FAKE_MONOTONIC: "1", FAKETIME: offset };
}

/**
 * A wall clock that can be stepped while the process runs: libfaketime re-reads the offset from a file
 * (`FAKETIME_TIMESTAMP_FILE`, `FAKETIME_NO_CACHE=1`). Starts at "+0s". `dispose()` removes the file.
 */
export class SteppableClock {
  private readonly dir = mkdtempSync(join(tmpdir(), "volly-faketime-"));
  private readonly file = join(this.dir, "offset");

  constructor() {
    this.step("+0s");
  }

  get env(): Record<string, string> {
    return { LD_PRELOAD: FAKETIME_LIBRARY, FAKETIME_DONT_FAKE_MONOTONIC: "1", FAKETIME_TIMESTAMP_FILE: this.file, FAKETIME_NO_CACHE: "1" };
  }

  /** Sets the offset from the true time ("-30s", "+30s"): the process's wall clock steps at once. */
  step(offset: string): void {
    writeFileSync(this.file, `${offset}\n`);
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * How far (seconds, ±1: the header has whole seconds) the wall clock of the server at `url` is from ours, by
 * its HTTP `Date` header: proves a faked clock took effect, so that a test of skew cannot pass without one.
 */
export async function wallClockOffsetSeconds(url: string): Promise<number> {
  const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(3000) });
  await res.arrayBuffer();
  const date = res.headers.get("date");
  if (date === null) throw new Error(`${url} sent no Date header`);
  return Math.round((Date.parse(date) - Date.now()) / 1000);
}
