import { create } from "@bufbuild/protobuf";
import { SignalRequestSchema, SignalResponseSchema, type SignalRequest, type SignalResponse } from "../../../gen/volly/signaling/v1/signal_pb.js";
import { decodePlaintext } from "../../../src/protocol/signal-codec.js";
import { openChannel, type Channel, type ChannelKind } from "../../helpers/channels.js";
import { createIndependentClient, type IndependentAlgorithm, type IndependentClient, type IndependentTokenKeyPair } from "../../helpers/independent-pq-client.js";

/** A connection opened with a ready-made token (CLI output, a token from elsewhere), after its handshake. */
export interface JoinedConnection {
  readonly channel: Channel;
  readonly pq: IndependentClient | undefined;
  /** The first inner message (`join` when all went well). */
  readonly first: SignalResponse;
  /** Every outer frame received and sent so far (for tests that look for leaked bytes). */
  readonly wire: SignalResponse[];
  readonly sent: SignalRequest[];
}

/**
 * Opens `kind` to `port` with `token` and runs the PQ handshake with the independent client: way (a) when
 * `tokenKeyPair` is given (the token carries its public key, the server speaks first), way (b) otherwise;
 * `pq: false` for a server with PQ off. Resolves with the first inner message.
 */
export async function joinWithToken(o: {
  kind: ChannelKind;
  port: number;
  token: string;
  pq: false | IndependentAlgorithm;
  tokenKeyPair?: IndependentTokenKeyPair;
}): Promise<JoinedConnection> {
  const channel = await openChannel(o.kind, o.port, { token: o.token });
  const wire: SignalResponse[] = [];
  const sent: SignalRequest[] = [];
  const send = (r: SignalRequest): void => {
    sent.push(r);
    channel.send(r);
  };
  const take = async (what: string): Promise<SignalResponse> => {
    const r = await channel.responses.take(5000, what);
    wire.push(r);
    return r;
  };
  if (!o.pq) return { channel, pq: undefined, first: await take("join"), wire, sent };
  const pq = createIndependentClient({ accessToken: o.token, algorithm: o.pq, ...(o.tokenKeyPair ? { tokenKeyPair: o.tokenKeyPair } : {}) });
  if (!o.tokenKeyPair) {
    const fields = await pq.handshakeMessage("ops-test");
    send(create(SignalRequestSchema, { message: { case: "pqHandshake", value: fields } }));
  }
  const response = await take("pq_handshake_response");
  if (response.message.case !== "pqHandshakeResponse") {
    throw new Error(`expected pq_handshake_response, got ${response.message.case}: ${JSON.stringify(response.message.value)}`);
  }
  const { clientFinished } = await pq.onHandshakeResponse(response.message.value);
  send(create(SignalRequestSchema, { message: { case: "pqFinished", value: { clientFinished } } }));
  const outer = await take("join");
  if (outer.message.case !== "secure") return { channel, pq, first: outer, wire, sent };
  const first = decodePlaintext(SignalResponseSchema, await pq.open(outer.message.value), channel.format);
  return { channel, pq, first, wire, sent };
}
