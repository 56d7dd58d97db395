/**
 * What an object holding every part's public members offers: the intersection of the union's members, each
 * reduced to its public members (two classes with a private field of the same name intersect to `never`,
 * which would let anything through).
 */
type AllOf<U> = (U extends unknown ? (part: { [K in keyof U]: U[K] }) => void : never) extends (part: infer I) => void ? I : never;

/**
 * Builds a `Store` from objects that each implement some of its parts (rooms, sessions, ...): every
 * method of each part's class is bound onto one object, so the store needs no forwarding method per call.
 * `base` supplies the rest (ping, close). Typed as what the parts and `base` offer together, so a `Store`
 * method no part implements fails to compile where the result is used as a `Store`; a name two parts both
 * define is refused when the store is built (the later would silently win).
 */
export function composeStore<P extends readonly object[], B extends object>(parts: P, base: B): AllOf<P[number]> & B {
  const store: Record<string, unknown> = Object.assign<Record<string, unknown>, B>({}, base);
  const owner = new Map<string, string>(Object.keys(base).map((name) => [name, "base"]));
  for (const part of parts) {
    const partName = part.constructor.name;
    for (const name of Object.getOwnPropertyNames(Object.getPrototypeOf(part))) {
      const fn = (part as Record<string, unknown>)[name];
      if (name === "constructor" || typeof fn !== "function") continue;
      const previous = owner.get(name);
      if (previous !== undefined) throw new Error(`composeStore: ${name} is defined by both ${previous} and ${partName}`);
      owner.set(name, partName);
      store[name] = fn.bind(part);
    }
  }
  return store as AllOf<P[number]> & B;
}
