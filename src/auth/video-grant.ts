import { errors } from "../errors.js";

/** LiveKit's video grant, the subset a signaling server acts on. Absent booleans are undefined. */
export interface VideoGrant {
  readonly roomJoin: boolean;
  readonly room: string;
  readonly roomCreate: boolean;
  readonly roomList: boolean;
  readonly roomAdmin: boolean;
  readonly hidden: boolean;
  readonly canPublish: boolean;
  readonly canSubscribe: boolean;
  readonly canPublishData: boolean;
  readonly canUpdateOwnMetadata: boolean;
}

const BOOLEAN_KEYS = [
  "roomJoin", "roomCreate", "roomList", "roomAdmin", "roomRecord", "ingressAdmin", "hidden", "recorder", "agent",
  "canPublish", "canSubscribe", "canPublishData", "canUpdateOwnMetadata", "canSubscribeMetrics", "canManageAgentSession",
] as const;

/**
 * Reads the `video` claim. Unknown keys are ignored (LiveKit adds grants over time), but known keys must
 * have the right type. `canPublish`/`canSubscribe` default to true and `canPublishData` to `canPublish`,
 * as in LiveKit.
 */
export function parseVideoGrant(value: unknown): VideoGrant {
  if (value === undefined || value === null) return emptyGrant;
  if (typeof value !== "object" || Array.isArray(value)) throw errors.tokenInvalid("claim video must be an object");
  const v = value as Record<string, unknown>;
  for (const key of BOOLEAN_KEYS) {
    if (v[key] !== undefined && typeof v[key] !== "boolean") throw errors.tokenInvalid(`video.${key} must be a boolean`);
  }
  if (v.room !== undefined && typeof v.room !== "string") throw errors.tokenInvalid("video.room must be a string");
  const canPublish = flag(v.canPublish, true);
  return {
    roomJoin: flag(v.roomJoin, false),
    room: typeof v.room === "string" ? v.room : "",
    roomCreate: flag(v.roomCreate, false),
    roomList: flag(v.roomList, false),
    roomAdmin: flag(v.roomAdmin, false),
    hidden: flag(v.hidden, false),
    canPublish,
    canSubscribe: flag(v.canSubscribe, true),
    canPublishData: flag(v.canPublishData, canPublish),
    canUpdateOwnMetadata: flag(v.canUpdateOwnMetadata, false),
  };
}

/** A module function, not a closure per call: tsx renames every named closure as it is made (`keepNames`). */
function flag(value: unknown, fallback: boolean): boolean {
  return typeof value === "boolean" ? value : fallback;
}

const emptyGrant: VideoGrant = {
  roomJoin: false, room: "", roomCreate: false, roomList: false, roomAdmin: false, hidden: false,
  canPublish: false, canSubscribe: false, canPublishData: false, canUpdateOwnMetadata: false,
};
