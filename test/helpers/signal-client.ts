import { create, type MessageInitShape } from "@bufbuild/protobuf";
import type { JoinResponse, ReconnectResponse } from "../../gen/volly/signaling/v1/signal_pb.js";
import {
  SignalRequestSchema,
  SignalResponseSchema,
  type SignalRequest,
  type SignalResponse,
} from "../../gen/volly/signaling/v1/signal_pb.js";
import { decodePlaintext, encodePlaintext } from "../../src/protocol/signal-codec.js";
import { AsyncQueue } from "./async-queue.js";
import { openChannel, type Channel, type ChannelKind } from "./channels.js";
import { createIndependentClient, generateTokenKeyPair, type IndependentAlgorithm, type IndependentClient } from "./independent-pq-client.js";
import { makeToken, type TokenOptions } from "./tokens.js";

type Case = NonNullable<SignalResponse["message"]["case"]>;
type ValueOf<C extends Case> = Extract<SignalResponse["message"], { case: C }>["value"];

export interface TestClientOptions {
  kind: ChannelKind;
  port: number;
  identity: string;
  room?: string;
  /** PQ algorithm, or false when the server runs with PQ off. */
  pq: false | IndependentAlgorithm;
  /** Bind the key in the token (way a) instead of sending `pq_handshake` (way b). */
  tokenKey?: boolean;
  token?: Partial<TokenOptions>;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  /** Wait for `join`/`reconnect` (default true). */
  awaitJoin?: boolean;
  /** WebSocket only: answer control pings (default true). */
  autoPong?: boolean;
}

/**
 * A test participant over a real client channel, with the PQ channel done by the independent
 * implementation (test/helpers/independent-pq-client.ts), so end-to-end tests also prove that the server
 * and the design agree. `next`/`waitFor` return decrypted inner messages.
 */
export class TestClient {
  readonly inbox = new AsyncQueue<SignalResponse>();
  readonly stash: SignalResponse[] = [];
  join: JoinResponse | undefined;
  reconnect: ReconnectResponse | undefined;
  lastMessageId = 0n;
  readonly messageIds: bigint[] = [];
  private sendChain: Promise<void> = Promise.resolve();
  private requestId = 0;

  private constructor(readonly channel: Channel, readonly pq: IndependentClient | undefined, readonly token: string) {}

  static async connect(o: TestClientOptions): Promise<TestClient> {
    const pqKey = o.pq && o.tokenKey ? await generateTokenKeyPair(o.pq) : undefined;
    const token = await makeToken({
      identity: o.identity,
      room: o.room ?? "room-1",
      ...o.token,
      claims: {
        ...(pqKey ? { pqPublicKey: Buffer.from(pqKey.publicKey).toString("base64"), pqAlgorithm: o.pq, pqKeyExpiry: Date.now() + 3_600_000 } : {}),
        ...o.token?.claims,
      },
    });
    const channel = await openChannel(o.kind, o.port, { token, query: o.query, headers: o.headers, autoPong: o.autoPong });
    const pq = o.pq ? createIndependentClient({ accessToken: token, algorithm: o.pq, tokenKeyPair: pqKey }) : undefined;
    const client = new TestClient(channel, pq, token);
    if (pq) await client.handshake(pqKey !== undefined);
    void client.pump();
    if (o.awaitJoin ?? true) {
      const first = await client.next(5000);
      if (first.message.case === "join") client.join = first.message.value;
      else if (first.message.case === "reconnect") client.reconnect = first.message.value;
      else throw new Error(`expected join, got ${first.message.case}: ${JSON.stringify(first.message.value)}`);
    }
    return client;
  }

  /** Sends an inner request (encrypted when PQ is on); returns its request id. */
  send(message: MessageInitShape<typeof SignalRequestSchema>["message"], requestId = ++this.requestId): number {
    const request = create(SignalRequestSchema, { message, requestId } as MessageInitShape<typeof SignalRequestSchema>);
    this.sendChain = this.sendChain.then(async () => {
      if (!this.pq) return this.channel.send(request);
      const record = await this.pq.seal(encodePlaintext(SignalRequestSchema, request, this.channel.format));
      this.channel.send(create(SignalRequestSchema, { message: { case: "secure", value: record } }));
    });
    return requestId;
  }

  /** Sends an outer envelope as is (no encryption): for protocol tests. */
  sendOuter(request: SignalRequest): void {
    this.sendChain = this.sendChain.then(() => this.channel.send(request));
  }

  async flush(): Promise<void> {
    await this.sendChain;
  }

  /** The next inner message (from the stash first). */
  async next(timeoutMs = 5000): Promise<SignalResponse> {
    return this.stash.shift() ?? this.inbox.take(timeoutMs, "next message");
  }

  /** The first message of `kind` (matching `pred`); others are stashed for later `next` calls. */
  async waitFor<C extends Case>(kind: C, pred: (v: ValueOf<C>, r: SignalResponse) => boolean = () => true, timeoutMs = 5000): Promise<ValueOf<C>> {
    const i = this.stash.findIndex((r) => r.message.case === kind && pred(r.message.value as ValueOf<C>, r));
    if (i >= 0) return this.stash.splice(i, 1)[0]?.message.value as ValueOf<C>;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await this.inbox.take(Math.max(1, deadline - Date.now()), `${kind}`);
      if (r.message.case === kind && pred(r.message.value as ValueOf<C>, r)) return r.message.value as ValueOf<C>;
      this.stash.push(r);
    }
  }

  /** Acknowledges every message received so far. */
  ack(): void {
    this.send({ case: "ack", value: { lastMessageId: this.lastMessageId } });
  }

  async leave(): Promise<{ code: number; reason: string }> {
    this.send({ case: "leave", value: {} });
    return this.channel.closed;
  }

  kill(): void {
    this.channel.kill();
  }

  private async handshake(tokenBound: boolean): Promise<void> {
    const pq = this.pq as IndependentClient;
    if (!tokenBound) {
      const fields = await pq.handshakeMessage("test-label");
      this.channel.send(create(SignalRequestSchema, { message: { case: "pqHandshake", value: fields } }));
    }
    const response = await this.channel.responses.take(5000, "pq_handshake_response");
    if (response.message.case !== "pqHandshakeResponse") {
      throw new Error(`expected pq_handshake_response, got ${response.message.case}: ${JSON.stringify(response.message.value)}`);
    }
    const { clientFinished } = await pq.onHandshakeResponse(response.message.value);
    this.channel.send(create(SignalRequestSchema, { message: { case: "pqFinished", value: { clientFinished } } }));
  }

  private async pump(): Promise<void> {
    try {
      for await (const outer of this.channel.responses) {
        let inner = outer;
        if (this.pq && outer.message.case === "secure") {
          const plaintext = await this.pq.open(outer.message.value);
          inner = decodePlaintext(SignalResponseSchema, plaintext, this.channel.format);
        }
        if (inner.message.case === "rekey" && this.pq) await this.pq.onRekeyResponse(inner.message.value);
        if (inner.messageId > 0n) {
          this.messageIds.push(inner.messageId);
          this.lastMessageId = inner.messageId;
        }
        this.inbox.push(inner);
      }
    } catch (e) {
      this.inbox.push(create(SignalResponseSchema, { message: { case: "error", value: { code: "client_error", message: String(e) } } }));
    } finally {
      this.inbox.end();
    }
  }
}
