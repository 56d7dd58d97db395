import type { StoredParticipant } from "../../gen/volly/signaling/v1/internal_pb.js";

/**
 * One empty byte array for every record that has none. protobuf-es gives each message its own
 * `new Uint8Array(0)` per bytes field (about 180 bytes with its buffer); an empty array cannot be written
 * to, so sharing it is safe, and a participant kept for hours pays nothing for a key it does not have.
 */
const EMPTY_BYTES = new Uint8Array(0);

/** Replaces a participant record's empty bytes fields with the shared empty array (in place). */
export function shareEmptyBytes(p: StoredParticipant): StoredParticipant {
  const info = p.info;
  if (info !== undefined && info.pqPublicKey.length === 0) info.pqPublicKey = EMPTY_BYTES;
  return p;
}
