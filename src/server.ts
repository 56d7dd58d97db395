import { create } from "@bufbuild/protobuf";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { Logger } from "pino";
import { ServerInfoSchema } from "../gen/volly/signaling/v1/models_pb.js";
import { TokenVerifier } from "./auth/access-token.js";
import { ClusterNode } from "./cluster/cluster-node.js";
import { SessionLedger } from "./cluster/session-ledger.js";
import { DepartureLedger } from "./room/departure-ledger.js";
import type { Config } from "./config.js";
import { errors } from "./errors.js";
import { HealthCheck } from "./http/health.js";
import { Listener } from "./http/listener.js";
import { writeRawError, writeRawResponse } from "./http/raw-response.js";
import { requestTarget } from "./http/request-target.js";
import { createRestHandler, type ExtraRoute } from "./http/rest-routes.js";
import { applyHttpRulesToRpcRoutes } from "./http/rpc-http-rules.js";
import { Metrics } from "./metrics/metrics.js";
import { NodeClock } from "./node-clock.js";
import { Delivery } from "./room/delivery.js";
import { LocalParticipants } from "./room/local-participants.js";
import { Rooms } from "./room/membership.js";
import { Relay } from "./room/relay.js";
import { ConnectionLimiter } from "./rtc/connection-limiter.js";
import { SIGNAL_PATHS, WsBridge } from "./rtc/ws-bridge.js";
import { SignalService } from "../gen/volly/signaling/v1/signal_pb.js";
import { peerAddressValues } from "./service/peer-address.js";
import { registerSignalService } from "./service/signal-service.js";
import type { NodeServices } from "./session/node-services.js";
import { createBackend, type Backend } from "./store/create-backend.js";
import type { Store } from "./store/store.js";
import type { Clock } from "./cluster/cluster-clock.js";
import { VERSION, PROTOCOL_VERSION } from "./version.js";
import { recordAead } from "./pq/record-aead.js";
import { mlKem768BackendName } from "./protocol/pq/kem.js";
import { useFastProtobufUtf8 } from "./protocol/protobuf-utf8.js";
import { withCallStream } from "./http/call-stream.js";
import { endAwayOnOverflow } from "./room/mailbox-overflow.js";
import { reflectionPaths } from "./reflection/reflection-paths.js";

/** How long a drain waits for its clients to answer their WebSockets' close handshakes (see WsBridge.close). */
const CLOSE_HANDSHAKE_WAIT_MS = 2000;

/** A running (or ready to run) Volly Signaling node. */
export interface VollyServer {
  readonly services: NodeServices;
  readonly backend: Backend;
  /** Listens on the configured ports (0 = any); resolves with the ports bound. */
  listen(): Promise<{ port: number; apiPort: number }>;
  /**
   * Drains: tells every client `leave` (in a cluster: resume on another node, the participants are kept
   * for the resume window; alone: reconnect later), leaves the cluster, stops listening, closes the
   * backend. Resolves when done; connections still open after `graceMs` are destroyed.
   */
  close(graceMs?: number): Promise<void>;
}

export interface ServerOptions {
  readonly logger: Logger;
  /** Extra RPC services (RoomService, reflection) for both ports. */
  readonly routes?: Array<(router: ConnectRouter, svc: NodeServices) => void>;
  /** Extra plain HTTP routes for both ports (tried before the built-in REST routes, e.g. `/twirp/*`). */
  readonly httpRoutes?: Array<(svc: NodeServices) => ExtraRoute>;
  /** Extra plain HTTP routes for the signal port only (the demo page, the dev token endpoint). */
  readonly signalRoutes?: Array<(svc: NodeServices) => ExtraRoute>;
  /** Builds the post-quantum channel factory from the node's store, metrics and clock; absent = PQ off. */
  readonly pq?: (store: Store, metrics: Metrics, clock: Clock) => NonNullable<NodeServices["pq"]>;
}

/** Builds a node from its config: backend, services, both listeners. Nothing listens until `listen()`. */
export async function createVollyServer(config: Config, options: ServerOptions): Promise<VollyServer> {
  // Process-wide and output-identical: every record, response and RPC message the node encodes has string
  // fields, and a join encodes a few dozen of them.
  useFastProtobufUtf8();
  const log = options.logger.child({ nodeId: config.nodeId });
  const metrics = new Metrics();
  const backend = await createBackend(config.redis, log, {
    command: (name, seconds) => metrics.redisLatency.observe({ command: name }, seconds),
    up: (isUp) => metrics.redisUp.set(isUp ? 1 : 0),
  });
  const { store, bus, clock: clusterClock } = backend;
  const ledger = new SessionLedger();
  const local = new LocalParticipants();
  // An away participant's mailbox takes at most what its connection could have left unacknowledged.
  const mailboxLimits = { messages: config.resume.queueLimit, awayBytes: config.limits.maxUnackedBytes };
  const departures = backend.shared ? new DepartureLedger(clusterClock) : undefined;
  const delivery = new Delivery(store, bus, config.nodeId, local, mailboxLimits, log, departures);
  const rooms = new Rooms(config, store, clusterClock, delivery, log, departures);
  const clock = new NodeClock(log);
  const services: NodeServices = {
    config,
    log,
    metrics,
    store,
    clock: clusterClock,
    tokens: new TokenVerifier(config.keys),
    rooms,
    relay: new Relay(config, store, clusterClock, delivery, metrics),
    delivery,
    local,
    nodeId: config.nodeId,
    shared: backend.shared,
    serverInfo: create(ServerInfoSchema, { version: VERSION, protocol: PROTOCOL_VERSION, nodeId: config.nodeId, region: config.region }),
    sessions: clock,
    // Sessions are recorded through the ledger, so the node can re-register them (see ClusterNode).
    pq: options.pq?.(ledger.track(store), metrics, clusterClock),
  };
  const cluster = new ClusterNode(services, rooms, ledger, log);
  delivery.onOverflow = endAwayOnOverflow(store, rooms, log);
  const limiter = new ConnectionLimiter(config.limits.maxConnections, config.limits.maxConnectionsPerIp, metrics);
  const health = new HealthCheck(store, bus);
  const bridge = new WsBridge(services, limiter);

  const routes = (router: ConnectRouter) => {
    registerSignalService(router, services, limiter);
    for (const add of options.routes ?? []) add(router, services);
    // Last, so that every service's routes answer CORS preflights and 405/415 as the plain routes do.
    applyHttpRulesToRpcRoutes(router.handlers);
  };
  const httpRoutes = (options.httpRoutes ?? []).map((make) => make(services));
  const signalRoutes = (options.signalRoutes ?? []).map((make) => make(services));
  // The long-lived calls (exempt from the request deadline below) also carry their HTTP/2 stream: once a
  // call is over, its stream must end where connect-es cannot (a client that does not let the end through).
  const longLived = new Set([`/${SignalService.typeName}/Signal`, ...reflectionPaths]);
  const contextValues: typeof peerAddressValues = (req) => withCallStream(peerAddressValues(req), req, longLived);
  const signalAdapter = connectNodeAdapter({ routes, contextValues, fallback: createRestHandler(services, health, [...httpRoutes, ...signalRoutes]) });
  const apiAdapter = connectNodeAdapter({ routes, contextValues, fallback: createRestHandler(services, health, httpRoutes) });
  // HTTP connections of both ports share their own slots: a WebSocket leaves them for the limiter above.
  // The signal stream is exempt from the request deadline: it is authenticated by its headers and then
  // lives as long as its participant, with liveness checks of its own.
  const http = {
    slots: new ConnectionLimiter(config.limits.maxConnections, config.limits.maxConnectionsPerIp, metrics),
    headersTimeoutMs: config.limits.httpHeadersTimeoutMs,
    requestTimeoutMs: config.limits.httpRequestTimeoutMs,
    h2IdleTimeoutMs: config.limits.http2IdleTimeoutMs,
    h2MaxStreams: config.limits.http2MaxStreams,
    // Reflection streams too: a tool keeps one open for any number of questions, each answered at once.
    // They need no token, so they have bounds of their own instead: an idle deadline restarted by each
    // question, and a number per node (src/reflection/reflection-streams.ts).
    longLived,
  };
  const signalListener = new Listener(signalAdapter, (req, socket, head) => {
    const path = requestTarget(req.url)?.pathname;
    if (path !== undefined && SIGNAL_PATHS.has(path)) return bridge.upgrade(req, socket, head);
    if (path === undefined) writeRawError(socket, errors.malformedTarget());
    else writeRawResponse(socket, 404, "not found");
    return Promise.resolve(false);
  }, http);
  const apiListener = new Listener(apiAdapter, undefined, http);
  let closing: Promise<void> | undefined;

  return {
    services,
    backend,
    async listen() {
      await delivery.start();
      await cluster.join();
      clock.start(services, cluster);
      const port = await signalListener.listen(config.port, config.host);
      const apiPort = await apiListener.listen(config.apiPort, config.host);
      log.info({ port, apiPort, pq: config.pq.enabled ? config.pq.algorithm : "off", records: recordAead.backend, mlkem: mlKem768BackendName(), backend: backend.kind }, "listening");
      if (config.pq.enabled && recordAead.backend !== "native") {
        log.warn("native/record-aead is not built (npm ci builds it; it needs a C compiler): records use node:crypto, several times slower per message");
      }
      return { port, apiPort };
    },
    close(graceMs = 5000) {
      closing ??= (async () => {
        health.draining = true;
        await clock.drainAll(graceMs);
        clock.stop();
        await cluster.leave().catch((e: unknown) => log.warn({ err: e }, "leaving the cluster failed"));
        await bridge.close(Math.min(graceMs, CLOSE_HANDSHAKE_WAIT_MS));
        await Promise.all([signalListener.close(graceMs), apiListener.close(graceMs)]);
        await delivery.stop();
        departures?.stop();
        await backend.close();
        log.info("closed");
      })();
      return closing;
    },
  };
}
