import type { Logger } from "pino";
import type { Config } from "./config.js";
import { createPqChannelFactory } from "./pq/server-pq-channel.js";
import { createVollyServer, type VollyServer } from "./server.js";

/**
 * A node with every built-in service (what `npm start` runs and what tests start): the signal service,
 * and the post-quantum channel unless VOLLY_PQ_ENABLED=false.
 */
export async function createDefaultServer(config: Config, logger: Logger): Promise<VollyServer> {
  return createVollyServer(config, {
    logger,
    pq: config.pq.enabled ? (store, metrics) => createPqChannelFactory(config.pq, store, metrics, config.nodeId) : undefined,
  });
}
