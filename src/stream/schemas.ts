/**
 * Request and response shapes of the live stream's routes, declared once:
 * they validate requests and generate the OpenAPI document. The stream's
 * body is text (Server-Sent Events): its frame is a named string component,
 * and the JSON its `data:` lines carry is the ChangeEvent component.
 */
import { z } from "@hono/zod-openapi";
import {
  Communication,
  EXAMPLE_COMMUNICATION,
  ListQuery,
  optionalParam,
  optionalQuery,
  Status,
  successEnvelope,
  timestamp,
} from "../communications/schemas";
import { EVENT_ID, EVENT_TYPES } from "../events/event";
import { STREAM_FILTERS } from "./filters";
import { RETRY_MS } from "./frames";
import { TICKET_LENGTH, TICKET_PATTERN } from "./tickets";

/** `evt_` + 32 hex digits. */
const EVENT_ID_LENGTH = 36;
const EXAMPLE_EVENT_ID = "evt_0195f3c36d1e7b4a9c3e1a2b3c4d5e6f";
const EXAMPLE_TICKET =
  "st_6f1c2b3a4d5e4f608a7b9c0d1e2f3a4b_9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

const EventId = z
  .string()
  .max(EVENT_ID_LENGTH)
  .regex(EVENT_ID)
  .openapi({ description: "An event id: `evt_` and 32 hex digits.", example: EXAMPLE_EVENT_ID });

/** An event as both channels send it (src/events/event.ts). */
export const ChangeEvent = z
  .object({
    id: EventId,
    type: z.enum(EVENT_TYPES),
    timestamp: timestamp.openapi({ description: "When the change was made." }),
    data: z.object({
      communication: Communication.openapi({ description: "The communication after the change." }),
      previous_status: Status.optional().openapi({ description: "`communication.status_changed` only." }),
    }),
  })
  .openapi("ChangeEvent", {
    description:
      "One change to a communication. `id` never changes (deduplicate on it); order is not guaranteed: `data.communication.updated_at` orders the events of one communication.",
    example: {
      id: EXAMPLE_EVENT_ID,
      type: "communication.status_changed",
      timestamp: "2026-11-28T14:03:12.004Z",
      data: {
        communication: { ...EXAMPLE_COMMUNICATION, status: "delivered", updated_at: "2026-11-28T14:03:12.004Z" },
        previous_status: "sent",
      },
    },
  });

/** A body's first frames, as a client reads them (the 200 response's description shows them). */
export const EXAMPLE_FRAMES = [
  `retry: ${RETRY_MS}`,
  "",
  `id: ${EXAMPLE_EVENT_ID}`,
  "event: communication.created",
  `data: ${JSON.stringify({
    id: EXAMPLE_EVENT_ID,
    type: "communication.created",
    timestamp: EXAMPLE_COMMUNICATION.created_at,
    data: { communication: EXAMPLE_COMMUNICATION },
  })}`,
  "",
  ": keep-alive",
  "",
  "",
].join("\n");

/** The bound the document states for a stream's body: what a string may hold (a stream ends with its token, not at a size). */
export const MAX_STREAM_CHARS = 2 ** 31 - 1;

type FilterMask = { [K in (typeof STREAM_FILTERS)[number] | "tenant_id" | "language"]: true };
/** The list's own parameters: tenant, language, and the filters a stream accepts (named once, in ./filters.ts). */
const filterQuery = ListQuery.pick({
  tenant_id: true,
  language: true,
  ...Object.fromEntries(STREAM_FILTERS.map((name) => [name, true])),
} as FilterMask);

export const StreamQuery = filterQuery.extend({
  ticket: optionalQuery(z.string().max(TICKET_LENGTH).regex(TICKET_PATTERN)).openapi({
    param: { name: "ticket", in: "query" },
    description:
      "A ticket from `POST /delivery/customer-communications/stream/tickets`, for browsers' EventSource (which cannot send Authorization): single use, valid 60 seconds. Used instead of a bearer token.",
    example: EXAMPLE_TICKET,
  }),
  last_event_id: optionalQuery(EventId).openapi({
    param: { name: "last_event_id", in: "query" },
    description: "Resume after this event, as the `Last-Event-ID` header (which wins when both are sent).",
    example: EXAMPLE_EVENT_ID,
  }),
});
export type StreamQuery = z.infer<typeof StreamQuery>;

export const StreamHeaders = z.object({
  "last-event-id": optionalParam(EventId).openapi({
    param: { name: "last-event-id", in: "header" },
    description:
      "Resume after this event: the buffered events that followed it are sent first (the last 5 minutes at least, and at least the last 1,000), then live ones. An id no longer buffered gets one `reset` frame. EventSource sends it by itself when it reconnects.",
    example: EXAMPLE_EVENT_ID,
  }),
});

export const TicketResponse = successEnvelope("StreamTicket", {
  ticket: z.string().max(TICKET_LENGTH).regex(TICKET_PATTERN).openapi({ example: EXAMPLE_TICKET }),
  expires_at: timestamp.openapi({ description: "The ticket is refused after this time (60 seconds)." }),
});
