/**
 * What lets an event be committed with its change: statements a store adds
 * to the very D1 batch that commits the change (one transaction), so a
 * committed change always has its event and an event never outlives a change
 * that failed. The subscriptions' outbox is one (src/subscriptions/outbox.ts);
 * a store without a recorder (a tenant without subscriptions) adds nothing.
 */
import type { Database } from "../db/client";
import type { ChangeEvent } from "./event";

export interface EventRecorder {
  /**
   * The statements to add after the change's own. `guarded`: the change is
   * an UPDATE that may match no row, and the statement right before these
   * changed exactly one row when it did: they must then write only if
   * `changes() = 1`.
   */
  statements(db: Database, event: ChangeEvent, guarded: boolean): D1PreparedStatement[];
  /** The batch committed with the change: the results of `statements()`, in order. */
  committed(event: ChangeEvent, results: D1Result[]): void;
}
