import type { ConnectError } from "@connectrpc/connect";
import type { VollyCall } from "./call.js";
import type { VollyConnectionLimits } from "./connection-limits.js";
import type { VollyParticipant } from "./participant-roster.js";
import type { IceServerLike } from "./webrtc-types.js";

/** A room as the server describes it (in `join`, `reconnect` and `room_update`). */
export interface VollyRoom {
  readonly name: string;
  readonly sid: string;
  /** Set by the backend (RoomService `CreateRoom`/`UpdateRoomMetadata`, or the token's `roomConfig` that created it). */
  readonly metadata: string;
  /** Participants in the room (this one included) when the server said so; hidden ones are not counted. */
  readonly numParticipants: number;
  /** The room's own limit; 0 = the server's (`VOLLY_MAX_PARTICIPANTS`). */
  readonly maxParticipants: number;
  /** Seconds an empty room stays open (one nobody joined; and one everyone left, when `departureTimeout` is 0). */
  readonly emptyTimeout: number;
  /** Seconds the room stays open after its last participant left; 0 = `emptyTimeout`. */
  readonly departureTimeout: number;
  /** Milliseconds since the epoch. */
  readonly creationTime: number;
}

/** What `connect()` resolves with and `connected` reports: the room, this participant and the others. */
export interface VollyJoinInfo {
  /** The room as it was when this participant joined (or resumed); later changes come as `roomUpdated`. */
  readonly room: VollyRoom;
  /** This participant. */
  readonly participant: VollyParticipant;
  /** Everyone else in the room at join time. */
  readonly participants: readonly VollyParticipant[];
  readonly iceServers: readonly IceServerLike[];
  readonly server: { readonly version: string; readonly nodeId: string; readonly region: string };
  /** Seconds a dropped connection may take to resume. */
  readonly resumeWindowSeconds: number;
  /** The server's per-connection limits (its defaults when an older server does not advertise them). */
  readonly limits: VollyConnectionLimits;
}

/** A `data` message relayed by the server. */
export interface VollyDataMessage {
  readonly from: string;
  /** The identity it was sent to; "" when sent to the whole room. */
  readonly target: string;
  readonly fromSid: string;
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly id: string;
}

/** The server's delivery acknowledgement of a `data` message. */
export interface VollyDataAck {
  readonly id: string;
  /** Participants the message was queued for. */
  readonly recipients: number;
}

/** Presence of one identity (`discoverUsers`). */
export interface VollyUserPresence {
  readonly identity: string;
  readonly online: boolean;
  /** Milliseconds since the epoch; 0 when never seen. */
  readonly lastSeen: number;
}

/** Why the client is (or will stay) disconnected. */
export interface VollyDisconnectInfo {
  /**
   * A `DisconnectReason` name in lower case ("client_initiated", "duplicate_identity"...), "connection_lost"
   * (the socket dropped without a `leave`) or "reconnect_failed".
   */
  readonly reason: string;
  readonly error?: ConnectError;
}

/** Events of `VollySignalingClient`. */
export type VollySignalingEvents = {
  /** Joined (the first time, and again after a full rejoin). */
  connected: [info: VollyJoinInfo];
  participantJoined: [participant: VollyParticipant];
  participantLeft: [participant: VollyParticipant];
  participantUpdated: [participant: VollyParticipant];
  /** This participant changed (metadata, name, attributes): see `localParticipant`. Never a `participant*` event. */
  localParticipantUpdated: [participant: VollyParticipant];
  /** The room's metadata changed (RoomService `UpdateRoomMetadata`, or `CreateRoom` on an existing room). */
  roomUpdated: [room: VollyRoom];
  /** Someone calls: `accept()` or `reject()` it. */
  incomingCall: [call: VollyCall];
  data: [message: VollyDataMessage];
  /** The connection dropped (or the server asked to resume or rejoin); requests queue until it is back. */
  reconnecting: [info: VollyDisconnectInfo];
  /** Back: `resumed` = same participant, nothing missed; false = joined again as a new participant (calls ended). */
  reconnected: [info: { readonly resumed: boolean }];
  disconnected: [info: VollyDisconnectInfo];
  /** An error the server sent that no request is waiting for. */
  error: [error: ConnectError];
  /** The post-quantum channel switched to fresh keys. */
  rekeyed: [info: { readonly epoch: number; readonly rekeys: number }];
};
