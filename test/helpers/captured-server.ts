import { loadConfig, type LogLevel } from "../../src/config.js";
import { createDefaultServer } from "../../src/default-server.js";
import { createLogger } from "../../src/logger.js";
import type { VollyServer } from "../../src/server.js";

export const CAPTURED_KEY = "log-test-key";
export const CAPTURED_SECRET = "log-test-secret-0123456789-abcdefghij";
/** Token options signing with the captured node's key. */
export const capturedKeys = { key: CAPTURED_KEY, secret: CAPTURED_SECRET };

export interface CapturedServer {
  server: VollyServer;
  port: number;
  /** Every log line so far, one JSON object each. */
  lines: string[];
}

/** A node whose logger writes into `lines` (one JSON object per line), as the server's own logger would. */
export async function startCaptured(level: LogLevel, env: Record<string, string> = {}): Promise<CapturedServer> {
  const lines: string[] = [];
  const config = loadConfig({ VOLLY_HOST: "127.0.0.1", VOLLY_PORT: "0", VOLLY_API_PORT: "0", LOG_LEVEL: level, LIVEKIT_KEYS: `${CAPTURED_KEY}: ${CAPTURED_SECRET}`, ...env });
  const destination = { write: (chunk: string) => void lines.push(...chunk.split("\n").filter((l) => l !== "")) };
  const server = await createDefaultServer(config, createLogger(config.logLevel, destination));
  const { port } = await server.listen();
  return { server, port, lines };
}
