/**
 * The queue consumer (wrangler.toml [[queues.consumers]]): applies webhook
 * events to the tenant's database. Messages of a batch are applied one by
 * one, in order; each is acknowledged when applied and retried (with a
 * growing delay) when anything fails, D1 unavailable included, so a failure
 * part way through a batch redelivers only what was not applied. Applying a
 * message twice changes nothing (events are keyed, inbound messages are
 * unique by provider id), which is what makes the retries safe, and what
 * lets a message carry several events (a group: a failure retries the group).
 *
 * A message is one event, a group of one tenant's events, or the R2 key of
 * an event too large for a queue message (src/webhooks/queue.ts): read,
 * applied, acknowledged, then deleted. A key whose object is gone was applied
 * and deleted by an earlier delivery whose acknowledgement was lost.
 *
 * A write that the fence of a tenant's old shard refuses (the move switched
 * after this isolate cached the placement) is applied again on the new shard
 * at once; while the move is frozen, the message is retried later.
 */
import { type DbStats, d1Fields, newDbStats } from "../db/client";
import { type TenantSession, tenantSession, tenantSessionAfterFence } from "../db/tenant";
import type { ChangeEvent } from "../events/event";
import { publish, type WaitUntil } from "../events/publish";
import { errorKind, isFenceRefusal, toApiError } from "../lib/error-handler";
import { TenantFrozenError } from "../lib/errors";
import { log } from "../lib/logger";
import { outboxFor } from "../subscriptions/outbox";
import type { QueueBody, StatusMessage, WebhookMessage } from "./events";
import { ANY_PROVIDER, ProviderEventStore } from "./store";

const createdBy = (provider: string) => `provider:${provider}`;

async function applyStatus(store: ProviderEventStore, m: StatusMessage) {
  let row = await store.find(m);
  // A callback for an erased message: dropped, neither kept nor recreating it (privacy.md).
  if (!row && m.provider_message_id && (await store.wasErased(m.provider_message_id))) return;
  if (!row && m.inbound) row = await store.createInbound(m.inbound, createdBy(m.inbound.provider));
  if (row) {
    await store.applyEvent(row, m);
    return;
  }
  if (!m.provider_message_id) return; // our own id, unknown: nothing to keep it for
  // Before its create: kept, then looked for again. The create looks for
  // kept events after its insert, so whichever of the two runs second sees
  // the other (applying twice is harmless).
  const provider = m.provider ?? ANY_PROVIDER;
  const kept = await store.keepPending(provider, m.provider_message_id, m);
  row = await store.find(m);
  if (row) await store.drainPending(row);
  else if (kept) {
    // One line per event kept because it matched nothing (staff list them: GET /providers/unmatched).
    log.info("provider event kept: no communication matches it yet", {
      tenant_id: store.scope.tenantId,
      provider,
      provider_message_id: m.provider_message_id,
      status: m.status,
      provider_status: m.provider_status,
    });
  }
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

/** Opens a tenant's database once per batch (the directory lookup included), with its subscription count. */
type Opener = (tenantId: string) => Promise<TenantSession>;
/** Opens it again after a fence refusal, where the directory says the tenant is now. */
type Reopener = (tenantId: string, refusal: unknown) => Promise<TenantSession>;

/** The store of one tenant's session: with the outbox when the tenant has subscriptions (src/subscriptions). */
const storeOn = ({ db, subscriptions }: TenantSession, tenantId: string) =>
  new ProviderEventStore(db, tenantId, outboxFor(subscriptions));

/**
 * The events a queue message carries, oldest first. undefined: a stored
 * event whose object is gone (applied and deleted by an earlier delivery).
 */
export async function eventsOf(env: Env, body: QueueBody): Promise<WebhookMessage[] | undefined> {
  switch (body.kind) {
    case "group":
      return body.events;
    case "stored": {
      const object = await env.ARCHIVE.get(body.key);
      return object ? [await object.json<WebhookMessage>()] : undefined;
    }
    default:
      return [body];
  }
}

/**
 * Applies the events of one message. The events of the changes it committed
 * (a redelivery that changes nothing has none) are added to `committed`, for
 * the caller to publish, also when the message fails part way (a drain that
 * applied some of its kept events): a retry does not commit those changes again.
 */
export async function applyMessage(
  env: Env,
  m: QueueBody,
  stats: DbStats = newDbStats(),
  open: Opener = (tenantId) => tenantSession(env, tenantId, stats),
  committed: ChangeEvent[] = [],
  reopen: Reopener = (tenantId, refusal) => tenantSessionAfterFence(env, tenantId, stats, refusal),
): Promise<ChangeEvent[]> {
  const events = await eventsOf(env, m);
  if (!events) {
    log.warn("stored webhook event already applied", { tenant_id: m.tenant_id, kind: m.kind });
    return committed;
  }
  let store = storeOn(await open(m.tenant_id), m.tenant_id);
  for (const event of events) {
    try {
      await apply(store, event);
    } catch (err) {
      committed.push(...store.committed.splice(0));
      if (!isFenceRefusal(err)) throw err;
      // Everything the old shard took before its fence went up was copied by
      // the move; what it refused changed nothing. Applying again is safe.
      store = storeOn(await reopen(m.tenant_id, err), m.tenant_id);
      await apply(store, event);
    } finally {
      committed.push(...store.committed.splice(0));
    }
  }
  return committed;
}

/** Seconds before a failed message is redelivered: 5, 10, 20 ... at most 5 minutes. */
const retryDelay = (attempts: number) => Math.min(300, 5 * 2 ** Math.max(0, attempts - 1));

export async function consumeWebhookEvents(batch: MessageBatch<QueueBody>, env: Env, waitUntil: WaitUntil) {
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
  const reopen: Reopener = (tenantId, refusal) => {
    const db = tenantSessionAfterFence(env, tenantId, stats, refusal);
    db.catch(() => opened.delete(tenantId));
    opened.set(tenantId, db); // the rest of the batch goes to the new shard too
    return db;
  };
  for (const message of batch.messages) {
    const committed: ChangeEvent[] = [];
    const body = message.body;
    try {
      await applyMessage(env, body, stats, open, committed, reopen);
      message.ack();
      if (body?.kind === "stored") {
        // After the ack: a redelivery that finds no object knows it was applied.
        await env.ARCHIVE.delete(body.key).catch(() =>
          log.warn("stored webhook event not deleted; the bucket's lifecycle rule removes it", {
            tenant_id: body.tenant_id,
          }),
        );
      }
    } catch (err) {
      failed++;
      message.retry({ delaySeconds: retryDelay(message.attempts) });
      // A tenant move's freeze is an expected state: a warning. Otherwise the
      // error's class and code only: a driver's message can hold bound values
      // (customer content), and so can the SQL text of some statements.
      const frozen = toApiError(err) instanceof TenantFrozenError;
      (frozen ? log.warn : log.error)("webhook event not applied; retried", {
        queue: batch.queue,
        message_id: message.id,
        attempts: message.attempts,
        tenant_id: body?.tenant_id,
        kind: body?.kind,
        ...errorKind(err),
      });
    } finally {
      publish(env, waitUntil, committed);
    }
  }
  log.info("webhook batch", { queue: batch.queue, size: batch.messages.length, failed, d1: d1Fields(stats) });
}
