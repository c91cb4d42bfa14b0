/**
 * The live stream's wire format: Server-Sent Events (text/event-stream,
 * https://html.spec.whatwg.org/multipage/server-sent-events.html). Every frame
 * ends with a blank line; JSON never contains a raw line break (JSON.stringify
 * escapes them), so one `data:` line carries one event.
 *
 *  - opening:   `retry: 2000` (how long EventSource waits before reconnecting), once;
 *  - an event:  `id: evt_...`, `event: communication.created|status_changed`,
 *               `data: <the event JSON>` (eventJson, src/events/event.ts: the same
 *               JSON as a subscription's delivery body);
 *  - reset:     `event: reset`, `data: {}` (and `id:` of the newest buffered
 *               event, when there is one, so that a reconnect after the relist
 *               resumes from there);
 *  - keep-alive: a comment line, `: keep-alive`.
 */

/** What EventSource waits before reconnecting after a dropped connection. */
export const RETRY_MS = 2000;
/**
 * A comment on every open stream this often: idle connections stay open
 * through proxies and load balancers, and a dead one is noticed. Under the
 * 15 s the contract allows, with room for timer slack.
 */
export const KEEPALIVE_MS = 14_000;

const encoder = new TextEncoder();

export const OPENING_FRAME = encoder.encode(`retry: ${RETRY_MS}\n\n`);
export const KEEPALIVE_FRAME = encoder.encode(": keep-alive\n\n");
/** Sent just before the stream is closed because its credential expired. */
export const EXPIRED_FRAME = encoder.encode(": token expired\n\n");

export const eventFrame = (id: string, type: string, json: string) =>
  encoder.encode(`id: ${id}\nevent: ${type}\ndata: ${json}\n\n`);

export const resetFrame = (newestId: string | undefined) =>
  encoder.encode(`${newestId ? `id: ${newestId}\n` : ""}event: reset\ndata: {}\n\n`);
