import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { run } from "./required-tools.js";

/** The repository root, where the compose files live. */
export const root = fileURLToPath(new URL("../../../", import.meta.url));

/** One service of a resolved compose file (the fields the tests read). */
export interface Service {
  image?: string;
  build?: { context: string };
  profiles?: string[];
  environment?: Record<string, string | null>;
  ports?: Array<{ published?: number | string; target: number } | string>;
  expose?: string[];
  volumes?: Array<{ source?: string; target: string } | string>;
  command?: string[] | string;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  deploy?: { replicas?: number; placement?: { constraints?: string[] } };
}

/** A compose file after `docker-compose config`: interpolated, merged, normalised. */
export interface ComposeConfig {
  services: Record<string, Service>;
}

// An empty --env-file: a developer's .env must not change what the tests see. (A file in the OS temp dir,
// left for the OS to clean: several test files share it.)
const emptyEnvFile = join(mkdtempSync(join(tmpdir(), "volly-compose-")), "empty.env");
writeFileSync(emptyEnvFile, "");

/** Runs `docker-compose <args> config` with only `env` (plus PATH/HOME) and returns the resolved file as JSON. */
export function composeConfig(args: string[], env: Record<string, string> = {}): { status: number | null; config: ComposeConfig | undefined; stderr: string } {
  const childEnv = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/root", ...env };
  const r = run("docker-compose", ["--env-file", emptyEnvFile, ...args, "config"], { env: childEnv, cwd: root });
  if (r.status !== 0) return { status: r.status, config: undefined, stderr: r.stderr };
  // Compose prints YAML; Debian's python3-yaml (a docker-compose dependency) turns it into JSON for us.
  const json = run("/usr/bin/python3", ["-c", "import json,sys,yaml; print(json.dumps(yaml.safe_load(sys.stdin)))"], { input: r.stdout });
  assert.equal(json.status, 0, json.stderr);
  return { status: 0, config: JSON.parse(json.stdout) as ComposeConfig, stderr: r.stderr };
}

/** The services `docker-compose up` starts with these profiles (no profiles = always). */
export function activeServices(config: ComposeConfig, profiles: string[]): string[] {
  return Object.entries(config.services)
    .filter(([, s]) => !s.profiles || s.profiles.some((p) => profiles.includes(p)))
    .map(([name]) => name)
    .sort();
}

/** Published ports as "host:container" (or Compose's own string form). */
export function publishedPorts(s: Service | undefined): string[] {
  return (s?.ports ?? []).map((p) => (typeof p === "string" ? p : `${p.published ?? ""}:${p.target}`));
}

/** Bind mounts as {source, target}, from either Compose syntax ("/host:/container:ro" or the long form). */
export function bindMounts(s: Service | undefined): Array<{ source: string; target: string }> {
  return (s?.volumes ?? []).flatMap((v) => {
    if (typeof v !== "string") return v.source?.startsWith("/") ? [{ source: v.source, target: v.target }] : [];
    const [source = "", target = ""] = v.split(":");
    return source.startsWith("/") ? [{ source, target }] : [];
  });
}

/** A service's environment as plain strings (a variable without a value becomes ""). */
export function serviceEnv(s: Service | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(s?.environment ?? {}).map(([k, v]) => [k, v ?? ""]));
}
