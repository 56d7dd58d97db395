import { create } from "@bufbuild/protobuf";
import { ParticipantInfoSchema, type ParticipantInfo } from "../../gen/volly/signaling/v1/models_pb.js";
import { CONTROL_CHARACTERS, withinCharacters } from "../auth/participant-names.js";
import { errors } from "../errors.js";

/**
 * Limits on what describes a participant (name, metadata, attributes), the same on every path that sets
 * them: the joining token, the participant's own `update_metadata` and RoomService `UpdateParticipant`.
 * Everything here is stored per participant and sent to everyone in the room on each change and each
 * join, so an unbounded field is a broadcast amplifier. docs/api.md (Limits) lists them.
 */
export const PARTICIPANT_LIMITS = {
  /** Characters (code points, counted like identities and room names). */
  name: 256,
  /** UTF-8 bytes. */
  metadata: 64 * 1024,
  /** Entries. */
  attributes: 64,
  /** Characters of one attribute key. */
  attributeKey: 256,
  /** UTF-8 bytes of all keys and values together: LiveKit's documented attribute limit. */
  attributesBytes: 64 * 1024,
} as const;


/** What a change may set. An absent field stays as it is; an empty attribute value deletes its key. */
export interface ParticipantChange {
  readonly metadata?: string;
  readonly name?: string;
  readonly attributes?: Readonly<Record<string, string>>;
}

/**
 * The participant's next description: `change` merged onto `current`, version + 1. Throws `field_too_large`
 * for a field over its size, `field_invalid` for a rule that is not a size.
 */
export function applyParticipantChange(current: ParticipantInfo, change: ParticipantChange): ParticipantInfo {
  if (change.name !== undefined) checkName(change.name);
  if (change.metadata !== undefined) checkMetadata(change.metadata);
  const attributes = { ...current.attributes };
  for (const [key, value] of Object.entries(change.attributes ?? {})) {
    if (value === "") {
      delete attributes[key];
      continue;
    }
    checkAttributeKey(key);
    attributes[key] = value;
  }
  // The merged set is what gets stored and broadcast, so that is what the limits apply to.
  checkAttributeTotals(attributes);
  return create(ParticipantInfoSchema, {
    ...current,
    metadata: change.metadata ?? current.metadata,
    name: change.name ?? current.name,
    attributes,
    version: current.version + 1,
  });
}

/** Whether two descriptions of a participant say the same (metadata, name and attributes). */
export function sameDescription(a: ParticipantInfo, b: ParticipantInfo): boolean {
  if (a.metadata !== b.metadata || a.name !== b.name) return false;
  const keys = Object.keys(a.attributes);
  return keys.length === Object.keys(b.attributes).length && keys.every((k) => a.attributes[k] === b.attributes[k]);
}

/** Checks the fields a joining participant's token gives it, by the same rules as a change. */
export function checkParticipantFields(fields: { readonly name: string; readonly metadata: string; readonly attributes: Readonly<Record<string, string>> }): void {
  checkName(fields.name);
  checkMetadata(fields.metadata);
  for (const key of Object.keys(fields.attributes)) checkAttributeKey(key);
  checkAttributeTotals(fields.attributes);
}

function checkName(name: string): void {
  if (!withinCharacters(name, PARTICIPANT_LIMITS.name)) throw ruleBroken(`name must be at most ${PARTICIPANT_LIMITS.name} characters`);
  if (CONTROL_CHARACTERS.test(name)) throw ruleBroken("name must not contain control characters");
}

function checkMetadata(metadata: string): void {
  // Cheap first: a string of n UTF-16 units has at most 3n UTF-8 bytes, so most need no byte count.
  if (metadata.length * 3 <= PARTICIPANT_LIMITS.metadata) return;
  if (Buffer.byteLength(metadata) > PARTICIPANT_LIMITS.metadata) throw errors.fieldTooLarge("metadata", PARTICIPANT_LIMITS.metadata);
}

function checkAttributeKey(key: string): void {
  if (key === "" || !withinCharacters(key, PARTICIPANT_LIMITS.attributeKey) || CONTROL_CHARACTERS.test(key)) {
    throw ruleBroken(`attribute keys must be 1-${PARTICIPANT_LIMITS.attributeKey} characters without control characters`);
  }
  // JavaScript clients (this SDK, livekit-client, protobuf-es) keep attributes in plain objects, where assigning
  // this key changes the prototype instead: stored, it would vanish somewhere between here and the app.
  if (key === "__proto__") throw ruleBroken("the attribute key __proto__ is reserved");
}

function checkAttributeTotals(attributes: Readonly<Record<string, string>>): void {
  const entries = Object.entries(attributes);
  if (entries.length > PARTICIPANT_LIMITS.attributes) {
    throw ruleBroken(`attributes may have at most ${PARTICIPANT_LIMITS.attributes} entries`);
  }
  let bytes = 0;
  for (const [key, value] of entries) bytes += Buffer.byteLength(key) + Buffer.byteLength(value);
  if (bytes > PARTICIPANT_LIMITS.attributesBytes) {
    throw errors.fieldTooLarge("attributes (keys and values together)", PARTICIPANT_LIMITS.attributesBytes);
  }
}

/**
 * A rule that is not a size (control characters, an empty key, the number of entries). `fieldTooLarge`
 * would say "larger than N bytes", which is wrong for these, and the catalogue has no invalid-argument
 * entry of its own for them yet: `malformed_message` is the invalid_argument one whose text is free.
 */
function ruleBroken(rule: string): Error {
  return errors.fieldInvalid(rule);
}
