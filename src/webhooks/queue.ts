/**
 * The producer side of the webhook events queue (wrangler.toml:
 * WEBHOOK_EVENTS), within Cloudflare Queues' limits, counted in bytes of the
 * JSON each message is sent as:
 *  - events are grouped, per tenant and in order, into messages of at most
 *    GROUP_BYTES (Queues bill every 64 KB of a message as one operation, so a
 *    fuller message costs no more per byte) and GROUP_EVENTS events;
 *  - an event too large for one message (MESSAGE_BYTES) is put in R2
 *    (the ARCHIVE bucket, under STORED_PREFIX) and its message carries the
 *    key; the consumer reads it, applies it, then deletes it;
 *  - messages go out in as many `sendBatch` calls as the per-call limits
 *    need (SEND_BATCH_MESSAGES, SEND_BATCH_BYTES), all at once.
 * A call resolves once the queue has stored every message (durably: a 2xx
 * to the provider is sent only after this).
 *
 * @see https://developers.cloudflare.com/queues/platform/limits/
 * @see https://developers.cloudflare.com/queues/platform/pricing/
 */
import { uuidv7 } from "../lib/uuid";
import type { QueueBody, WebhookMessage } from "./events";

/** Queues: largest message, in bytes (what miniflare checks too: 128 * 1000). */
export const MESSAGE_BYTES = 128_000;
/** Queues: largest sendBatch, in bytes, and most messages in one. */
export const SEND_BATCH_BYTES = 256_000;
export const SEND_BATCH_MESSAGES = 100;
/** Allowance per message for what the queue adds to the body (id, timestamp, content type). */
export const MESSAGE_OVERHEAD_BYTES = 1_000;
/** A group's target size: one billed Queues operation. */
export const GROUP_BYTES = 64_000;
export const GROUP_EVENTS = 100;
/** Where events too large for a queue message wait in R2 (never a tenant id: archive keys start with one). */
export const STORED_PREFIX = "webhook-events/";

const encoder = new TextEncoder();
export const byteLength = (value: unknown) => encoder.encode(JSON.stringify(value)).byteLength;

/** Bytes a group's envelope adds around its events: `{"kind":"group","tenant_id":"...","events":[...]}`. */
const groupOverhead = (tenantId: string) => byteLength({ kind: "group", tenant_id: tenantId, events: [] });

/** What `enqueue` needs of the Worker's bindings. */
export type QueueBindings = Pick<Env, "WEBHOOK_EVENTS" | "ARCHIVE">;

/**
 * The queue messages for `events`, in order: groups of one tenant's events,
 * a lone event as itself, and events too large for a message as R2 keys
 * (returned in `stored`, to put before the messages are sent).
 */
export function packMessages(events: WebhookMessage[]) {
  const messages: { body: QueueBody; bytes: number }[] = [];
  const stored: { key: string; event: WebhookMessage }[] = [];
  const largest = MESSAGE_BYTES - MESSAGE_OVERHEAD_BYTES;
  let group: WebhookMessage[] = [];
  let groupBytes = 0;
  const flush = () => {
    const [only, ...rest] = group;
    if (only && rest.length === 0) messages.push({ body: only, bytes: byteLength(only) });
    else if (only) {
      const body: QueueBody = { kind: "group", tenant_id: only.tenant_id, events: group };
      messages.push({ body, bytes: byteLength(body) });
    }
    group = [];
    groupBytes = 0;
  };
  for (const event of events) {
    const bytes = byteLength(event);
    const overhead = groupOverhead(event.tenant_id);
    if (bytes + overhead > largest) {
      flush();
      const key = `${STORED_PREFIX}${event.tenant_id}/${uuidv7()}.json`;
      stored.push({ key, event });
      const body: QueueBody = { kind: "stored", tenant_id: event.tenant_id, key, bytes };
      messages.push({ body, bytes: byteLength(body) });
      continue;
    }
    const fits =
      group.length > 0 &&
      group[0]?.tenant_id === event.tenant_id &&
      group.length < GROUP_EVENTS &&
      overhead + groupBytes + 1 + bytes <= GROUP_BYTES;
    if (!fits) flush();
    group.push(event);
    groupBytes += bytes + (group.length > 1 ? 1 : 0);
  }
  flush();
  return { messages, stored };
}

/** Splits messages into sendBatch calls within the per-call limits. */
export function sendBatches(messages: { body: QueueBody; bytes: number }[]) {
  const batches: MessageSendRequest<QueueBody>[][] = [];
  let batch: MessageSendRequest<QueueBody>[] = [];
  let bytes = 0;
  for (const m of messages) {
    const size = m.bytes + MESSAGE_OVERHEAD_BYTES;
    if (batch.length === SEND_BATCH_MESSAGES || (batch.length > 0 && bytes + size > SEND_BATCH_BYTES)) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push({ body: m.body, contentType: "json" });
    bytes += size;
  }
  if (batch.length) batches.push(batch);
  return batches;
}

/**
 * Puts `events` on the queue; resolves once the queue holds them all. Events
 * too large for a message are written to R2 first, so a message never names
 * an object that is not there. On failure nothing is acknowledged (the
 * provider retries); an R2 object whose message was never sent is left to
 * the bucket's lifecycle rule (README, "Deploying").
 */
export async function enqueue(env: QueueBindings, events: WebhookMessage[]) {
  const { messages, stored } = packMessages(events);
  await Promise.all(
    stored.map(({ key, event }) =>
      env.ARCHIVE.put(key, JSON.stringify(event), { httpMetadata: { contentType: "application/json" } }),
    ),
  );
  await Promise.all(sendBatches(messages).map((batch) => env.WEBHOOK_EVENTS.sendBatch(batch)));
  return { messages: messages.length, stored: stored.length };
}
