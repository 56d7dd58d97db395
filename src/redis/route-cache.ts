/** Where a recipient was, as the last enqueue answered: its sid and the node holding its connection. */
export interface Route {
  readonly room: string;
  readonly identity: string;
  sid: string;
  node: string;
}

/** Routes kept at most; past this the cache starts over (a relay without a route takes the script's path). */
export const MAX_ROUTES = 10_000;

/**
 * The recipients a node has relayed to, by room and identity, as Redis last reported them. Only a guess:
 * a pushed batch (`PushedBatch`) puts a recipient's messages on the mailbox of the sid guessed here, and
 * its script checks the guess against the room and moves them when it is wrong. So a stale route costs a
 * fix-up in Redis, never a misdelivery, and nothing needs to invalidate the cache.
 */
export class RouteCache {
  private readonly rooms = new Map<string, Map<string, Route>>();
  private size = 0;

  get(room: string, identity: string): Route | undefined {
    return this.rooms.get(room)?.get(identity);
  }

  /** Records what an enqueue answered: where the recipient is, or (`undefined`) that there is none. */
  learn(room: string, identity: string, where: { sid: string; nodeId: string } | undefined): void {
    let byIdentity = this.rooms.get(room);
    const known = byIdentity?.get(identity);
    if (where === undefined) {
      if (known !== undefined) {
        byIdentity?.delete(identity);
        if (byIdentity?.size === 0) this.rooms.delete(room);
        this.size--;
      }
      return;
    }
    if (known !== undefined) {
      known.sid = where.sid;
      known.node = where.nodeId;
      return;
    }
    if (this.size >= MAX_ROUTES) {
      this.rooms.clear();
      this.size = 0;
      byIdentity = undefined;
    }
    if (byIdentity === undefined) {
      byIdentity = new Map();
      this.rooms.set(room, byIdentity);
    }
    byIdentity.set(identity, { room, identity, sid: where.sid, node: where.nodeId });
    this.size++;
  }

  get routes(): number {
    return this.size;
  }
}
