import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const PACKAGE_NAME = "@volly/signaling";

/**
 * The directory of this package (its package.json), found by walking up from this module. The server runs both
 * from its TypeScript sources (src/…, under tsx in tests and benchmarks) and as the compiled bundle
 * (dist/server/…, `npm start` and the image), so a path relative to a module's own URL means a different file in
 * each; paths relative to the package root mean the same one.
 */
function findPackageRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, "utf8")) as { name?: unknown }).name === PACKAGE_NAME) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json of ${PACKAGE_NAME} above ${start}`);
  }
}

let root: string | undefined;

/** An absolute path to a file shipped with the package, from its path relative to the package root. */
export function packageFile(relativePath: string): string {
  root ??= findPackageRoot(dirname(fileURLToPath(import.meta.url)));
  return join(root, relativePath);
}
