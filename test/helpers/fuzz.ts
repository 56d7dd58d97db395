import { create, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { SignalRequestSchema, type SignalRequest } from "../../gen/volly/signaling/v1/signal_pb.js";

/**
 * A seeded generator of hostile input (no dependency, reproducible: every failure prints its seed). Inputs are
 * a mix of raw noise, mutations of valid encodings and structurally valid messages with random field values,
 * so they reach past the first parser.
 */
export class Fuzz {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0 || 1;
  }

  /** mulberry32 */
  next(): number {
    let t = (this.state += 0x6d2b79f5);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(max: number): number {
    return Math.floor(this.next() * max);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }

  bytes(max: number): Uint8Array {
    const out = new Uint8Array(this.int(max + 1));
    for (let i = 0; i < out.length; i++) out[i] = this.int(256);
    return out;
  }

  string(max: number): string {
    const alphabets = ["abcdefghijklmnopqrstuvwxyz", "0123456789", "{}[]\":,\\\u0000\u001f", "éΩ𝄞🦊\u2028\u202e", "PA_RM_CO_"];
    let out = "";
    const n = this.int(max + 1);
    for (let i = 0; i < n; i++) {
      const a = this.pick(alphabets);
      out += [...a][this.int([...a].length)];
    }
    return out;
  }

  /** Flips bits, truncates, extends or splices random bytes into `data`. */
  mutate(data: Uint8Array): Uint8Array {
    const out = Uint8Array.from(data);
    switch (this.int(5)) {
      case 0:
        for (let i = 0, n = 1 + this.int(8); i < n && out.length > 0; i++) out[this.int(out.length)] ^= 1 << this.int(8);
        return out;
      case 1:
        return out.subarray(0, this.int(out.length + 1));
      case 2:
        return concat(out, this.bytes(64));
      case 3: {
        const at = this.int(out.length + 1);
        return concat(out.subarray(0, at), this.bytes(16), out.subarray(at));
      }
      default:
        if (out.length > 0) out[this.int(out.length)] = this.pick([0x00, 0xff, 0x7f, 0x80, 0x0a, 0x12]);
        return out;
    }
  }

  /**
   * A SignalRequest of a random case with random (often hostile) field values; structurally valid.
   * `insideRecord` leaves out what is always fatal inside a record (handshake messages, nested records).
   */
  request(insideRecord = false): SignalRequest {
    const s = (n = 64) => this.string(n);
    const big = () => this.pick([0n, 1n, 2n ** 63n - 1n, BigInt(this.int(1_000_000))]);
    const cases: Array<() => MessageInitShape<typeof SignalRequestSchema>["message"]> = [
      () => ({ case: "offer", value: mk({ sdp: s(300), target: s(8), callId: s(70), from: s(8), fromSid: s(8) }) }),
      () => ({ case: "answer", value: mk({ sdp: s(300), target: s(8), callId: s(8) }) }),
      () => ({ case: "trickle", value: mk({ candidate: s(this.pick([10, 5000])), target: s(8), callId: s(8) }) }),
      () => ({ case: "call", value: mk({ action: this.int(9), target: s(8), callId: s(70), audio: this.next() < 0.5, video: this.next() < 0.5, reason: s(300) }) }),
      () => ({ case: "data", value: mk({ target: s(8), topic: s(200), payload: this.bytes(this.pick([10, 20_000])), id: s(80) }) }),
      () => ({ case: "discover", value: mk({ identities: Array.from({ length: this.pick([0, 3, 101]) }, () => s(10)) }) }),
      () => ({ case: "updateMetadata", value: mk({ metadata: s(200), name: s(300), attributes: { [s(5)]: s(5), [s(5)]: "" } }) }),
      () => ({ case: "ping", value: mk({ timestamp: big(), rtt: big(), lastMessageId: big() }) }),
      () => ({ case: "ack", value: mk({ lastMessageId: big() }) }),
      () => ({ case: "pqHandshake", value: mk({ algorithm: this.pick(["ML-KEM-768", "X25519MLKEM768", s(12)]), clientPublicKey: this.bytes(this.pick([0, 1184, 1216, 2000])), sessionId: s(40), clientNonce: this.bytes(this.pick([0, 32, 31])) }) }),
      () => ({ case: "pqFinished", value: mk({ clientFinished: this.bytes(40) }) }),
      () => ({ case: "secure", value: mk({ epoch: this.int(3), seq: big(), ciphertext: this.bytes(100) }) }),
      () => ({ case: "rekey", value: mk({ algorithm: s(12), clientPublicKey: this.bytes(1184) }) }),
      () => ({ case: undefined }),
    ];
    const pool = insideRecord ? cases.filter((_, i) => i < 9 || i === 12 || i === 13) : cases;
    return create(SignalRequestSchema, { message: this.pick(pool)(), requestId: this.int(1000) });
  }

  /** A SignalRequest as bytes: valid, mutated, or noise. */
  binaryFrame(): Uint8Array {
    const r = this.next();
    if (r < 0.5) return toBinary(SignalRequestSchema, this.request());
    if (r < 0.85) return this.mutate(toBinary(SignalRequestSchema, this.request()));
    return this.bytes(200);
  }

  /** A text frame: flat JSON, canonical JSON, broken JSON or noise. */
  textFrame(): string {
    const r = this.next();
    const value = () => this.pick<unknown>([this.string(20), this.int(1e6), -1, 1e308, null, true, [], {}, [this.string(3)], { x: this.string(3) }, "AAAA", "=="]);
    if (r < 0.35) {
      const o: Record<string, unknown> = { type: this.pick(["offer", "answer", "trickle", "call", "data", "discover", "ping", "ack", "leave", "update_metadata", "pq_handshake", "pq_finished", "secure", "rekey", this.string(12), "__proto__", "constructor"]) };
      for (let i = 0, n = this.int(6); i < n; i++) o[this.pick(["sdp", "target", "call_id", "candidate", "payload", "identities", "timestamp", "request_id", "message_id", "algorithm", "client_public_key", "epoch", "seq", "ciphertext", "__proto__", this.string(8)])] = value();
      return JSON.stringify(o);
    }
    if (r < 0.6) {
      const o: Record<string, unknown> = {};
      o[this.pick(["offer", "pqHandshake", "ping", "data", "secure", this.string(8)])] = this.next() < 0.5 ? value() : { [this.string(6)]: value() };
      return JSON.stringify(o);
    }
    if (r < 0.85) return JSON.stringify(value()).slice(0, this.int(40));
    return this.string(300);
  }
}

function mk<T extends object>(value: T): T {
  return value;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

