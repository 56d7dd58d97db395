import type { BuildOptions } from "esbuild";
import { packageFile } from "../package-root.js";

/** The SDK entry point (`@volly/signaling/client`). */
export const SDK_ENTRY = packageFile("src/client/index.ts");
/** The demo page's script (imports the SDK). */
export const DEMO_APP_ENTRY = packageFile("src/demo/page/demo-app.ts");

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

/**
 * How the published SDK is built (`dist/client/index.js`, what `@volly/signaling/client` resolves to): one ES
 * module of the SDK's own code (src/client, src/protocol, gen) for Node and bundlers alike (no Node or browser
 * built-in is imported, see test/client/import-graph.test.ts). Its packages (`@bufbuild/protobuf`,
 * `@connectrpc/connect`, `jose`, `mlkem`, all `dependencies`) stay imports: the app resolves them, so its bundler
 * picks their browser builds and dedupes them, and `ConnectError` is the one class the app also imports. Not
 * minified: the app's bundler minifies, and stack traces stay readable.
 */
export const LIBRARY_BUILD: BuildOptions = {
  bundle: true,
  format: "esm",
  platform: "neutral",
  packages: "external",
  target: ["es2022"],
  minify: false,
  legalComments: "none",
  logLevel: "silent",
};

/** Builds `entry` with `options` in memory; resolves with the JavaScript. */
async function buildInMemory(entry: string, options: BuildOptions): Promise<string> {
  // Loaded on first use: a server with the demo off never loads the bundler.
  const { build } = await import("esbuild");
  const result = await build({ ...options, entryPoints: [entry], write: false, outdir: "out" });
  const file = result.outputFiles?.find((f) => f.path.endsWith(".js"));
  if (file === undefined) throw new Error(`esbuild produced no JavaScript for ${entry}`);
  return file.text;
}

/** Builds `entry` for browsers in memory; resolves with the JavaScript. */
export function buildBrowserBundle(entry: string): Promise<string> {
  return buildInMemory(entry, BROWSER_BUILD);
}

/** Builds the published SDK module (LIBRARY_BUILD) in memory; resolves with the JavaScript. */
export function buildSdkLibrary(): Promise<string> {
  return buildInMemory(SDK_ENTRY, LIBRARY_BUILD);
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
