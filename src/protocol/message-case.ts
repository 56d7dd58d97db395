import { SignalResponseSchema } from "../../gen/volly/signaling/v1/signal_pb.js";
import { WireReader } from "./wire-bytes.js";

const responseCases = new Map<number, string>(
  (SignalResponseSchema.oneofs[0]?.fields ?? []).map((f) => [f.number, f.localName]),
);

/**
 * The oneof case of an encoded SignalResponse, read from its first tag (encoders write the oneof first;
 * "unknown" otherwise). For metrics on the path that never decodes relayed messages.
 */
export function responseCaseOf(bytes: Uint8Array): string {
  const tag = new WireReader(bytes).varint();
  return tag < 0 ? "unknown" : (responseCases.get(Math.floor(tag / 8)) ?? "unknown");
}
