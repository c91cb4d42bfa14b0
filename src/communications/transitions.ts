/**
 * The status state machine of a communication. Status only moves forward:
 * sent -> delivered -> read, and sent|delivered -> failed; read and failed
 * are terminal. A provider event older than the one that set the current
 * status changes nothing either (providers deliver late and out of order).
 */
import type { Status } from "../db/schema";

const PREDECESSORS: Record<Status, readonly Status[]> = {
  sent: [],
  delivered: ["sent"],
  read: ["sent", "delivered"],
  failed: ["sent", "delivered"],
};

/** Whether `to` may follow `from`. */
export const isForward = (from: Status, to: Status) => PREDECESSORS[to].includes(from);

/**
 * Whether an event with status `to` at `occurredAt` (ISO) applies to a
 * communication whose status is `current.status`, set by an event at
 * `current.status_event_at` (null: set at creation).
 */
export function applies(
  current: { status: Status; status_event_at: string | null },
  to: Status,
  occurredAt: string,
): boolean {
  const late = current.status_event_at !== null && occurredAt < current.status_event_at;
  return isForward(current.status, to) && !late;
}
