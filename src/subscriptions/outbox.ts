/**
 * The subscriptions' side of the event pipeline (src/events):
 *
 *  1. `outboxFor(placement)`: for a tenant with subscriptions (the count the
 *     directory entry carries, read and cached with the placement), the
 *     recorder that commits each change's event to `subscription_events` in
 *     the change's own batch, and reads in that same batch which active
 *     subscriptions it goes to. For a tenant without subscriptions, nothing:
 *     no extra row read or written.
 *  2. `subscriptionsSink`: after the commit, one queue message per (event,
 *     subscription); the consumer marks the events dispatched with its first
 *     outcome.
 *  3. what the queue did not take (it failed, or the isolate stopped first)
 *     stays undispatched: the scheduled job sends it (./jobs.ts), also
 *     through `dispatch()`.
 */
import { type ChangeEvent, eventJson } from "../events/event";
import type { Sink } from "../events/publish";
import type { EventRecorder } from "../events/recorder";
import { type DeliverMessage, enqueue } from "./messages";

/** The body a receiver gets, byte for byte, for every attempt and replay (the event as delivered). */
export const eventBody = eventJson;

const INSERT_EVENT = `INSERT INTO subscription_events
  (tenant_id, id, type, communication_id, customer_id, payload, created_at, dispatched_at)
  SELECT ?, ?, ?, ?, ?, ?, ?, NULL`;
/** The active subscriptions at commit: at most 20 rows, read by the primary key. */
const ACTIVE_SUBSCRIPTIONS = "SELECT id, events FROM subscriptions WHERE tenant_id = ? AND status = 'active'";

/** Which subscriptions each committed event goes to, from its commit to its dispatch (this isolate only). */
const targets = new WeakMap<ChangeEvent, { tenantId: string; subscriptionIds: string[] }>();

export const matches = (events: string | string[], type: string) =>
  (typeof events === "string" ? (JSON.parse(events) as string[]) : events).includes(type);

/** The outbox recorder: the event row and the read of its subscriptions, in the change's batch. */
export const outbox: EventRecorder = {
  statements(db, event, guarded) {
    const c = event.data.communication;
    return [
      db.$client
        .prepare(guarded ? `${INSERT_EVENT} WHERE changes() = 1` : INSERT_EVENT)
        .bind(c.tenant_id, event.id, event.type, c.id, c.customer_id, eventBody(event), event.timestamp),
      db.$client.prepare(ACTIVE_SUBSCRIPTIONS).bind(c.tenant_id),
    ];
  },
  committed(event, [, active]) {
    const rows = (active?.results ?? []) as { id: string; events: string }[];
    targets.set(event, {
      tenantId: event.data.communication.tenant_id,
      subscriptionIds: rows.filter((r) => matches(r.events, event.type)).map((r) => r.id),
    });
  },
};

/** The recorder for a tenant with this many subscriptions (the directory's count). */
export const outboxFor = (subscriptionCount: number): EventRecorder | undefined =>
  subscriptionCount > 0 ? outbox : undefined;

/** D1 binds at most 100 parameters per statement: event ids per UPDATE. */
const IDS_PER_STATEMENT = 90;

/**
 * `dispatched_at = now` for these events, if not set yet: statements of at
 * most IDS_PER_STATEMENT ids, for a batch of the caller's.
 */
export function markDispatched(db: D1Database, tenantId: string, ids: string[], now = new Date().toISOString()) {
  const statements: D1PreparedStatement[] = [];
  for (let i = 0; i < ids.length; i += IDS_PER_STATEMENT) {
    const chunk = ids.slice(i, i + IDS_PER_STATEMENT);
    statements.push(
      db
        .prepare(
          `UPDATE subscription_events SET dispatched_at = ?
           WHERE tenant_id = ? AND id IN (${chunk.map(() => "?").join(", ")}) AND dispatched_at IS NULL`,
        )
        .bind(now, tenantId, ...chunk),
    );
  }
  return statements;
}

/**
 * Queues one delivery per (event, subscription). If the queue refuses, this
 * throws and the events stay undispatched: the scheduled job tries again.
 * `mark`: the tenant's database, to record them dispatched now (the scheduled job). After a
 * commit the sink does not: the consumer records it with its first outcome,
 * in a batch it writes anyway, so a change costs its request no more D1 work
 * than the outbox row. Either way a mark that is lost means the job sends
 * the events again: a message the consumer finds done in D1 and drops (or,
 * at worst, a duplicate the receiver recognises by its webhook-id), never a
 * loss.
 */
export async function dispatch(
  env: Env,
  tenantId: string,
  events: { id: string; subscriptionIds: string[] }[],
  mark?: D1Database,
) {
  const messages: DeliverMessage[] = events.flatMap((e) =>
    e.subscriptionIds.map((subscriptionId) => ({
      kind: "deliver" as const,
      tenant_id: tenantId,
      subscription_id: subscriptionId,
      event_id: e.id,
      generation: 0,
    })),
  );
  if (messages.length) await enqueue(env.EVENT_DELIVERIES, messages);
  if (mark && events.length)
    await mark.batch(
      markDispatched(
        mark,
        tenantId,
        events.map((e) => e.id),
      ),
    );
  return messages.length;
}

/** The sink of src/events/publish.ts: dispatches the events this isolate committed to the outbox. */
export const subscriptionsSink: Sink = {
  name: "subscriptions",
  async send(env, events) {
    const byTenant = new Map<string, { id: string; subscriptionIds: string[] }[]>();
    for (const event of events) {
      const target = targets.get(event);
      if (!target) continue; // not in the outbox: the tenant had no subscriptions
      targets.delete(event);
      const list = byTenant.get(target.tenantId) ?? [];
      list.push({ id: event.id, subscriptionIds: target.subscriptionIds });
      byTenant.set(target.tenantId, list);
    }
    for (const [tenantId, list] of byTenant) await dispatch(env, tenantId, list);
  },
};
