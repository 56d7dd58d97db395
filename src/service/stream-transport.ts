import { toBinary } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import { SignalResponseSchema, type SignalResponse } from "../../gen/volly/signaling/v1/signal_pb.js";
import type { WireFormat } from "../protocol/signal-codec.js";
import type { SignalTransport } from "../session/signal-transport.js";

/**
 * A gRPC/Connect response stream as a `SignalTransport`: the session pushes responses, the handler's
 * generator yields them. Records inside are protobuf (the stream's own encoding is Connect's business).
 */
export class StreamTransport implements SignalTransport {
  readonly kind = "grpc" as const;
  private readonly queue: SignalResponse[] = [];
  /** The encoded size of each queued response, in step with `queue`: what the send buffer limit counts. */
  private readonly sizes: number[] = [];
  private queuedBytes = 0;
  private wake: (() => void) | undefined;
  private ended: { error: ConnectError | undefined } | undefined;

  /** `onClosed` runs once, when the session closes the stream. */
  constructor(readonly remoteAddress: string, private readonly onClosed?: () => void) {}

  format(): WireFormat {
    return "protobuf";
  }

  send(response: SignalResponse, encodedBytes?: number): void {
    if (this.ended) return;
    const size = encodedBytes ?? sizeOf(response);
    this.queue.push(response);
    this.sizes.push(size);
    this.queuedBytes += size;
    this.wake?.();
  }

  bufferedBytes(): number {
    return this.queuedBytes;
  }

  /** While paused, the reader of the request stream waits on this before it takes the next request. */
  inputGate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;

  pauseInput(): void {
    this.inputGate ??= new Promise<void>((resolve) => (this.openGate = resolve));
  }

  resumeInput(): void {
    const open = this.openGate;
    this.inputGate = this.openGate = undefined;
    open?.();
  }

  close(code: number, reason: string): void {
    if (this.ended) return;
    this.ended = { error: code >= 4000 ? new ConnectError(reason, code - 4000) : undefined };
    this.onClosed?.();
    this.resumeInput();
    this.wake?.();
  }

  /** The responses, until the session closes the stream (with an error status for fatal closes). */
  async *responses(): AsyncGenerator<SignalResponse> {
    for (;;) {
      const next = this.queue.shift();
      if (next !== undefined) {
        this.queuedBytes -= this.sizes.shift() ?? 0;
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

/**
 * The encoded size of a response whose sender did not know it. A record is its ciphertext and a few bytes
 * of header; anything else the session produced itself (join, answers to requests: few, and as large as
 * a room's participant list) is measured, since a guess would let a client that stops reading pin any
 * multiple of the limit.
 */
function sizeOf(r: SignalResponse): number {
  return r.message.case === "secure" ? r.message.value.ciphertext.length + 16 : toBinary(SignalResponseSchema, r).length;
}
