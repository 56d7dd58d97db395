import type { Logger } from "pino";
import { livekitTwirpRoute } from "./api/livekit-room-service.js";
import { registerRoomService } from "./api/room-service-handler.js";
import type { Config } from "./config.js";
import { demoRoutes } from "./demo/demo-routes.js";
import { devTokenRoute } from "./demo/dev-token-route.js";
import { useNativeKeccak } from "./pq/native-keccak.js";
import { useNativeMlKem } from "./pq/native-mlkem.js";
import { createPqChannelFactory } from "./pq/server-pq-channel.js";
import { registerReflection } from "./reflection/reflection-service.js";
import { createVollyServer, type VollyServer } from "./server.js";

/**
 * A node with every built-in service (what `npm start` runs and what tests start): the signal service,
 * the RoomService (Connect/gRPC/gRPC-web, and LiveKit's Twirp under `/twirp`), gRPC server reflection,
 * the development demo page and dev token endpoint (signal port; see src/demo/), and the post-quantum channel
 * unless VOLLY_PQ_ENABLED=false.
 */
export async function createDefaultServer(config: Config, logger: Logger): Promise<VollyServer> {
  if (config.pq.enabled) {
    // PQClean's C ML-KEM-768 where it was built (about 2.7x faster per encapsulation than the fallback);
    // otherwise mlkem on OpenSSL's SHA-3 (about 2.4x faster than on its own). See src/pq/native-*.ts.
    await useNativeKeccak();
    const kem = useNativeMlKem();
    if (kem.reason !== undefined) {
      logger.warn({ nodeId: config.nodeId, reason: kem.reason }, "native ML-KEM-768 is not available: the handshake encapsulates in mlkem's JavaScript, about three times slower than in C");
    }
  }
  return createVollyServer(config, {
    logger,
    routes: [registerRoomService, registerReflection],
    httpRoutes: [livekitTwirpRoute],
    signalRoutes: [devTokenRoute, demoRoutes],
    pq: config.pq.enabled ? (store, metrics, clock) => createPqChannelFactory(config.pq, store, metrics, config.nodeId, clock) : undefined,
  });
}
