/**
 * The live stream's sink of the event pipeline (src/events/publish.ts): after
 * a commit, each tenant's events go straight to that tenant's StreamHub,
 * which buffers them and fans them out (./hub.ts). It does not wait for, or
 * depend on, the subscriptions' outbox: every tenant streams, with or without
 * subscriptions, and a tenant without any writes no extra D1 row.
 *
 * Delivery is at most once per commit: publish() runs sinks under
 * waitUntil, so if the isolate dies between the commit and this call the
 * events of that commit never reach the hub (nor its buffer). Streams then
 * miss them without a reset; the communications themselves are committed and
 * the next list shows them (README, Live stream).
 */
import type { ChangeEvent } from "../events/event";
import type { Sink } from "../events/publish";
import { hubFor } from "./hub";

export const streamSink: Sink = {
  name: "live-stream",
  async send(env, events) {
    const byTenant = new Map<string, ChangeEvent[]>();
    for (const event of events) {
      const tenant = event.data.communication.tenant_id;
      byTenant.set(tenant, [...(byTenant.get(tenant) ?? []), event]);
    }
    await Promise.all([...byTenant].map(([tenant, batch]) => hubFor(env, tenant).publish(tenant, batch)));
  },
};
