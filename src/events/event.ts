/**
 * An event: what changed about one communication, as it leaves the service
 * (../shared/spec/events.md). One shape for every sink: the subscriptions'
 * deliveries and the live stream send the same JSON.
 *
 * The stores mint an event for every change they commit (create, inbound,
 * status change) and hand it over in `committed` (src/communications/store.ts);
 * after the commit the caller passes them to `publish()` (./publish.ts).
 * A change that was not committed has no event.
 */
import type { Communication } from "../communications/schemas";
import type { Status } from "../db/schema";
import { uuidv7, uuidv7Floor } from "../lib/uuid";

export const EVENT_TYPES = ["communication.created", "communication.status_changed"] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface ChangeEvent {
  /** `evt_` + 32 hex digits of a UUIDv7: unique, and sorts by the time it was minted. */
  id: string;
  type: EventType;
  /** When the change was made (ISO 8601 UTC). */
  timestamp: string;
  data: {
    /** The communication after the change, as the API returns it. */
    communication: Communication;
    /** communication.status_changed only: the status before the change. */
    previous_status?: Status;
  };
}

/**
 * The JSON an event leaves the service as, the same on both channels
 * (events.md): a subscription's delivery body (the id also travels as
 * `webhook-id`) and a stream frame's `data:` line (also as `id:`). The id is
 * in the body too, as Stripe's and Svix's events carry it, so that a
 * receiver that stores bodies can deduplicate on them alone.
 */
export const eventJson = (e: ChangeEvent) =>
  JSON.stringify({ id: e.id, type: e.type, timestamp: e.timestamp, data: e.data });

export const EVENT_ID_PREFIX = "evt_";
/** `evt_` + UUIDv7 without dashes: 36 characters. */
export const EVENT_ID = /^evt_[0-9a-f]{32}$/;

export const newEventId = (ms = Date.now()) => `${EVENT_ID_PREFIX}${uuidv7(ms).replaceAll("-", "")}`;

/** The smallest event id of millisecond `ms`: every event minted at or after `ms` sorts at or after it. */
export const eventIdFloor = (ms: number) => `${EVENT_ID_PREFIX}${uuidv7Floor(ms).replaceAll("-", "")}`;

export const createdEvent = (communication: Communication): ChangeEvent => ({
  id: newEventId(),
  type: "communication.created",
  timestamp: communication.created_at,
  data: { communication },
});

export const statusChangedEvent = (communication: Communication, previous: Status): ChangeEvent => ({
  id: newEventId(),
  type: "communication.status_changed",
  timestamp: communication.updated_at,
  data: { communication, previous_status: previous },
});
