/**
 * The queue consumer (wrangler.toml [[queues.consumers]]): applies webhook
 * events to the tenant's database. Messages of a batch are applied one by
 * one, in order; each is acknowledged when applied and retried (with a
 * growing delay) when anything fails, D1 unavailable included, so a failure
 * part way through a batch redelivers only what was not applied. Applying a
 * message twice changes nothing (events are keyed, inbound messages are
 * unique by provider id), which is what makes the retries safe.
 */
import { type Database, type DbStats, d1Fields, newDbStats } from "../db/client";
import { tenantSession } from "../db/tenant";
import type { ChangeEvent } from "../events/event";
import { publish, type WaitUntil } from "../events/publish";
import { log } from "../lib/logger";
import { outboxFor } from "../subscriptions/outbox";
import type { StatusMessage, WebhookMessage } from "./events";
import { ANY_PROVIDER, ProviderEventStore } from "./store";

const createdBy = (provider: string) => `provider:${provider}`;

async function applyStatus(store: ProviderEventStore, m: StatusMessage) {
  let row = await store.find(m);
  if (!row && m.inbound) row = await store.createInbound(m.inbound, createdBy(m.inbound.provider));
  if (row) {
    await store.applyEvent(row, m);
    return;
  }
  if (!m.provider_message_id) return; // our own id, unknown: nothing to keep it for
  // Before its create: kept, then looked for again. The create looks for
  // kept events after its insert, so whichever of the two runs second sees
  // the other (applying twice is harmless).
  await store.keepPending(m.provider ?? ANY_PROVIDER, m.provider_message_id, m);
  row = await store.find(m);
  if (row) await store.drainPending(row);
}

/** Opens a tenant's database once per batch (the directory lookup included), with its subscription count. */
type Opener = (tenantId: string) => Promise<{ db: Database; subscriptions: number }>;

/**
 * Applies one message. The events of the changes it committed (a redelivery
 * that changes nothing has none) are added to `committed`, for the caller to
 * publish, also when the message fails part way (a drain that applied some
 * of its kept events): a retry does not commit those changes again.
 */
export async function applyMessage(
  env: Env,
  m: WebhookMessage,
  stats: DbStats = newDbStats(),
  open: Opener = (tenantId) => tenantSession(env, tenantId, stats),
  committed: ChangeEvent[] = [],
): Promise<ChangeEvent[]> {
  const { db, subscriptions } = await open(m.tenant_id);
  const store = new ProviderEventStore(db, m.tenant_id, outboxFor(subscriptions));
  try {
    await apply(store, m);
  } finally {
    committed.push(...store.committed);
  }
  return committed;
}

async function apply(store: ProviderEventStore, m: WebhookMessage) {
  switch (m.kind) {
    case "inbound":
      await store.createInbound(m.communication, createdBy(m.communication.provider));
      break;
    case "drain": {
      const row = await store.findByProviderId(
        m.provider === ANY_PROVIDER ? undefined : m.provider,
        m.provider_message_id,
      );
      if (row) await store.drainPending(row);
      break;
    }
    case "status":
      await applyStatus(store, m);
      break;
  }
}

/** Seconds before a failed message is redelivered: 5, 10, 20 ... at most 5 minutes. */
const retryDelay = (attempts: number) => Math.min(300, 5 * 2 ** Math.max(0, attempts - 1));

export async function consumeWebhookEvents(batch: MessageBatch<WebhookMessage>, env: Env, waitUntil: WaitUntil) {
  let failed = 0;
  // D1 work of the whole batch: BENCHMARKS.md's rows per webhook event come from these lines.
  const stats = newDbStats();
  const opened = new Map<string, ReturnType<Opener>>();
  const open: Opener = (tenantId) => {
    let db = opened.get(tenantId);
    if (!db) {
      db = tenantSession(env, tenantId, stats);
      db.catch(() => opened.delete(tenantId)); // a failed lookup is tried again by the next message
      opened.set(tenantId, db);
    }
    return db;
  };
  for (const message of batch.messages) {
    const committed: ChangeEvent[] = [];
    try {
      await applyMessage(env, message.body, stats, open, committed);
      message.ack();
    } catch (err) {
      failed++;
      message.retry({ delaySeconds: retryDelay(message.attempts) });
      // The message only: a DrizzleQueryError's params would be customer content.
      const error = err instanceof Error ? (err.cause instanceof Error ? err.cause : err).message : String(err);
      log.error("webhook event not applied; retried", {
        queue: batch.queue,
        message_id: message.id,
        attempts: message.attempts,
        tenant_id: message.body?.tenant_id,
        kind: message.body?.kind,
        error: error.slice(0, 300),
      });
    } finally {
      publish(env, waitUntil, committed);
    }
  }
  log.info("webhook batch", { queue: batch.queue, size: batch.messages.length, failed, d1: d1Fields(stats) });
}
