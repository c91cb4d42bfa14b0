/** The producer side of the webhook events queue (wrangler.toml: WEBHOOK_EVENTS). */
import type { WebhookMessage } from "./events";

/** Queues' limits: 100 messages and 256 KB per sendBatch call. */
const MAX_BATCH_MESSAGES = 100;
const MAX_BATCH_BYTES = 200_000;

/**
 * Puts messages on the queue; resolves once the queue has stored them all
 * (durably: a 2xx to the provider is sent only after this).
 */
export async function enqueue(queue: Queue, messages: WebhookMessage[]) {
  let batch: MessageSendRequest<WebhookMessage>[] = [];
  let bytes = 0;
  const sends: Promise<unknown>[] = [];
  for (const body of messages) {
    const size = JSON.stringify(body).length + 100;
    if (batch.length === MAX_BATCH_MESSAGES || (batch.length && bytes + size > MAX_BATCH_BYTES)) {
      sends.push(queue.sendBatch(batch));
      batch = [];
      bytes = 0;
    }
    batch.push({ body, contentType: "json" });
    bytes += size;
  }
  if (batch.length) sends.push(queue.sendBatch(batch));
  await Promise.all(sends);
}
