import { reply } from "./lua-script.js";
import { FOUND } from "./outcome-flags.js";

/** A recipient as a batch script lists it: its sid and the node holding its connection. */
export interface ListedRecipient {
  readonly sid: string;
  readonly nodeId: string;
}

/**
 * A batch script's packed reply, `[outcomes, sid1, node1, sid2, node2, ...]`: `count` entries of `entryBytes`
 * each, every entry starting with its flags (`FOUND`, then the script's own) and the 1-based index of its
 * recipient in the list after it. `mailboxScripts.enqueueBatch` answers an entry per message,
 * `pushedEnqueueScript` one per recipient; what follows the index is theirs to read from `view`.
 */
export class PackedOutcomes {
  readonly view: DataView;
  private readonly recipients: ListedRecipient[] = [];

  constructor(r: unknown, count: number, private readonly entryBytes: number, private readonly what: string) {
    const [packed, ...listed] = reply.array(r);
    const outcomes = reply.bytes(packed);
    if (outcomes.length !== count * entryBytes) throw new Error(`redis: expected ${count} ${what} outcomes, got ${outcomes.length} bytes`);
    this.view = new DataView(outcomes.buffer, outcomes.byteOffset, outcomes.byteLength);
    for (let i = 0; i + 1 < listed.length; i += 2) this.recipients.push({ sid: reply.string(listed[i]), nodeId: reply.string(listed[i + 1]) });
  }

  /** Where entry `i` starts in `view`. */
  at(i: number): number {
    return i * this.entryBytes;
  }

  flags(i: number): number {
    return this.view.getUint8(this.at(i));
  }

  /** Entry `i`'s recipient, or undefined when it was not found. */
  recipient(i: number): ListedRecipient | undefined {
    if ((this.flags(i) & FOUND) === 0) return undefined;
    const index = this.view.getUint8(this.at(i) + 1);
    const listed = this.recipients[index - 1];
    if (listed === undefined) throw new Error(`redis: ${this.what} outcome names recipient ${index} of ${this.recipients.length}`);
    return listed;
  }
}
