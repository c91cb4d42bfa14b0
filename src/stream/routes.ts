/**
 * The live stream's operations (../shared/spec/events.md, The live stream):
 * the stream itself and the tickets browsers open it with.
 */
import { mayRead } from "../communications/access";
import { BASE_PATH } from "../communications/routes";
import { CommonQuery } from "../communications/schemas";
import { commonErrors, error, failure, headerRef, json, streamed, success } from "../openapi/responses";
import { protectedRoute } from "../openapi/route";
import { bearerOrTicket } from "./access";
import { RETRY_MS } from "./frames";
import { ChangeEvent, EXAMPLE_FRAMES, MAX_STREAM_CHARS, StreamHeaders, StreamQuery, TicketResponse } from "./schemas";

export const STREAM_PATH = `${BASE_PATH}/stream`;

const ticketRefused = failure("A ticket that is unknown, already used or expired", "ticket_invalid");

export const streamRoute = protectedRoute(
  mayRead,
  {
    reads: false,
    authenticate: bearerOrTicket,
    // A bearer token, or (browsers' EventSource) the single-use `ticket` parameter instead.
    security: [{ bearerAuth: [] }, {}],
  },
  {
    method: "get",
    path: STREAM_PATH,
    operationId: "streamCustomerCommunications",
    summary: "Stream Customer Communications (live)",
    description: [
      "Server-Sent Events: every change to a communication the caller may see, as it happens (`communication.created`, `communication.status_changed`; the ChangeEvent schema).",
      "",
      "Visibility is the list's: staff with view:tenant or manage:operations:tenant, and system administrators naming `tenant_id`, see the whole tenant; a customer sees only their own communications; other roles get 403. The list's filters (`customer_id`, `delivery_id`, `type`, `status`, `direction`, `provider`, `provider_message_id`, and the search filters `address` and `q` with the list's rules and 400s) select the events whose communication matches them after the change.",
      "",
      "Authenticate with `Authorization: Bearer`, or with `?ticket=` (from `POST .../stream/tickets`) where headers cannot be sent. The stream ends when the token expires (a ticket's stream when the token it was issued for expires).",
      "",
      `Resume with \`Last-Event-ID\` (or \`last_event_id\`): the buffered events after it come first (at least the last 5 minutes and at least the last 1,000), then live ones; an id no longer buffered gets one \`reset\` frame (list again, then keep streaming). \`retry: ${RETRY_MS}\` opens the stream; a comment keeps it alive at least every 15 seconds. Opening a stream counts as one request against the rate limits; an open stream reads nothing from the database.`,
    ].join("\n"),
    request: { query: StreamQuery, headers: StreamHeaders },
    responses: {
      200: streamed({
        mediaType: "text/event-stream",
        description: [
          "The stream, open until the client leaves or the token expires: frames of `field: value` lines (or `: comment` lines), each ended by a blank line.",
          "",
          `- \`retry: ${RETRY_MS}\`: once, first: how long EventSource waits before reconnecting.`,
          "- An event: `id: <event id>`, `event: communication.created` or `communication.status_changed`, `data: <one ChangeEvent as JSON>`.",
          "- `event: reset` with `data: {}` (and the `id:` of the newest buffered event, if any): the Last-Event-ID asked for is no longer buffered; list again, then keep streaming.",
          "- `: keep-alive` (a comment) at least every 15 seconds; `: token expired` just before the stream ends at the token's `exp`.",
        ].join("\n"),
        item: { name: "ChangeEvent", schema: ChangeEvent },
        // No end is promised (the token's lifetime ends it): the bound is
        // what a string may hold, stated for validators and OWASP API4.
        maxLength: MAX_STREAM_CHARS,
        example: { summary: "The first frames", value: EXAMPLE_FRAMES },
        headers: {
          "X-Request-Id": headerRef("X-Request-Id"),
          "Server-Timing": headerRef("Server-Timing"),
          "Cache-Control": headerRef("Cache-Control"),
          "Access-Control-Allow-Origin": headerRef("Access-Control-Allow-Origin"),
          "RateLimit-Policy": headerRef("RateLimit-Policy"),
          "X-RateLimit-Limit": headerRef("X-RateLimit-Limit"),
        },
      }),
      401: error(
        "Missing, invalid or expired bearer token, or a ticket that is unknown, already used or expired (with `WWW-Authenticate: Bearer`).",
        { ...commonErrors[401].content["application/json"].examples, ticket: ticketRefused },
        { "WWW-Authenticate": headerRef("WWW-Authenticate") },
      ),
    },
  },
);

export const ticketRoute = protectedRoute(
  mayRead,
  { reads: false },
  {
    method: "post",
    path: `${STREAM_PATH}/tickets`,
    operationId: "createStreamTicket",
    summary: "Create a Stream Ticket",
    description:
      "A ticket to open the live stream where an Authorization header cannot be sent (browsers' EventSource): `GET .../stream?ticket=<ticket>`. It carries the caller's identity and visibility, works once, for 60 seconds (never past the token's own expiry), and only for the caller's tenant. Same permissions as the stream; no body.",
    request: { query: CommonQuery },
    responses: {
      201: json(TicketResponse, "The ticket.", {
        issued: success("stream_ticket_ok", {
          ticket:
            "st_6f1c2b3a4d5e4f608a7b9c0d1e2f3a4b_9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
          expires_at: "2026-11-28T14:04:12.004Z",
        }),
      }),
    },
  },
);
