import { Code, ConnectError } from "@connectrpc/connect";
import type { PqAlgorithm } from "../protocol/pq/algorithms.js";
import type { VollyDataAck, VollyDataMessage } from "./client-events.js";
import type { ClientPqSession } from "./pq/client-session.js";

/** How the messaging client reaches the signaling connection behind a session handle (internal). */
export interface MessagingTransport {
  /** This participant's identity. */
  readonly localIdentity: string;
  sendData(payload: Uint8Array, options: { target: string; topic: string; id: string }): Promise<VollyDataAck>;
  /** The server's `data` payload limit, as last advertised (the default before the first join). */
  maxDataBytes(): number;
  onData(listener: (message: VollyDataMessage) => void): () => void;
}

/** Where a session handle reads the live session (internal). */
export interface PostQuantumSource {
  current(): ClientPqSession | undefined;
  /** Rekeys completed over the client's lifetime (all sessions). */
  rekeys(): number;
  /** Connected, waiting for a reconnection under way, or connecting. */
  ensureConnected(): Promise<unknown>;
  /** False when the client was made for a plaintext server (`postQuantum: false`). */
  readonly postQuantum: boolean;
}

/** HKDF-Expand with SHA-256 yields at most 255 blocks of 32 bytes. */
const MAX_EXPORT_BYTES = 255 * 32;

const transports = new WeakMap<VollyPostQuantumSession, MessagingTransport>();

/**
 * The post-quantum session of a signaling client, live: after a resume (a fresh handshake, so a new session id)
 * it shows the new session. `exportKey(label, length)` = HKDF-Expand(exporter, label, length) gives keys for other
 * channels, never the signaling keys; distinct labels give independent keys. Pass it to `VollyMessagingClient`.
 */
export class VollyPostQuantumSession {
  constructor(private readonly source: PostQuantumSource, transport: MessagingTransport) {
    transports.set(this, transport);
  }

  /** True while a post-quantum channel is established. */
  get established(): boolean {
    return this.source.current() !== undefined;
  }

  /** 32 lowercase hex digits, assigned by the server (undefined before connecting). */
  get sessionId(): string | undefined {
    return this.source.current()?.sessionId;
  }

  get algorithm(): PqAlgorithm | undefined {
    return this.source.current()?.algorithm;
  }

  /** Milliseconds since the epoch when the server ends the session (the SDK then resumes with a new one). */
  get expiresAt(): number | undefined {
    return this.source.current()?.expiresAt;
  }

  /** The current key epoch (0 after the handshake, +1 per rekey). */
  get epoch(): number {
    return this.source.current()?.epoch ?? 0;
  }

  /** Rekeys completed since the client was created. */
  get rekeys(): number {
    return this.source.rekeys();
  }

  /** Derives `length` bytes for `label` from the session's exporter (connects, or waits for a reconnection, first). */
  async exportKey(label: string, length: number): Promise<Uint8Array> {
    if (typeof label !== "string") throw new ConnectError("exportKey label must be a string", Code.InvalidArgument);
    if (!Number.isInteger(length) || length < 1 || length > MAX_EXPORT_BYTES) {
      throw new ConnectError(`exportKey length must be an integer from 1 to ${MAX_EXPORT_BYTES} (HKDF-SHA256's limit), not ${String(length)}`, Code.InvalidArgument);
    }
    if (!this.source.postQuantum) throw new ConnectError("no post-quantum session: signaling is plaintext (postQuantum: false)", Code.FailedPrecondition);
    await this.source.ensureConnected();
    const session = this.source.current();
    if (session === undefined) throw new ConnectError("no post-quantum session: the connection dropped again", Code.Unavailable);
    return session.exportKey(label, length);
  }
}

/** The connection behind a session handle; throws `ConnectError` (`InvalidArgument`) for anything else. */
export function messagingTransportOf(session: VollyPostQuantumSession): MessagingTransport {
  // WeakMap.get of a primitive is undefined, not a throw, so any value lands on the one clear error.
  const transport = transports.get(session);
  if (transport === undefined) {
    throw new ConnectError("postQuantumSession must come from VollySignalingClient.getPostQuantumSession()", Code.InvalidArgument);
  }
  return transport;
}
