/**
 * A dictionary-mode object: property keys are added and removed as hash-table entries, without the hidden
 * class transition (and its garbage) that each new key of an ordinary object would make.
 */
const table: Record<string, number> = Object.create(null) as Record<string, number>;
table.dictionary = 0;
delete table.dictionary;

/**
 * `s`, or an equal string already held elsewhere in the process, so that many holders of equal contents keep
 * one copy. Idle participants hold several such strings each: their record in the store and in their session,
 * their room's record and name (the same for everyone in the room), their session record in the store and in
 * the node's ledger, each 30 to 150 bytes.
 *
 * V8 keeps one copy of every string used as a property key (its string table, which does not keep strings
 * alive), and `Object.keys` returns that copy. The result is always a string equal to `s`, whatever the engine
 * does; sharing is the V8 behaviour this relies on, measured by `bench/idle-heap.ts`. About 0.3 µs a call.
 */
export function intern(s: string): string {
  table[s] = 0;
  const kept = Object.keys(table)[0] ?? s;
  delete table[s];
  return kept;
}
