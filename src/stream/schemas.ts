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
  `data: {"id":"${EXAMPLE_EVENT_ID}","type":"communication.created","timestamp":"2026-11-28T14:02:55.120Z","data":{"communication":{"id":"0195f3c2-6d1e-7b4a-9c3e-1a2b3c4d5e6f","status":"sent","...":"..."}}}`,
  "",
  ": keep-alive",
  "",
  "",
].join("\n");
/** One event frame: the schema's and the response's example. */
export const EXAMPLE_EVENT_FRAME = `${EXAMPLE_FRAMES.split("\n\n")[1]}\n\n`;

/**
 * Longest frame: an event's JSON is bounded by the largest communication a
 * create accepts (a 256 KiB body), escaped.
 */
const MAX_FRAME_LENGTH = 1024 * 1024;

/**
 * One frame of the stream's body. OpenAPI 3.1 has no schema for a sequence:
 * as for the archive's NDJSON lines, the schema describes one item, and the
 * body is a sequence of them.
 */
export const StreamFrame = z
  .string()
  .max(MAX_FRAME_LENGTH)
  .regex(/^(?:(?:retry|id|event|data): [^\n]*\n|: [^\n]*\n)+\n$/)
  .openapi("StreamFrame", {
    description: [
      "One frame of a `text/event-stream` body (Server-Sent Events, UTF-8): `field: value` lines, or `: comment` lines, ended by a blank line. The body is a sequence of frames:",
      "",
      `- \`retry: ${RETRY_MS}\`: once, first: how long EventSource waits before reconnecting.`,
      "- An event: `id: <event id>`, `event: communication.created` or `communication.status_changed`, `data: <ChangeEvent JSON on one line>` (the ChangeEvent schema).",
      "- `event: reset` with `data: {}` (and the `id:` of the newest buffered event, if any): the Last-Event-ID asked for is no longer buffered; list again, then keep streaming.",
      "- `: keep-alive` (a comment) at least every 15 seconds; `: token expired` just before the stream ends at the token's `exp`.",
    ].join("\n"),
    example: EXAMPLE_EVENT_FRAME,
  });

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
