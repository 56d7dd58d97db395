/** A live delivery whose id a duplicate cannot explain: the recipient has already been sent that id. */
export interface IdRegression {
  /** The delivery cursor's owner (a participant connection): each node keeps only its own. */
  readonly owner: object;
  readonly id: bigint;
  /** The highest id the connection had sent when it came. */
  readonly lastDelivered: bigint;
  /** The message itself, so that it can be queued again under a new id. */
  readonly response: Uint8Array;
}

/**
 * Where delivery cursors report ids that went backwards. A mailbox counter only goes back when Redis's
 * state did (a restart from an older snapshot, AOF writes lost in a crash, a lagging replica promoted, an
 * evicted `mailbox:<sid>:ids`): the message got an id its recipient already has, and the cursor would
 * otherwise drop it as a duplicate without a word. The cluster node listening here re-registers what it holds,
 * which raises every counter above what its connections delivered, and queues these messages again.
 *
 * Process-wide, not per node, because cursors are made by sessions that know nothing of the cluster; a
 * process running several nodes (tests) hands each report to every node, and each keeps only reports whose
 * owner is one of its connections. Nothing is kept while nobody listens (the memory backend).
 */
class IdRegressionReports {
  private readonly listeners = new Set<(r: IdRegression) => void>();
  /** How many were reported since the process started (the cursors' drops that were not duplicates). */
  count = 0;

  report(r: IdRegression): void {
    this.count++;
    for (const listener of this.listeners) listener(r);
  }

  /** Returns the unsubscribe function. */
  listen(listener: (r: IdRegression) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

export const idRegressions = new IdRegressionReports();
