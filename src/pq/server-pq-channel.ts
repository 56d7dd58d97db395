import { create } from "@bufbuild/protobuf";
import { StoredSessionSchema } from "../../gen/volly/signaling/v1/internal_pb.js";
import { PqSessionInfoSchema, type PqSessionInfo } from "../../gen/volly/signaling/v1/models_pb.js";
import type { RekeyRequest } from "../../gen/volly/signaling/v1/pq_pb.js";
import { SignalResponseSchema, type SignalRequest, type SignalResponse } from "../../gen/volly/signaling/v1/signal_pb.js";
import type { Clock } from "../cluster/cluster-clock.js";
import type { PqConfig } from "../config.js";
import { errorIdOf, errors } from "../errors.js";
import type { Metrics } from "../metrics/metrics.js";
import type { ConnectionLog } from "../session/connection-log.js";
import type { PqChannel, PqChannelContext, PqChannelFactory, RecordFields } from "../session/pq-channel.js";
import type { Store } from "../store/store.js";
import type { PqSession } from "./pq-session.js";
import { ServerHandshake, type PqHandshakeResponseFields, type PqPolicy } from "./server-handshake.js";

/**
 * The `result` of a handshake the connection ended before it was done or refused. Not a catalogue error
 * (nobody is left to send it to), but named like one so that `"result":"pq_` still finds every failure.
 */
const ABANDONED = "pq_handshake_abandoned";

/**
 * Builds the server's post-quantum channel for each connection (VOLLY_PQ_* settings). A session's
 * `created_at`/`expires_at` are on `clock` (the cluster's: they are stored and shown); its deadlines are
 * judged on the monotonic clock (`PqSession.hasLapsed`), a token's PQ key expiry on the wall clock.
 */
export function createPqChannelFactory(pq: PqConfig, store: Store, metrics: Metrics, nodeId: string, clock: Clock): PqChannelFactory {
  // One policy object and one clock function for the node, not one per connection.
  const policy: PqPolicy = { defaultAlgorithm: pq.algorithm, requireHybrid: pq.requireHybrid, sessionTimeoutMs: pq.sessionTimeoutMs };
  const now = (): number => clock.now();
  return (context) => new ServerPqChannel(pq, policy, store, metrics, nodeId, context, now);
}

/**
 * The post-quantum layer of one connection: runs `ServerHandshake`, records the session (metadata only)
 * in the store, counts and logs every handshake as a `pq_handshake` event, and then seals and opens
 * records through the established `PqSession`. Keys never leave `PqSession`.
 */
class ServerPqChannel implements PqChannel {
  /** Until the session is established: it holds the token and the client's key, which an idle session must not. */
  private handshakeState: ServerHandshake | undefined;
  private session: PqSession | undefined;
  /** The handshake's outcome was counted and logged (success or a refusal): it ends without another line. */
  private outcomeTold = false;
  private readonly startedAt = performance.now();
  private readonly log: ConnectionLog;
  private readonly participant: PqChannelContext["participant"];

  constructor(
    private readonly config: PqConfig,
    policy: PqPolicy,
    private readonly store: Store,
    private readonly metrics: Metrics,
    private readonly nodeId: string,
    context: PqChannelContext,
    now: () => number,
  ) {
    this.log = context.log;
    this.participant = context.participant;
    const key = context.pqKey;
    this.handshakeState = new ServerHandshake({
      policy,
      now,
      tokenNow: Date.now,
      token: {
        accessToken: context.claims.token,
        ...(key ? { publicKey: key.publicKey, algorithm: key.algorithm } : {}),
        ...(key?.keyExpiry !== undefined ? { keyExpiry: key.keyExpiry } : {}),
      },
    });
  }

  get established(): boolean {
    return this.session !== undefined;
  }

  info(): PqSessionInfo | undefined {
    const s = this.session;
    if (!s) return undefined;
    return create(PqSessionInfoSchema, {
      sessionId: s.sessionId,
      algorithm: s.algorithm,
      expiresAt: BigInt(s.expiresAt),
      rekeyInterval: Math.floor(this.config.rekeyIntervalMs / 1000),
      epoch: s.epoch,
    });
  }

  async start(): Promise<SignalResponse | undefined> {
    const response = await this.attempt(() => this.handshaking("start").start());
    return response ? this.response(response) : undefined;
  }

  async handshake(request: SignalRequest): Promise<{ reply: SignalResponse | undefined; established: boolean }> {
    const m = request.message;
    if (m.case === "pqHandshake") {
      const response = await this.attempt(() => this.handshaking("pqHandshake").onHandshake(m.value));
      return { reply: response ? this.response(response) : undefined, established: false };
    }
    if (m.case === "pqFinished") {
      let way: ServerHandshake["way"] = "message";
      const session = await this.attempt(() => {
        const handshake = this.handshaking("pqFinished");
        way = handshake.way;
        return handshake.onFinished(m.value);
      });
      this.session = session;
      this.handshakeState = undefined;
      await this.recordSession(session, way);
      return { reply: undefined, established: true };
    }
    this.count(errors.pqRequired());
    throw errors.pqRequired();
  }

  open(record: RecordFields): Uint8Array {
    return this.requireSession().open(record);
  }

  seal(plaintext: Uint8Array): RecordFields {
    return this.requireSession().seal(plaintext);
  }

  get sendEpoch(): number {
    return this.requireSession().sendEpoch;
  }

  get sendSeq(): number {
    return this.requireSession().sendSeq;
  }

  sealInPlace(view: Uint8Array): void {
    this.requireSession().sealInPlace(view);
  }

  openInPlace(epoch: number, seq: number, view: Uint8Array): Uint8Array {
    return this.requireSession().openInPlace(epoch, seq, view);
  }

  async rekey(request: RekeyRequest, send: (response: SignalResponse) => void): Promise<void> {
    const session = this.requireSession();
    const prepared = await session.prepareRekey(request);
    // The answer is the last record of the old epoch; the send side switches right after it, same tick.
    send(create(SignalResponseSchema, { message: { case: "rekey", value: prepared.response } }));
    prepared.commit();
    this.metrics.rekeys.inc();
    this.log.info({ event: "pq_rekey", sessionId: session.sessionId, epoch: session.epoch }, "pq_rekey done");
    await this.store.countRekey();
    await this.store.updateSession(this.stored(session, "active"));
  }

  check(monotonicNow: number): "expired" | "rekey_overdue" | undefined {
    const s = this.session;
    if (!s) return undefined;
    if (s.hasLapsed(monotonicNow)) return "expired";
    if (s.keyAgeMs(monotonicNow) > this.config.rekeyIntervalMs + this.config.rekeyGraceMs) return "rekey_overdue";
    return undefined;
  }

  async end(expired: boolean): Promise<void> {
    if (this.handshakeState && !this.outcomeTold) this.abandoned(this.handshakeState);
    this.handshakeState?.destroy();
    const s = this.session;
    if (!s) return;
    s.destroy();
    this.session = undefined;
    this.metrics.sessionsActive.dec();
    if (expired) this.metrics.sessionsExpired.inc();
    this.log.info({ event: "pq_session_end", sessionId: s.sessionId, expired }, "pq session ended");
    await this.store.endSession(s.sessionId, expired);
  }

  /**
   * The handshake while it runs. Once the session exists the session routes records, not handshake
   * messages, here; should one come anyway it gets the answer the finished handshake would have given.
   */
  private handshaking(step: "start" | "pqHandshake" | "pqFinished"): ServerHandshake {
    if (this.handshakeState) return this.handshakeState;
    throw step === "pqFinished" ? errors.unexpectedMessage("pq_finished") : errors.pqHandshakeDuplicate();
  }

  private async attempt<T>(step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (e) {
      this.count(e);
      throw e;
    }
  }

  handshakeFailed(error: unknown): void {
    this.count(error);
  }

  private count(e: unknown): void {
    // One outcome per handshake: a step still running when the connection ended fails afterwards (its keys
    // were destroyed), and a timeout may fire while an established session is being recorded.
    if (this.outcomeTold) return;
    this.outcomeTold = true;
    const result = errorIdOf(e) ?? "internal";
    // Empty only when the client named no algorithm the server knows: failure rates per algorithm need it.
    const algorithm = this.handshakeState?.algorithm ?? this.session?.algorithm ?? "";
    this.metrics.handshakes.inc({ result, algorithm });
    this.log.warn({ event: "pq_handshake", result, ...(algorithm === "" ? {} : { algorithm }) }, "pq_handshake failed");
  }

  /**
   * The connection ended with the handshake neither done nor refused: the client closed it (often because its
   * own check of `server_finished` failed: a key-schedule bug in a client, which the server cannot see) or
   * sent `leave`, never started it, or the node shut down. Counted and logged like a refusal, so that
   * `grep pq_handshake` and the handshake counter account for every connection that had a handshake to do.
   */
  private abandoned(handshake: ServerHandshake): void {
    this.outcomeTold = true;
    const result = ABANDONED;
    const algorithm = handshake.algorithm ?? "";
    this.metrics.handshakes.inc({ result, algorithm });
    const awaiting = handshake.state === "new" ? "pq_handshake" : "pq_finished";
    const ms = Math.round(performance.now() - this.startedAt);
    this.log.warn(
      { event: "pq_handshake", result, ...(algorithm === "" ? {} : { algorithm }), way: handshake.way, awaiting, ms },
      "pq_handshake failed",
    );
  }

  private async recordSession(session: PqSession, way: ServerHandshake["way"]): Promise<void> {
    this.outcomeTold = true;
    const seconds = (performance.now() - this.startedAt) / 1000;
    this.metrics.handshakes.inc({ result: "success", algorithm: session.algorithm });
    this.metrics.handshakeDuration.observe({ algorithm: session.algorithm }, seconds);
    this.metrics.sessionsCreated.inc();
    this.metrics.sessionsActive.inc();
    this.log.info(
      { event: "pq_handshake", result: "success", sessionId: session.sessionId, algorithm: session.algorithm, way, ms: Math.round(seconds * 1000) },
      "pq_handshake established",
    );
    await this.store.createSession(this.stored(session, "active"));
  }

  private stored(session: PqSession, state: string) {
    const p = this.participant;
    return create(StoredSessionSchema, {
      sessionId: session.sessionId,
      identity: p.identity,
      room: p.room,
      participantSid: p.sid,
      algorithm: session.algorithm,
      nodeId: this.nodeId,
      createdAt: BigInt(session.createdAt),
      expiresAt: BigInt(session.expiresAt),
      rekeys: session.rekeys,
      state,
    });
  }

  private response(r: PqHandshakeResponseFields): SignalResponse {
    return create(SignalResponseSchema, { message: { case: "pqHandshakeResponse", value: r } });
  }

  private requireSession(): PqSession {
    if (!this.session) throw errors.pqRequired();
    return this.session;
  }
}
