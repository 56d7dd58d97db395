/**
 * Volly Signaling, the server (`@volly/signaling`): embed a node in your own process, or run `npm start` /
 * `volly-signaling`. The client SDK is `@volly/signaling/client`.
 *
 * ```ts
 * import { createDefaultServer, createLogger, loadConfig } from "@volly/signaling";
 * const config = loadConfig();                      // from process.env, validated
 * const server = await createDefaultServer(config, createLogger(config.logLevel));
 * await server.listen();                            // 7880 and 7881 by default
 * ```
 */
export { loadConfig, ConfigError, DEV_API_KEY, DEV_API_SECRET } from "./config.js";
export { createLogger } from "./logger.js";
export { createDefaultServer } from "./default-server.js";
export { createVollyServer } from "./server.js";
export { errors, codeName, httpStatusOf, closeCodeOf, twirpCodeOf } from "./errors.js";
export { VERSION, PROTOCOL_VERSION } from "./version.js";
export type { Config, PqConfig, RedisConfig, LimitConfig, RoomConfig, IceConfig } from "./config.js";
export type { ServerOptions, VollyServer } from "./server.js";
export type { ErrorId } from "./errors.js";
export type { Store } from "./store/store.js";
export type { Bus } from "./bus/bus.js";
