import type { Logger } from "pino";
import type { ServerInfo } from "../../gen/volly/signaling/v1/models_pb.js";
import type { TokenVerifier } from "../auth/access-token.js";
import type { ClusterClock } from "../cluster/cluster-clock.js";
import type { Config } from "../config.js";
import type { Metrics } from "../metrics/metrics.js";
import type { Delivery } from "../room/delivery.js";
import type { LocalParticipants } from "../room/local-participants.js";
import type { Rooms } from "../room/membership.js";
import type { Relay } from "../room/relay.js";
import type { Store } from "../store/store.js";
import type { PqChannelFactory } from "./pq-channel.js";

/** What every session of a node shares. Built once in `createVollyServer`. */
export interface NodeServices {
  readonly config: Config;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly store: Store;
  /**
   * The deployment's clock (Redis's with Redis, see `ClusterClock`): every time that is stored, shown to
   * clients, or compared with a stored time is taken from it. A node's own deadlines are on the monotonic
   * clock instead (`monotonic-time.ts`); access tokens on the wall clock (their backend minted them on its own).
   */
  readonly clock: ClusterClock;
  readonly tokens: TokenVerifier;
  readonly rooms: Rooms;
  readonly relay: Relay;
  readonly delivery: Delivery;
  readonly local: LocalParticipants;
  readonly nodeId: string;
  /** True when other nodes share the store (a cluster): a draining node hands its participants over. */
  readonly shared: boolean;
  readonly serverInfo: ServerInfo;
  readonly sessions: SessionRegistry;
  /** Builds the post-quantum layer of a connection; undefined when VOLLY_PQ_ENABLED=false. */
  readonly pq: PqChannelFactory | undefined;
}

/** The node's open sessions, for the liveness sweep and for draining. */
export interface SessionRegistry {
  add(session: TickingSession): void;
  remove(session: TickingSession): void;
}

/** A session the node's clock visits once a second. */
export interface TickingSession {
  /** `monotonicNow`: `monotonicMs()` (the session's own deadlines are on the monotonic clock). */
  tick(monotonicNow: number): void;
  /** Ends the session because the node is going away; resolves once the store knows. */
  drain(): Promise<void>;
}
