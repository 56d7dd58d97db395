import { ConnectError } from "@connectrpc/connect";
import type { SignalResponse } from "../../gen/volly/signaling/v1/signal_pb.js";
import type { WireFormat } from "../protocol/signal-codec.js";
import type { SignalTransport } from "../session/signal-transport.js";

/**
 * A gRPC/Connect response stream as a `SignalTransport`: the session pushes responses, the handler's
 * generator yields them. Records inside are protobuf (the stream's own encoding is Connect's business).
 */
export class StreamTransport implements SignalTransport {
  readonly kind = "grpc" as const;
  private readonly queue: SignalResponse[] = [];
  private queuedBytes = 0;
  private wake: (() => void) | undefined;
  private ended: { error: ConnectError | undefined } | undefined;

  constructor(readonly remoteAddress: string) {}

  format(): WireFormat {
    return "protobuf";
  }

  send(response: SignalResponse): void {
    if (this.ended) return;
    this.queue.push(response);
    this.queuedBytes += sizeOf(response);
    this.wake?.();
  }

  bufferedBytes(): number {
    return this.queuedBytes;
  }

  close(code: number, reason: string): void {
    if (this.ended) return;
    this.ended = { error: code >= 4000 ? new ConnectError(reason, code - 4000) : undefined };
    this.wake?.();
  }

  /** The responses, until the session closes the stream (with an error status for fatal closes). */
  async *responses(): AsyncGenerator<SignalResponse> {
    for (;;) {
      const next = this.queue.shift();
      if (next !== undefined) {
        this.queuedBytes -= sizeOf(next);
        yield next;
        continue;
      }
      if (this.ended) {
        if (this.ended.error) throw this.ended.error;
        return;
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }
}

function sizeOf(r: SignalResponse): number {
  return r.message.case === "secure" ? r.message.value.ciphertext.length + 16 : 256;
}
