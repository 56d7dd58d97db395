// Moving a finished build into dist/ so that a process importing dist/ meanwhile (a test next to an `npm pack`, a
// CLI call next to `npm start`'s rebuild) reads either the old or the new build, never half a file: everything is
// built into a staging directory first and renamed into place file by file (a rename is atomic).
import { mkdir, readdir, rename, rm, rmdir } from "node:fs/promises";
import { dirname, join, relative } from "node:path";

/** Every file under `dir`, as paths relative to it (none when `dir` does not exist). */
async function files(dir) {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch((e) => (e.code === "ENOENT" ? [] : Promise.reject(e)));
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath ?? e.path, e.name)));
}

/** Removes empty directories under `dir` (deepest first), and `dir` itself if it ends up empty. */
async function pruneEmpty(dir) {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) if (e.isDirectory()) await pruneEmpty(join(dir, e.name));
  await rmdir(dir).catch(() => undefined);
}

/**
 * Renames every file of `staging` into `dist`, then removes what an earlier build left in the directories this
 * build owns entirely (`owned`, relative to `dist`) and did not make again. Returns the relative paths installed.
 */
export async function installBuild(staging, dist, owned) {
  const built = await files(staging);
  for (const file of built) {
    await mkdir(dirname(join(dist, file)), { recursive: true });
    await rename(join(staging, file), join(dist, file));
  }
  const keep = new Set(built);
  for (const dir of owned) {
    for (const file of await files(join(dist, dir))) {
      if (!keep.has(join(dir, file))) await rm(join(dist, dir, file), { force: true });
    }
    await pruneEmpty(join(dist, dir));
  }
  return built;
}
