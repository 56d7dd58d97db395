import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { packageFile } from "../package-root.js";

/** Where `npm ci` builds native/record-aead (scripts/build-native.mjs). */
export const CRYPTO_ADDON = packageFile("native/record-aead/build/Release/record_aead.node");

/**
 * The native/record-aead addon's exports (records' AES-GCM, the handshake's SHA-256), or undefined when it
 * was not built (no compiler on the machine). Node loads it once; each caller checks the functions it needs.
 */
export function loadCryptoAddon(): Record<string, unknown> | undefined {
  if (!existsSync(CRYPTO_ADDON)) return undefined;
  return createRequire(import.meta.url)(CRYPTO_ADDON) as Record<string, unknown>;
}
