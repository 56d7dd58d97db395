import { loadConfig, type Config } from "../../src/config.js";
import { createDefaultServer } from "../../src/default-server.js";
import { createLogger } from "../../src/logger.js";
import type { VollyServer } from "../../src/server.js";

export interface TestServer {
  readonly server: VollyServer;
  readonly config: Config;
  readonly port: number;
  readonly apiPort: number;
  /** `ws://127.0.0.1:<port>` */
  readonly wsUrl: string;
  /** `http://127.0.0.1:<port>` */
  readonly httpUrl: string;
  /** `http://127.0.0.1:<apiPort>` */
  readonly apiUrl: string;
  close(): Promise<void>;
}

/** Starts a node on loopback, on free ports, with `env` on top of test defaults (silent logs). */
export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  const config = loadConfig({
    VOLLY_HOST: "127.0.0.1",
    VOLLY_PORT: "0",
    VOLLY_API_PORT: "0",
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    ...env,
  });
  const server = await createDefaultServer(config, createLogger(config.logLevel));
  const { port, apiPort } = await server.listen();
  return {
    server,
    config,
    port,
    apiPort,
    wsUrl: `ws://127.0.0.1:${port}`,
    httpUrl: `http://127.0.0.1:${port}`,
    apiUrl: `http://127.0.0.1:${apiPort}`,
    close: () => server.close(1000),
  };
}

/** The value of `volly_limit_exceeded_total{limit}` on a server. */
export async function limitCount(srv: TestServer, limit: string): Promise<number> {
  const metric = await srv.server.services.metrics.limitsHit.get();
  return metric.values.find((v) => v.labels.limit === limit)?.value ?? 0;
}
