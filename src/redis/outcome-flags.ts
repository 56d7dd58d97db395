/**
 * The flag bits that start each entry of a batch script's packed reply (`PackedOutcomes`). The Lua that
 * sets them (lua/mailbox-scripts.ts, lua/pushed-enqueue-script.ts) has them interpolated from here, so the
 * scripts and the TypeScript that reads their replies cannot disagree.
 */

/** The recipient was found in its room (an entry without it has nothing else set). */
export const FOUND = 1;
/** The message was handed to another node (published), or routed to the node that asked. */
export const FORWARDED = 2;
/** `mailboxScripts.enqueueBatch` only: the message overflowed an away participant's mailbox. */
export const OVERFLOW = 4;
/** `pushedEnqueueScript` only (the same bit as `OVERFLOW`): the recipient is away. */
export const AWAY = 4;
/** `pushedEnqueueScript` only: away, and past `MailboxLimits.awayBytes` since it went away. */
export const AWAY_BYTES_OVER = 8;
