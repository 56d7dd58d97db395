import { Code, ConnectError } from "@connectrpc/connect";
import type { JoinResponse, LeaveRequest, ReconnectResponse, SignalRequest, SignalResponse } from "../../gen/volly/signaling/v1/signal_pb.js";
import { errorFromClose, errorFromResponse } from "./client-errors.js";
import type { ConnectionSettings } from "./client-options.js";
import { DEFAULT_CONNECTION_LIMITS, limitsOf, type VollyConnectionLimits } from "./connection-limits.js";
import { Heartbeat } from "./heartbeat.js";
import { Outbox, type OutboundMessage } from "./outbox.js";
import type { ClientPqSession } from "./pq/client-session.js";
import { RekeySchedule } from "./rekey-schedule.js";
import { SecureChannel } from "./secure-channel.js";
import { requestCost, SendPacer } from "./send-pacer.js";
import { LeaveRefusal, leaveOutcome, reasonName, type LeaveOutcome } from "./server-leave.js";
import { SignalSocket } from "./signal-socket.js";

/** Where the connection stands. */
export type ConnectionState = "idle" | "connecting" | "connected" | "reconnecting" | "disconnected";

/** How a connection was (re)established: a first join, a resume of the same participant, or a new participant. */
export type EntryKind = "join" | "resume" | "rejoin";

/** What the connection tells its owner. */
export interface ConnectionEvents {
  /** `join` or `reconnect` arrived; called before any message that follows it. */
  entered(response: JoinResponse | ReconnectResponse, how: EntryKind): void;
  /** A stream message (de-duplicated by message id) or an unsolicited `error`. */
  message(response: SignalResponse): void;
  /** The socket is gone; `recover` decides what comes next. */
  lost(reason: string, action: LeaveOutcome, error: ConnectError | undefined): void;
  rekeyed(epoch: number): void;
  /** What a request costs of the server's fan-out budget: bytes times the recipients it reaches (0: not a broadcast). */
  broadcastCost(request: SignalRequest): number;
}

interface Attempt {
  readonly generation: number;
  readonly how: EntryKind;
  readonly resolve: (response: JoinResponse | ReconnectResponse) => void;
  readonly reject: (error: ConnectError) => void;
}

/**
 * One participant's signal connection across sockets: attempts (socket, PQ handshake, `join` or resume), the
 * inbound stream (message ids de-duplicated, acknowledged), the outbox of requests (kept until handled, replayed
 * after a resume), pings, scheduled rekeys and refreshed tokens. Losing a socket is reported through `lost`; the
 * owner's recovery calls `enter` again.
 */
export class SignalConnection {
  private current: ConnectionState = "idle";
  /** The participant sid (after the first join). */
  sid: string | undefined;
  /** The last stream message id processed. */
  lastMessageId = 0n;
  /** The current token: the original, or the latest `refresh_token`. */
  token: string;
  /** What the server last advertised (defaults until then, and from servers that do not say). */
  limits: VollyConnectionLimits = DEFAULT_CONNECTION_LIMITS;
  readonly outbox: Outbox;
  private readonly pacer = new SendPacer();
  private generation = 0;
  private socket: SignalSocket | undefined;
  private channel: SecureChannel | undefined;
  private attempt: Attempt | undefined;
  /** Aborts the socket still opening for the current attempt (so `close()` leaves nothing pending). */
  private opening: AbortController | undefined;
  /** The last `error` no request claimed (the cause of a `leave` that follows it). */
  private lastError: ConnectError | undefined;
  /**
   * That `error`, held back until the next message shows whether it announced a `leave` that recovery handles
   * (session expired, rekey overdue, drain...): that one is reported by `reconnecting`, not as an app-level error.
   */
  private heldError: SignalResponse | undefined;
  private readonly heartbeat: Heartbeat;
  private readonly rekeys: RekeySchedule;
  /** The rekey under way: one at a time per channel, so a `rekey()` during the scheduled one joins it. */
  private rekeying: Promise<void> | undefined;
  /** What waits for the recovery under way: settled by the next `join`/`reconnect`, or when the connection ends. */
  private readonly reentry = new Set<{ resolve(): void; reject(error: ConnectError): void }>();
  /** Why the connection last became `disconnected`: what a request interrupted by that end reports. */
  private endedWith: ConnectError | undefined;
  /** Why recovery gave up (`end`), for what was waiting for it. */
  private endError: ConnectError | undefined;

  constructor(private readonly settings: ConnectionSettings, token: string, private readonly events: ConnectionEvents) {
    this.token = token;
    this.outbox = new Outbox(settings.requestTimeoutMs);
    this.heartbeat = new Heartbeat(
      {
        ping: (timestamp, rtt) => void this.outbox.sendUntracked({
          case: "ping", value: { timestamp: BigInt(timestamp), rtt: BigInt(rtt), lastMessageId: this.lastMessageId },
        }),
        ack: () => void this.outbox.sendUntracked({ case: "ack", value: { lastMessageId: this.lastMessageId } }),
        dead: () => this.drop(new ConnectError("no message within the ping timeout", Code.DeadlineExceeded)),
      },
      32,
      20,
    );
    this.rekeys = new RekeySchedule(
      // The schedule's rekey fails with its channel: the next channel gets a schedule of its own.
      () => (this.channel === undefined ? Promise.reject(new ConnectError("not connected", Code.FailedPrecondition)) : this.rekeyChannel(this.channel)),
      (e) => this.drop(ConnectError.from(e, Code.DataLoss)),
      () => this.channel?.keyedAt ?? performance.now(),
    );
  }

  get state(): ConnectionState {
    return this.current;
  }

  /** Set here, by recovery and by the owner; leaving for "disconnected" fails whatever waits for a recovery. */
  set state(next: ConnectionState) {
    this.current = next;
    if (next !== "disconnected") return;
    const error = this.endError ?? new ConnectError("disconnected", Code.Unavailable);
    this.endError = undefined;
    this.endedWith = error;
    for (const waiter of this.reentry) waiter.reject(error);
    this.reentry.clear();
  }

  /** Recovery gave up with `error`: the connection is closed for good (until the owner connects afresh). */
  end(error: ConnectError | undefined): void {
    this.close();
    this.endError = error;
    this.state = "disconnected";
  }

  /** The current post-quantum session, if established. */
  get pqSession(): ClientPqSession | undefined {
    return this.channel?.pqSession;
  }

  /**
   * One attempt: socket, handshake, then `join` (`how` = join/rejoin) or `reconnect` (resume). Resolves once the
   * participant is in; rejects with a `ConnectError` (a `LeaveRefusal` when the server refused with `leave`).
   */
  async enter(how: EntryKind): Promise<JoinResponse | ReconnectResponse> {
    this.close();
    this.lastError = undefined;
    const generation = ++this.generation;
    const channel = new SecureChannel(
      { ...this.settings, token: this.token, handshakeTimeoutMs: this.settings.connectTimeoutMs },
      {
        message: (r) => this.onInner(generation, r),
        failed: (e) => this.onBroken(generation, e),
        closed: (code, reason) => this.onClosed(generation, code, reason),
      },
    );
    const entered = new Promise<JoinResponse | ReconnectResponse>((resolve, reject) => {
      this.attempt = { generation, how, resolve, reject };
    });
    entered.catch(() => undefined);
    const resume = how === "resume" && this.sid !== undefined ? { sid: this.sid, lastMessageId: this.lastMessageId } : undefined;
    // One deadline for the whole attempt (open, handshake, join): the open and the handshake have timers of the
    // same length of their own, which this one, started first, never outlasts.
    const timeoutMs = this.settings.connectTimeoutMs;
    const timer = setTimeout(
      () => this.attempt?.reject(new ConnectError(`timed out connecting (connectTimeoutMs ${timeoutMs}: open, handshake and join)`, Code.DeadlineExceeded)),
      timeoutMs,
    );
    const opening = new AbortController();
    this.opening = opening;
    try {
      const socket = await SignalSocket.open(
        {
          url: this.settings.url, token: this.token, format: this.settings.format, resume, WebSocket: this.settings.WebSocket,
          openTimeoutMs: this.settings.connectTimeoutMs, signal: opening.signal,
        },
        channel.socketHandlers,
      );
      if (generation !== this.generation) {
        socket.close();
        throw new ConnectError("connection attempt superseded", Code.Canceled);
      }
      this.socket = socket;
      this.channel = channel;
      await Promise.race([channel.establish(socket), entered]);
      return await entered;
    } catch (e) {
      if (generation === this.generation) this.close();
      throw ConnectError.from(e, Code.Unavailable);
    } finally {
      clearTimeout(timer);
      if (this.opening === opening) this.opening = undefined;
      if (this.attempt?.generation === generation) this.attempt = undefined;
    }
  }

  /** Sends a request through the outbox (queued while offline); see `Outbox.submit`. */
  request(message: OutboundMessage, expectsAnswer: boolean): Promise<SignalResponse | undefined> {
    const result = this.outbox.submit(message, expectsAnswer);
    if (!expectsAnswer) this.heartbeat.confirmSoon();
    return result;
  }

  /** Sends `leave` and waits (briefly) for the server to close. */
  async leave(timeoutMs: number): Promise<void> {
    const socket = this.socket;
    if (socket === undefined || this.state !== "connected") return;
    const generation = this.generation;
    // The leave goes out now, not behind paced requests: they are moot once the participant leaves.
    this.pacer.clear();
    this.outbox.sendUntracked({ case: "leave", value: {} });
    const deadline = Date.now() + timeoutMs;
    while (generation === this.generation && socket.isOpen && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  }

  /**
   * Rekeys the post-quantum channel now, or once reconnected while recovering. A rekey whose channel is lost before
   * its answer (a dropped socket, a broken channel) is not failed for it: recovery resumes with a fresh handshake,
   * and the rekey runs then, as one asked for a moment later would. Rejects if recovery gives up or the client
   * disconnects meanwhile.
   */
  async rekey(): Promise<void> {
    for (;;) {
      if (this.state === "reconnecting") await this.reentered();
      const channel = this.channel;
      if (channel === undefined || this.state !== "connected") throw new ConnectError("not connected", Code.FailedPrecondition);
      try {
        return await this.rekeyChannel(channel);
      } catch (e) {
        // Recovery reports the loss before the channel fails its rekey (SecureChannel): by now it is under way,
        // or the client ended meanwhile (an app that disconnects on `reconnecting`), which is why it failed.
        if (this.channel !== channel && this.current === "disconnected") throw this.endedWith ?? e;
        if (this.channel === channel || this.current !== "reconnecting") throw e;
      }
    }
  }

  /** Rekeys `channel`; while a rekey is under way, resolves with it instead of starting another. Fails with the channel. */
  private rekeyChannel(channel: SecureChannel): Promise<void> {
    this.rekeying ??= channel.rekey(this.settings.requestTimeoutMs)
      .then(() => this.events.rekeyed(channel.pqSession?.epoch ?? 0))
      .finally(() => (this.rekeying = undefined));
    return this.rekeying;
  }

  /** Resolves at the next `join`/`reconnect`; rejects when the connection ends first. */
  private reentered(): Promise<void> {
    return new Promise((resolve, reject) => this.reentry.add({ resolve, reject }));
  }

  /** Cuts the current socket as if the network dropped it (the owner then recovers). */
  drop(error: ConnectError): void {
    this.close();
    this.lostNow("connection_lost", "resume", error);
  }

  /** Closes the socket and stops the timers (an attempt in progress fails); later events of it are ignored. */
  close(): void {
    this.releaseHeldError(undefined);
    const attempt = this.attempt;
    this.attempt = undefined;
    attempt?.reject(new ConnectError("connection closed", Code.Canceled));
    this.opening?.abort();
    this.opening = undefined;
    this.generation++;
    this.heartbeat.stop();
    this.rekeys.stop();
    this.pacer.clear();
    this.outbox.detach();
    this.socket?.close();
    this.channel?.destroy();
    this.socket = this.channel = undefined;
  }

  private lostNow(reason: string, action: LeaveOutcome, error: ConnectError | undefined): void {
    if (this.state !== "connected") return;
    this.state = "reconnecting";
    this.events.lost(reason, action, error);
  }

  private onInner(generation: number, inner: SignalResponse): void {
    if (generation !== this.generation) return;
    this.releaseHeldError(inner);
    this.heartbeat.received();
    this.outbox.received();
    if (inner.messageId > 0n) {
      if (inner.messageId <= this.lastMessageId) return; // already processed (replay after a resume)
      this.lastMessageId = inner.messageId;
      this.heartbeat.counted();
    }
    const m = inner.message;
    switch (m.case) {
      case "join":
      case "reconnect":
        return this.onEntered(generation, m.value, m.case);
      case "pong":
        this.heartbeat.pong(Number(m.value.lastPingTimestamp));
        this.outbox.confirm(inner.requestId);
        return;
      case "dataAck":
      case "discover":
        this.outbox.settle(inner.requestId, inner);
        return;
      case "refreshToken":
        this.token = m.value.token;
        return;
      case "error":
        if (inner.requestId !== 0 && this.outbox.settle(inner.requestId, inner)) return;
        this.lastError = errorFromResponse(m.value);
        if (this.attempt?.generation !== generation) this.heldError = inner;
        return;
      case "leave":
        return this.onLeave(generation, m.value);
      default:
        this.events.message(inner);
    }
  }

  /**
   * Emits the held `error` unless `next` is the `leave` it announced and recovery will handle that leave (resume
   * or rejoin): the error then reaches the app as the cause in `reconnecting`. Anything else (another message, the
   * socket's end) shows it was an error of its own.
   */
  private releaseHeldError(next: SignalResponse | undefined): void {
    const held = this.heldError;
    if (held === undefined) return;
    this.heldError = undefined;
    const m = next?.message;
    const announced = m?.case === "leave" && held.message.case === "error" && held.message.value.message === m.value.message;
    if (announced && leaveOutcome(m.value.action) !== "disconnect") return;
    this.events.message(held);
  }

  private onEntered(generation: number, response: JoinResponse | ReconnectResponse, kind: "join" | "reconnect"): void {
    const attempt = this.attempt;
    if (attempt === undefined || attempt.generation !== generation) return;
    if ((kind === "reconnect") !== (attempt.how === "resume")) {
      attempt.reject(new ConnectError(`unexpected ${kind}`, Code.Internal));
      return;
    }
    if (kind === "join") {
      this.sid = response.participant?.sid;
      this.lastMessageId = 0n;
    }
    this.state = "connected";
    this.attempt = undefined;
    // The owner learns about the (new) participant before anything that follows `join`/`reconnect`.
    this.events.entered(response, attempt.how);
    const channel = this.channel as SecureChannel;
    this.limits = limitsOf(response);
    channel.maxFrameBytes = this.limits.maxFrameBytes;
    this.pacer.reset(this.limits, this.socket?.framesSent ?? 0);
    this.outbox.attach({
      generation,
      send: (r, sent) => this.pacer.send(() => {
        const refused = channel.send(r);
        if (refused !== undefined) this.outbox.refuse(r.requestId, refused);
        else sent?.();
      }, requestCost(r), this.events.broadcastCost(r)),
    });
    this.heartbeat.start(Math.max(1, response.pingInterval) * 1000, Math.max(2, response.pingTimeout) * 1000);
    if (this.outbox.awaitingConfirmation) this.heartbeat.confirmSoon(); // requests re-sent just now
    if (channel.pqSession !== undefined) this.rekeys.start(rekeyIntervalMs(this.settings.rekeyIntervalMs, response.pqSession?.rekeyInterval ?? 0));
    attempt.resolve(response);
    for (const waiter of this.reentry) waiter.resolve();
    this.reentry.clear();
  }

  private onLeave(generation: number, leave: LeaveRequest): void {
    const attempt = this.attempt;
    // The server sends the `error` behind a `leave` right before it, with the same message.
    const cause = this.lastError?.rawMessage === leave.message ? this.lastError : undefined;
    if (attempt?.generation === generation) {
      attempt.reject(new LeaveRefusal(leave, cause));
      return;
    }
    const error = cause ?? (leave.message ? new ConnectError(leave.message, Code.Unavailable) : undefined);
    this.close();
    this.lostNow(reasonName(leave.reason), leaveOutcome(leave.action), error);
  }

  /** The channel broke (bad record, undecodable frame): fails the attempt, or drops a joined connection. */
  private onBroken(generation: number, error: ConnectError): void {
    if (generation !== this.generation) return;
    if (this.attempt?.generation === generation) this.attempt.reject(error);
    else this.drop(error);
  }

  private onClosed(generation: number, code: number, reason: string): void {
    if (generation !== this.generation) return;
    const error = errorFromClose(code, reason);
    if (this.attempt?.generation === generation) {
      this.attempt.reject(error);
      return;
    }
    this.close();
    this.lostNow("connection_lost", "resume", error);
  }
}

/**
 * When to rekey: the option, but never later than the server's interval (seconds; 0 when it sets none), since the
 * server closes a channel that has not rekeyed within its interval plus grace. An option ≤ 0 leaves the server's.
 */
function rekeyIntervalMs(optionMs: number | undefined, serverSeconds: number): number {
  const serverMs = serverSeconds * 1000;
  if (optionMs === undefined || !(optionMs > 0)) return serverMs;
  return serverMs > 0 ? Math.min(optionMs, serverMs) : optionMs;
}
