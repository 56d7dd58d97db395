import type { BuildOptions } from "esbuild";
import { fileURLToPath } from "node:url";

/** The SDK entry point (`@volly/signaling/client`). */
export const SDK_ENTRY = fileURLToPath(new URL("../client/index.ts", import.meta.url));
/** The demo page's script (imports the SDK). */
export const DEMO_APP_ENTRY = fileURLToPath(new URL("./page/demo-app.ts", import.meta.url));

/** How browser bundles are built: one ES module, everything inlined, for current browsers. */
export const BROWSER_BUILD: BuildOptions = {
  bundle: true,
  format: "esm",
  platform: "browser",
  target: ["es2022"],
  minify: true,
  legalComments: "none",
  logLevel: "silent",
};

/** Builds `entry` for browsers in memory; resolves with the JavaScript. */
export async function buildBrowserBundle(entry: string): Promise<string> {
  // Loaded on first use: a server with the demo off never loads the bundler.
  const { build } = await import("esbuild");
  const result = await build({ ...BROWSER_BUILD, entryPoints: [entry], write: false, outdir: "out" });
  const file = result.outputFiles?.find((f) => f.path.endsWith(".js"));
  if (file === undefined) throw new Error(`esbuild produced no JavaScript for ${entry}`);
  return file.text;
}

/** The two bundles the demo serves. */
export interface DemoBundles {
  readonly sdk: string;
  readonly app: string;
}

let bundles: Promise<DemoBundles> | undefined;

/**
 * The demo's bundles, built from the sources on first use and kept for the life of the process (never a committed
 * artifact). A failed build is retried on the next request.
 */
export function demoBundles(): Promise<DemoBundles> {
  bundles ??= Promise.all([buildBrowserBundle(SDK_ENTRY), buildBrowserBundle(DEMO_APP_ENTRY)]).then(([sdk, app]) => ({ sdk, app }));
  bundles.catch(() => (bundles = undefined));
  return bundles;
}
