import { fromBinary, toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { intern } from "../intern-string.js";
// Records are read back through protobuf-es: its decoder must keep a name's leading U+FEFF, or a record
// stops matching the key it is stored under.
import "../protocol/text-encoding.js";

/**
 * A record kept for a long time and read rarely, as its protobuf encoding in a one-byte string. A decoded
 * participant is a dozen objects (the message, its info, permission, attributes, property arrays, 64-bit
 * fields as BigInts), about 600 bytes of heap; the same record packed is one string of about 70 to 120 bytes. Strings
 * rather than `Uint8Array`s because a byte array costs two objects and an off-heap allocation on top of
 * its bytes. Equal records share one string (`intern`): a participant's record is kept by the store and by
 * its session, a session record by the store and by the node's ledger.
 */
export type Packed<T> = string & { readonly __packed: T };

/** Encodes `message` for keeping (see `Packed`). */
export function pack<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): Packed<MessageShape<Desc>> {
  const bytes = toBinary(schema, message);
  return intern(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1")) as Packed<MessageShape<Desc>>;
}

/** A fresh message decoded from a packed one: callers may change it freely. */
export function unpack<Desc extends DescMessage>(schema: Desc, packed: Packed<MessageShape<Desc>>): MessageShape<Desc> {
  return fromBinary(schema, Buffer.from(packed, "latin1"));
}
