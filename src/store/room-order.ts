/**
 * The order `listRooms` gives: by name, in code-point (UTF-8 byte) order. `localeCompare` would make it
 * depend on the server's locale (and mix cases), so two nodes, or the memory and Redis stores, could list
 * the same rooms differently.
 */
export function byRoomName(a: { readonly name: string }, b: { readonly name: string }): number {
  return Buffer.compare(Buffer.from(a.name), Buffer.from(b.name));
}
