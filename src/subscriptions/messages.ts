/**
 * The event deliveries queue (wrangler.toml: EVENT_DELIVERIES): its message
 * shapes and the producer side. One message per (event, subscription), so a
 * slow or failing receiver holds only its own messages; a replay is one
 * message per page of events, each queuing the next.
 */
import { log } from "../lib/logger";

/** The queue's name (wrangler.toml); its consumer is src/subscriptions/delivery.ts. */
export const EVENT_DELIVERIES_QUEUE = "customer-communications-events";

/** Attempt (or re-attempt) one delivery. `generation` is the delivery row's it was sent for (0: the first dispatch). */
export interface DeliverMessage {
  kind: "deliver";
  tenant_id: string;
  subscription_id: string;
  event_id: string;
  generation: number;
}

/** Send again the subscription's events with ids in [from, to), after `after`, one page at a time. */
export interface ReplayMessage {
  kind: "replay";
  tenant_id: string;
  subscription_id: string;
  from: string;
  to: string;
  after?: string;
}

export type EventQueueMessage = DeliverMessage | ReplayMessage;

/** Queues' limit per sendBatch: 100 messages (ours are a few hundred bytes each, far below 256 KB). */
const MAX_BATCH = 100;

/** Puts the messages on the queue; resolves once the queue holds them all, throws if it did not take them. */
export async function enqueue(queue: Queue, messages: EventQueueMessage[], delaySeconds?: number) {
  const sends: Promise<unknown>[] = [];
  for (let i = 0; i < messages.length; i += MAX_BATCH) {
    sends.push(
      queue.sendBatch(
        messages.slice(i, i + MAX_BATCH).map((body) => ({ body, contentType: "json" as const })),
        delaySeconds ? { delaySeconds } : undefined,
      ),
    );
  }
  const results = await Promise.allSettled(sends);
  const failed = results.filter((r) => r.status === "rejected");
  if (failed.length) {
    log.warn("event deliveries not queued", { messages: messages.length, failed_batches: failed.length });
    throw new Error("event deliveries not queued");
  }
}
