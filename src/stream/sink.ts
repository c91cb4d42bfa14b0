/**
 * The live stream's sink of the event pipeline (src/events/publish.ts): after
 * a commit, each tenant's events go straight to that tenant's StreamHub,
 * which buffers them and fans them out (./hub.ts). It does not wait for, or
 * depend on, the subscriptions' outbox: every tenant streams, with or without
 * subscriptions, and a tenant without any writes no extra D1 row.
 *
 * Delivery is best effort, after the commit: publish() runs sinks under
 * waitUntil; a call that fails is tried twice more. If the isolate dies
 * between the commit and this call, or the hub stays unreachable, the events
 * of that commit never reach the hub (nor its buffer). Streams then miss them
 * without a reset; the communications themselves are committed and the next
 * list shows them (docs/decisions.md, Live stream).
 */
import type { ChangeEvent } from "../events/event";
import type { Sink } from "../events/publish";
import { hubFor } from "./hub";

/** Waits before the second and third attempt: an object being reset (a deploy) is back within these. */
export const SINK_RETRY_DELAYS_MS = [100, 1000];

/** One tenant's events to its hub; a failed call is tried again (the hub ignores an event it already has). */
async function deliver(env: Env, tenant: string, batch: ChangeEvent[]) {
  for (let attempt = 0; ; attempt++) {
    try {
      await hubFor(env, tenant).publish(tenant, batch);
      return;
    } catch (err) {
      const delay = SINK_RETRY_DELAYS_MS[attempt];
      if (delay === undefined) throw err;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

export const streamSink: Sink = {
  name: "live-stream",
  async send(env, events) {
    const byTenant = new Map<string, ChangeEvent[]>();
    for (const event of events) {
      const tenant = event.data.communication.tenant_id;
      byTenant.set(tenant, [...(byTenant.get(tenant) ?? []), event]);
    }
    await Promise.all([...byTenant].map(([tenant, batch]) => deliver(env, tenant, batch)));
  },
};
