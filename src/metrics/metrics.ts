import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { LateGauge } from "./late-gauge.js";
import { StoreGauge } from "./store-gauge.js";
import { TalliedHistogram } from "./tallied-histogram.js";

/**
 * How long a scrape waits for the store's room count: well above a healthy read of a large deployment
 * (RoomService ListRooms of 5,000 rooms answers in under 0.1 s), well below a stalled Redis's command timeout.
 */
const ROOM_COUNT_WAIT_MS = 500;

/**
 * Prometheus metrics of one server instance, on its own registry (so several servers can share a test
 * process). Names are `volly_*`; the Grafana dashboard queries exactly these (test/ops checks it).
 */
export class Metrics {
  readonly registry = new Registry();

  readonly handshakes = new Counter({
    name: "volly_pq_handshakes_total",
    help: "Post-quantum handshakes by result (success, or the error id) and algorithm",
    labelNames: ["result", "algorithm"] as const,
    registers: [this.registry],
  });
  readonly handshakeDuration = new Histogram({
    name: "volly_pq_handshake_duration_seconds",
    help: "Server time from the handshake start to a verified client_finished",
    labelNames: ["algorithm"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly sessionsCreated = new Counter({
    name: "volly_pq_sessions_created_total",
    help: "Post-quantum sessions created (client_finished verified) on this node",
    registers: [this.registry],
  });
  readonly sessionsExpired = new Counter({
    name: "volly_pq_sessions_expired_total",
    help: "Post-quantum sessions ended by VOLLY_PQ_SESSION_TIMEOUT on this node",
    registers: [this.registry],
  });
  readonly sessionsActive = new Gauge({
    name: "volly_pq_sessions_active",
    help: "Post-quantum sessions open on this node",
    registers: [this.registry],
  });
  readonly idRegressions = new Counter({
    name: "volly_message_id_regressions_total",
    help: "Messages whose id went backwards (Redis back with older data, or a mailbox counter evicted), by what became of them: queued again under a new id, or lost",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });
  readonly rekeys = new Counter({
    name: "volly_pq_rekeys_total",
    help: "Completed post-quantum rekeys on this node",
    registers: [this.registry],
  });
  readonly connections = new Gauge({
    name: "volly_connections_active",
    help: "Open signal connections on this node by transport",
    labelNames: ["transport"] as const,
    registers: [this.registry],
  });
  readonly participants = new Gauge({
    name: "volly_participants_active",
    help: "Joined participants connected to this node",
    registers: [this.registry],
  });
  readonly rooms = new Gauge({
    name: "volly_rooms_active",
    help: "Rooms in the deployment (read from the store at scrape time; the last value read while the store does not answer)",
    registers: [this.registry],
  });
  private readonly roomCount = new StoreGauge(this.rooms, ROOM_COUNT_WAIT_MS);
  /**
   * Per-message counts wait here as plain numbers (one Map per direction, keyed by the message type, so
   * counting allocates nothing) and are added to `messages` when it is read: prom-client hashes a label
   * object on every `inc`, which cost the relay about 5 % of its CPU.
   */
  private readonly pendingMessages = { in: new Map<string, number>(), out: new Map<string, number>() };
  readonly messages = new Counter({
    name: "volly_signal_messages_total",
    help: "Signal messages by type and direction (in: from clients, out: to clients)",
    labelNames: ["type", "direction"] as const,
    registers: [this.registry],
    collect: () => this.foldMessageCounts(),
  });
  /** Fed with `record(seconds)` on the relay path (see TalliedHistogram). */
  readonly relayLatency = new TalliedHistogram({
    name: "volly_relay_latency_seconds",
    help: "Time from receiving a relayed message to handing it to the recipient's connection",
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
    registers: [this.registry],
  });
  readonly connectionEstablishment = new Histogram({
    name: "volly_webrtc_connection_establishment_seconds",
    help: "Time from a call invite until both peers reported their peer connection connected",
    buckets: [0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60],
    registers: [this.registry],
  });
  readonly memoryPerSession = new Gauge({
    name: "volly_memory_per_session_bytes",
    help: "Resident memory of the process divided by its open signal connections",
    registers: [this.registry],
  });
  readonly errorsSent = new Counter({
    name: "volly_errors_total",
    help: "Errors sent to clients by Connect code",
    labelNames: ["code"] as const,
    registers: [this.registry],
  });
  readonly limitsHit = new Counter({
    name: "volly_limit_exceeded_total",
    help: "Requests or connections refused by a limit",
    labelNames: ["limit"] as const,
    registers: [this.registry],
  });
  readonly redisLatency = new Histogram({
    name: "volly_redis_command_duration_seconds",
    help: "Redis command latency by command",
    labelNames: ["command"] as const,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
    registers: [this.registry],
  });
  /**
   * Registered by its first `set`, which only a Redis backend makes: a memory node must not expose it, or
   * an alert on `volly_redis_up == 0` would fire on every memory node (an unset gauge reads 0).
   */
  readonly redisUp = new LateGauge(this.registry, {
    name: "volly_redis_up",
    help: "1 when the Redis backend answers, 0 when it does not (absent in memory mode)",
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "volly_" });
  }

  /** Counts one signal message (per-message path: see `pendingMessages`). */
  countMessage(type: string, direction: "in" | "out"): void {
    const pending = this.pendingMessages[direction];
    pending.set(type, (pending.get(type) ?? 0) + 1);
  }

  private foldMessageCounts(): void {
    for (const direction of ["in", "out"] as const) {
      for (const [type, n] of this.pendingMessages[direction]) {
        if (n === 0) continue;
        this.messages.inc({ type, direction }, n);
        this.pendingMessages[direction].set(type, 0);
      }
    }
  }

  /** Sets the scrape-time gauges: memory per open connection, and the rooms `countRooms` reads from the store. */
  async refresh(countRooms: () => Promise<number>): Promise<void> {
    // Every open signal connection, as volly_connections_active counts them: one mid-handshake costs
    // memory too (joined participants alone read 0 during a handshake flood).
    const open = (await this.connections.get()).values.reduce((sum, v) => sum + v.value, 0);
    this.memoryPerSession.set(open > 0 ? process.memoryUsage().rss / open : 0);
    await this.roomCount.refresh(countRooms);
  }
}
