import { pino, type DestinationStream, type Logger } from "pino";
import type { LogLevel } from "./config.js";

/**
 * Paths that may hold secrets. Log calls never pass tokens, keys or SDP on purpose; redaction is the
 * second line of defence (test/logging.test.ts scans real log output for key material).
 */
const REDACT = [
  "token", "*.token", "accessToken", "*.accessToken", "access_token", "*.access_token",
  "authorization", "*.authorization", "req.headers.authorization", "headers.authorization",
  "secret", "*.secret", "apiSecret", "*.apiSecret", "password", "*.password",
  "sdp", "*.sdp", "candidate", "*.candidate",
  "sharedSecret", "*.sharedSecret", "key", "*.key", "keys", "*.keys",
  "clientPublicKey", "*.clientPublicKey", "kemCiphertext", "*.kemCiphertext", "pqPublicKey", "*.pqPublicKey",
  "payload", "*.payload", "url", "*.url",
  // What `new URL` puts on its TypeError: the request target, access token and all.
  "input", "*.input",
];

/**
 * The root logger: pino JSON to stdout (or `destination`), with secrets redacted. Stdout is written
 * synchronously: lines come per connection and per failure, never per relayed message, and an asynchronous
 * stdout let a process that logged and then exited print its last line ahead of the one logged just before it
 * (pino's exit hook writes the buffer while the previous write is still in flight), or lose that one in a crash.
 */
export function createLogger(level: LogLevel, destination: DestinationStream = pino.destination({ dest: 1, sync: true })): Logger {
  return pino(
    {
      level,
      base: { service: "volly-signaling" },
      redact: { paths: REDACT, censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

export type { Logger } from "pino";
