/**
 * The event deliveries consumer (wrangler.toml [[queues.consumers]] of
 * customer-communications-events): one message is one delivery of one event
 * to one subscription (./messages.ts). The delivery row in D1 is the truth
 * (attempts, status, next attempt); a message is only a wake-up, so a message
 * delivered twice, late, or for a superseded generation changes nothing.
 *
 * An attempt (../shared/spec/events.md, Delivery): POST the stored body with
 * the Standard Webhooks headers, redirects not followed, 15 seconds at most;
 * a 2xx is success; anything else is retried on the schedule
 * (OUTBOUND_RETRY_SCHEDULE), then `failed`. At most 256 bytes of the answer
 * are kept. The URL rules are checked again before each attempt. A
 * subscription whose attempts all failed for 5 days is disabled.
 *
 * A slow receiver never holds the others: all attempts of a batch run at
 * once, and the batch waits for them at most BATCH_WAIT_MS. The results in by
 * then are recorded and acknowledged (or retried at their next attempt time);
 * an attempt still running is left to finish in the background (waitUntil:
 * the queue does not wait for it) and records its own outcome, and its
 * message is retried after the longest an attempt can take, when it finds
 * that outcome in D1 (or, if the Worker stopped mid-attempt, attempts again:
 * at least once, never lost). The next batch, other subscriptions' and other
 * tenants' deliveries, goes on meanwhile.
 */
import { and, eq, inArray, isNull, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { config } from "../config";
import { type Database, type DbStats, d1Fields, newDbStats } from "../db/client";
import {
  type DeliveryRow,
  type SubscriptionEventRow,
  type SubscriptionRow,
  subscriptionDeliveries,
  subscriptionEvents,
  subscriptions,
} from "../db/schema";
import { tenantDatabase } from "../db/tenant";
import type { WaitUntil } from "../events/publish";
import { log } from "../lib/logger";
import { configuredPublicHost } from "../lib/public-url";
import { type DeliverMessage, type EventQueueMessage, enqueue, type ReplayMessage } from "./messages";
import { openSecretCached, signatureHeader } from "./signing";
import { SubscriptionStore } from "./store";
import { checkUrl } from "./url";

/** A 2xx within this long is success (the contract). */
export const ATTEMPT_TIMEOUT_MS = 15_000;
/** How long a batch waits for its attempts before leaving the slow ones to finish in the background. */
export const BATCH_WAIT_MS = 2_000;
/** When a message whose attempt outlived the batch comes back: after the attempt's timeout, with margin. */
const DEFERRED_CHECK_S = Math.ceil(ATTEMPT_TIMEOUT_MS / 1000) + 15;
/** Bytes of a receiver's answer kept in the delivery log. */
export const MAX_RESPONSE_BYTES = 256;
/** Every attempt failing for this long disables the subscription. */
export const DISABLE_AFTER_MS = 5 * 24 * 60 * 60 * 1000;
/** Queues' longest delay for a message (12 hours); a longer wait is taken in steps. */
const MAX_DELAY_S = 12 * 60 * 60;
/** Events per replay page (one queue message each, then the next page). */
export const REPLAY_PAGE = 100;
/**
 * Messages of one tenant handled together: their state is read with one
 * statement per table, within D1's 100 bound parameters (40 event ids, at
 * most 20 subscription ids, the tenant).
 */
const MESSAGES_PER_LOAD = 40;
/** Seconds before a message of a tenant being moved (or whose D1 work failed) is tried again. */
const BUSY_RETRY_S = 30;

export type AttemptError = "timeout" | "network" | "url_not_allowed";

export interface Outcome {
  ok: boolean;
  statusCode: number | null;
  error: AttemptError | null;
  response: string | null;
  at: string;
}

/** The first `max` bytes of a body, as text (a cut character becomes U+FFFD); never reads the rest. */
async function headOf(res: Response, max = MAX_RESPONSE_BYTES): Promise<string | null> {
  if (!res.body) return null;
  const reader = res.body.getReader();
  const out = new Uint8Array(max);
  let n = 0;
  try {
    while (n < max) {
      const { done, value } = await reader.read();
      if (done || !value) break;
      const take = Math.min(value.length, max - n);
      out.set(value.subarray(0, take), n);
      n += take;
    }
  } catch {
    // a body cut short keeps what arrived
  } finally {
    reader.cancel().catch(() => undefined);
  }
  return new TextDecoder().decode(out.subarray(0, n));
}

interface Attempt {
  url: string;
  secrets: string[];
  eventId: string;
  body: string;
}

/** One POST, as the contract says; never throws. */
export async function attempt(a: Attempt): Promise<Outcome> {
  const timestamp = Math.floor(Date.now() / 1000);
  try {
    const res = await fetch(a.url, {
      method: "POST",
      redirect: "manual",
      signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
      headers: {
        "content-type": "application/json",
        "user-agent": "customer-communications-webhooks/1",
        "webhook-id": a.eventId,
        "webhook-timestamp": String(timestamp),
        "webhook-signature": await signatureHeader(a.secrets, a.eventId, timestamp, a.body),
      },
      body: a.body,
    });
    const response = await headOf(res);
    return {
      ok: res.status >= 200 && res.status < 300,
      statusCode: res.status,
      error: null,
      response,
      at: new Date().toISOString(),
    };
  } catch (err) {
    const name = err instanceof Error ? err.name : "";
    const error = name === "TimeoutError" || name === "AbortError" ? "timeout" : "network";
    return { ok: false, statusCode: null, error, response: null, at: new Date().toISOString() };
  }
}

/** Seconds before retry n (1-based) per the schedule, or undefined when the attempts are spent. */
export const retryDelay = (schedule: readonly number[], failedAttempts: number) => schedule[failedAttempts - 1];

/** The delivery row after an attempt: its status, next attempt and counters. */
export function afterAttempt(
  previous: Pick<DeliveryRow, "attempts" | "last_failure_at" | "succeeded_at"> | undefined,
  outcome: Outcome,
  schedule: readonly number[],
) {
  const attempts = (previous?.attempts ?? 0) + 1;
  if (outcome.ok) {
    return { status: "succeeded" as const, attempts, next: null, delay: undefined };
  }
  const delay = retryDelay(schedule, attempts);
  const next = delay === undefined ? null : new Date(Date.parse(outcome.at) + delay * 1000).toISOString();
  return { status: delay === undefined ? ("failed" as const) : ("pending" as const), attempts, next, delay };
}

const deliveryKey = (subscriptionId: string, eventId: string) => `${subscriptionId} ${eventId}`;

interface TenantState {
  db: Database;
  subs: Map<string, SubscriptionRow>;
  events: Map<string, Pick<SubscriptionEventRow, "id" | "type" | "payload">>;
  rows: Map<string, DeliveryRow>;
}

async function loadState(db: Database, tenantId: string, messages: DeliverMessage[]): Promise<TenantState> {
  const subIds = [...new Set(messages.map((m) => m.subscription_id))];
  const eventIds = [...new Set(messages.map((m) => m.event_id))];
  const [subs, events, rows] = await db.batch([
    db
      .select()
      .from(subscriptions)
      .where(and(eq(subscriptions.tenant_id, tenantId), inArray(subscriptions.id, subIds))),
    db
      .select({ id: subscriptionEvents.id, type: subscriptionEvents.type, payload: subscriptionEvents.payload })
      .from(subscriptionEvents)
      .where(and(eq(subscriptionEvents.tenant_id, tenantId), inArray(subscriptionEvents.id, eventIds))),
    db
      .select()
      .from(subscriptionDeliveries)
      .where(
        and(
          eq(subscriptionDeliveries.tenant_id, tenantId),
          inArray(subscriptionDeliveries.subscription_id, subIds),
          inArray(subscriptionDeliveries.event_id, eventIds),
        ),
      ),
  ]);
  return {
    db,
    subs: new Map(subs.map((s) => [s.id, s])),
    events: new Map(events.map((e) => [e.id, e])),
    rows: new Map(rows.map((r) => [deliveryKey(r.subscription_id, r.event_id), r])),
  };
}

/** The statements that record an attempt's outcome (the delivery row, and the subscription's failure state). */
function recordOutcome(
  db: Database,
  tenantId: string,
  m: DeliverMessage,
  sub: SubscriptionRow,
  type: string,
  previous: DeliveryRow | undefined,
  outcome: Outcome,
  schedule: readonly number[],
) {
  const next = afterAttempt(previous, outcome, schedule);
  const values = {
    status: next.status,
    attempts: next.attempts,
    last_status_code: outcome.statusCode,
    last_error: outcome.error,
    last_response: outcome.response,
    last_attempt_at: outcome.at,
    next_attempt_at: next.next,
    last_failure_at: outcome.ok ? (previous?.last_failure_at ?? null) : outcome.at,
    succeeded_at: outcome.ok ? outcome.at : (previous?.succeeded_at ?? null),
  };
  const statements: BatchItem<"sqlite">[] = [
    db
      .insert(subscriptionDeliveries)
      .values({
        tenant_id: tenantId,
        subscription_id: m.subscription_id,
        event_id: m.event_id,
        type,
        generation: m.generation,
        ...values,
      })
      .onConflictDoUpdate({
        target: [
          subscriptionDeliveries.tenant_id,
          subscriptionDeliveries.subscription_id,
          subscriptionDeliveries.event_id,
        ],
        set: values,
        // A replay since this attempt started owns the row now.
        setWhere: eq(subscriptionDeliveries.generation, m.generation),
      }),
  ];
  const mine = and(eq(subscriptions.tenant_id, tenantId), eq(subscriptions.id, m.subscription_id));
  if (!outcome.ok) {
    const cutoff = new Date(Date.parse(outcome.at) - DISABLE_AFTER_MS).toISOString();
    statements.push(
      db
        .update(subscriptions)
        .set({
          failing_since: sql`coalesce(${subscriptions.failing_since}, ${outcome.at})`,
          status: sql`CASE WHEN ${subscriptions.status} = 'active' AND ${subscriptions.failing_since} <= ${cutoff} THEN 'disabled' ELSE ${subscriptions.status} END`,
          updated_at: sql`CASE WHEN ${subscriptions.status} = 'active' AND ${subscriptions.failing_since} <= ${cutoff} THEN ${outcome.at} ELSE ${subscriptions.updated_at} END`,
        })
        .where(mine),
    );
  } else if (sub.failing_since) {
    statements.push(
      db
        .update(subscriptions)
        .set({ failing_since: null })
        .where(and(mine, sql`${subscriptions.failing_since} IS NOT NULL`)),
    );
  }
  return { statements, next };
}

type Batch = [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]];

type Decision =
  | { act: "ack"; why: string; markPaused?: boolean }
  | { act: "wait"; delaySeconds: number }
  | { act: "attempt"; sub: SubscriptionRow; event: { type: string; payload: string }; row?: DeliveryRow };

function decide(state: TenantState, m: DeliverMessage, now: number): Decision {
  const sub = state.subs.get(m.subscription_id);
  if (!sub) return { act: "ack", why: "subscription_deleted" };
  const event = state.events.get(m.event_id);
  if (!event) return { act: "ack", why: "event_purged" };
  const row = state.rows.get(deliveryKey(m.subscription_id, m.event_id));
  if (row && row.generation !== m.generation) return { act: "ack", why: "superseded" };
  if (row && row.status !== "pending") return { act: "ack", why: "done" };
  // Paused and disabled subscriptions keep no backlog: replay sends it again.
  if (sub.status !== "active") return { act: "ack", why: "not_active", markPaused: Boolean(row) };
  const due = row?.next_attempt_at ? Date.parse(row.next_attempt_at) : now;
  if (due > now + 1000) return { act: "wait", delaySeconds: Math.min(MAX_DELAY_S, Math.ceil((due - now) / 1000)) };
  return { act: "attempt", sub, event, row };
}

/** The secrets that sign now: the current one, and the previous one until it expires. */
async function signingSecrets(env: Env, sub: SubscriptionRow, now: number) {
  const key = config(env).providerSecretsKey;
  const secrets = [await openSecretCached(key, sub.tenant_id, sub.id, sub.secret)];
  if (sub.previous_secret && sub.previous_secret_expires_at && Date.parse(sub.previous_secret_expires_at) > now) {
    secrets.push(await openSecretCached(key, sub.tenant_id, sub.id, sub.previous_secret));
  }
  return secrets;
}

interface Tally {
  succeeded: number;
  failed: number;
  deferred: number;
  dropped: number;
  waited: number;
}

async function deliverForTenant(
  env: Env,
  tenantId: string,
  items: Message<DeliverMessage>[],
  stats: DbStats,
  waitUntil: WaitUntil,
  tally: Tally,
) {
  const { allowLoopback, retrySchedule } = config(env).outbound;
  const db = await tenantDatabase(env, tenantId, stats);
  const state = await loadState(
    db,
    tenantId,
    items.map((i) => i.body),
  );
  const now = Date.now();
  // Acknowledgements and retries are given once this tenant's D1 writes are
  // done: if one fails, every message of the tenant comes back (see busy()).
  const settle: (() => void)[] = [];
  const paused: D1PreparedStatement[] = [];
  const running: {
    item: Message<DeliverMessage>;
    sub: SubscriptionRow;
    type: string;
    row?: DeliveryRow;
    done: Promise<Outcome>;
  }[] = [];
  for (const item of items) {
    const m = item.body;
    const d = decide(state, m, now);
    if (d.act === "ack") {
      if (d.markPaused) {
        paused.push(
          db.$client
            .prepare(
              "UPDATE subscription_deliveries SET status = 'failed', last_error = 'paused', next_attempt_at = NULL WHERE tenant_id = ? AND subscription_id = ? AND event_id = ? AND generation = ? AND status = 'pending'",
            )
            .bind(tenantId, m.subscription_id, m.event_id, m.generation),
        );
      }
      tally.dropped++;
      settle.push(() => item.ack());
      continue;
    }
    if (d.act === "wait") {
      tally.waited++;
      settle.push(() => item.retry({ delaySeconds: d.delaySeconds }));
      continue;
    }
    const checked = checkUrl(d.sub.url, {
      allowLoopback,
      ownHosts: [d.sub.service_host, ...configuredPublicHost(env)],
    });
    const done =
      "problem" in checked
        ? Promise.resolve<Outcome>({
            ok: false,
            statusCode: null,
            error: "url_not_allowed",
            response: null,
            at: new Date().toISOString(),
          })
        : signingSecrets(env, d.sub, now).then((secrets) =>
            attempt({ url: checked.url, secrets, eventId: m.event_id, body: d.event.payload }),
          );
    running.push({ item, sub: d.sub, type: d.event.type, row: d.row, done });
  }
  if (paused.length) await db.$client.batch(paused);
  if (!running.length) {
    for (const s of settle) s();
    return;
  }

  // Wait for the attempts, but at most BATCH_WAIT_MS.
  const settled = new Map<(typeof running)[number], Outcome>();
  for (const r of running) r.done.then((o) => settled.set(r, o));
  await Promise.race([
    Promise.all(running.map((r) => r.done)),
    new Promise((resolve) => setTimeout(resolve, BATCH_WAIT_MS)),
  ]);

  const record = (r: (typeof running)[number], outcome: Outcome) =>
    recordOutcome(db, tenantId, r.item.body, r.sub, r.type, r.row, outcome, retrySchedule);
  const finished = running.filter((r) => settled.has(r));
  const recorded = finished.map((r) => ({ r, ...record(r, settled.get(r) as Outcome) }));
  const statements = recorded.flatMap((x) => x.statements);
  // The queue took these events' first dispatch (./outbox.ts): the scheduled job need not send them.
  const firsts = [...new Set(items.filter((i) => i.body.generation === 0).map((i) => i.body.event_id))];
  if (firsts.length) {
    statements.push(
      db
        .update(subscriptionEvents)
        .set({ dispatched_at: new Date().toISOString() })
        .where(
          and(
            eq(subscriptionEvents.tenant_id, tenantId),
            inArray(subscriptionEvents.id, firsts),
            isNull(subscriptionEvents.dispatched_at),
          ),
        ),
    );
  }
  if (statements.length) await db.batch(statements as Batch);
  for (const s of settle) s();
  for (const { r, next } of recorded) {
    if (next.status === "pending" && next.delay !== undefined) {
      tally.failed++;
      r.item.retry({ delaySeconds: Math.min(MAX_DELAY_S, Math.max(1, next.delay)) });
    } else {
      if (next.status === "succeeded") tally.succeeded++;
      else tally.failed++;
      r.item.ack();
    }
  }
  for (const r of running.filter((x) => !settled.has(x))) {
    tally.deferred++;
    r.item.retry({ delaySeconds: DEFERRED_CHECK_S });
    waitUntil(
      r.done.then(async (outcome) => {
        const { statements: late } = record(r, outcome);
        await db.batch(late as Batch);
      }),
    );
  }
}

/** One page of a replay: resets the page's deliveries, queues them, and queues the next page. */
async function replayPage(env: Env, m: ReplayMessage, stats: DbStats) {
  const db = await tenantDatabase(env, m.tenant_id, stats);
  const store = new SubscriptionStore(db, m.tenant_id);
  const sub = await store.get(m.subscription_id);
  if (!sub) return;
  const page = await store.replayPage(sub, m.from, m.to, m.after, REPLAY_PAGE);
  const messages: EventQueueMessage[] = page.deliveries.map((d) => ({
    kind: "deliver",
    tenant_id: m.tenant_id,
    subscription_id: sub.id,
    event_id: d.event_id,
    generation: d.generation,
  }));
  if (page.last && page.deliveries.length >= REPLAY_PAGE) messages.push({ ...m, after: page.last });
  if (messages.length) await enqueue(env.EVENT_DELIVERIES, messages);
}

export async function consumeEventDeliveries(batch: MessageBatch<EventQueueMessage>, env: Env, waitUntil: WaitUntil) {
  const stats = newDbStats();
  const tally: Tally = { succeeded: 0, failed: 0, deferred: 0, dropped: 0, waited: 0 };
  const byTenant = new Map<string, Message<DeliverMessage>[]>();
  const work: Promise<void>[] = [];
  const busy = (items: Message<EventQueueMessage>[], err: unknown, tenantId: string) => {
    for (const item of items) item.retry({ delaySeconds: BUSY_RETRY_S });
    log.warn("event deliveries retried", {
      tenant_id: tenantId,
      messages: items.length,
      error: err instanceof Error ? err.name : typeof err,
    });
  };
  for (const message of batch.messages) {
    const body = message.body;
    if (body?.kind === "replay") {
      work.push(
        replayPage(env, body, stats).then(
          () => message.ack(),
          (err) => busy([message], err, body.tenant_id),
        ),
      );
    } else if (body?.kind === "deliver") {
      const list = byTenant.get(body.tenant_id) ?? [];
      list.push(message as Message<DeliverMessage>);
      byTenant.set(body.tenant_id, list);
    } else {
      message.ack(); // not ours to understand: never retried forever
    }
  }
  for (const [tenantId, all] of byTenant) {
    for (let i = 0; i < all.length; i += MESSAGES_PER_LOAD) {
      const items = all.slice(i, i + MESSAGES_PER_LOAD);
      work.push(
        deliverForTenant(env, tenantId, items, stats, waitUntil, tally).catch((err) =>
          // D1 unavailable, or the tenant frozen by a move: every message not yet settled comes back later.
          busy(items, err, tenantId),
        ),
      );
    }
  }
  await Promise.all(work);
  log.info("event delivery batch", { queue: batch.queue, size: batch.messages.length, ...tally, d1: d1Fields(stats) });
}
