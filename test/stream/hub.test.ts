/**
 * The tenant's StreamHub Durable Object (src/stream/hub.ts) under the
 * conditions a client cannot arrange through the API: a restart of the
 * object, the bounds of its buffer, a sink that sends an event twice, events
 * published while a stream is still replaying, a reader that stops reading,
 * and erasure. Events are published to the object as the stream sink does.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type Communication, EXAMPLE_COMMUNICATION } from "../../src/communications/schemas";
import { type ChangeEvent, createdEvent, newEventId } from "../../src/events/event";
import { matchesFilters, type StreamFilters, visibleIn } from "../../src/stream/filters";
import { BUFFER_EVENTS, BUFFER_MAX_EVENTS, BUFFER_MIN_AGE_MS, hubFor, type StreamHub } from "../../src/stream/hub";
import { SINK_RETRY_DELAYS_MS, streamSink } from "../../src/stream/sink";
import { call, callers, communicationBody, newTenant } from "../support/helpers";
import { communicationIds, eventIds, type OpenedStream, openStream } from "../support/stream";

const opened: OpenedStream[] = [];
beforeEach(() => {
  vi.spyOn(console, "log").mockImplementation(() => undefined);
});
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
  vi.restoreAllMocks();
});

async function live(query: string, token: string, headers?: Record<string, string>) {
  const s = await openStream(query, { token, headers });
  opened.push(s);
  expect(s.status).toBe(200);
  await s.until((f) => f.length >= 1);
  return s;
}

const communication = (tenant: string, overrides: Partial<Communication> = {}): Communication => ({
  ...EXAMPLE_COMMUNICATION,
  id: crypto.randomUUID(),
  tenant_id: tenant,
  customer_id: crypto.randomUUID(),
  ...overrides,
});

/** `n` created events of the tenant, ids in order. */
const events = (tenant: string, n: number, overrides: Partial<Communication> = {}): ChangeEvent[] =>
  Array.from({ length: n }, () => createdEvent(communication(tenant, overrides)));

/** Publishes as the stream sink does, in batches the size of a busy commit. */
async function publish(tenant: string, list: ChangeEvent[]) {
  let fresh = 0;
  for (let i = 0; i < list.length; i += 500) fresh += await hubFor(env, tenant).publish(tenant, list.slice(i, i + 500));
  return fresh;
}

const buffer = (tenant: string) =>
  runInDurableObject(hubFor(env, tenant), (_hub: StreamHub, state) =>
    state.storage.sql
      .exec<{ id: string }>("SELECT id FROM events ORDER BY seq")
      .toArray()
      .map((r) => r.id),
  );

const eventCount = (n: number) => (frames: { event?: string }[]) => eventIds(frames as never).length >= n;

describe("a restart of the object", () => {
  it("ends its streams (clients see the connection close), keeps every buffered event, and clients resume", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const admin = await who.admin();
    const viewer = await who.viewer();
    const watching = await live("", viewer);
    const away = await live("", viewer);
    const a = await call("", { method: "POST", token: admin, body: communicationBody() });
    await away.until(eventCount(1));
    const seen = eventIds(away.frames)[0] as string;
    await away.close();
    const b = await call("", { method: "POST", token: admin, body: communicationBody() });
    await watching.until(eventCount(2));

    // This tenant's object only (other test files' objects are left alone): as a crash would.
    await runInDurableObject(hubFor(env, tenant), (_hub: StreamHub, state) => state.abort("restart")).catch(
      () => undefined,
    );
    // Not silent: the open stream ends, as a dropped connection does for EventSource.
    expect(await watching.ended(20_000)).toBe(true);

    // A new instance, from storage: the buffer is whole and a resume replays what was missed.
    expect(await buffer(tenant)).toHaveLength(2);
    const resumed = await live("", viewer, { "last-event-id": seen });
    await resumed.until(eventCount(1));
    const c = await call("", { method: "POST", token: admin, body: communicationBody() });
    await resumed.until(eventCount(2));
    expect(communicationIds(resumed)).toEqual([b.json.communication.id, c.json.communication.id]);
    expect(a.status).toBe(201);
  });
});

describe("the buffer", () => {
  it("keeps every event younger than 5 minutes beyond 1,000; older ones go past the newest 1,000; a resume from one gone is a reset", async () => {
    const tenant = newTenant();
    const all = events(tenant, BUFFER_EVENTS + 200);
    expect(await publish(tenant, all)).toBe(all.length);
    expect(await buffer(tenant)).toHaveLength(all.length); // all young: all kept

    // Five minutes pass for all of them.
    await runInDurableObject(hubFor(env, tenant), (_hub: StreamHub, state) => {
      state.storage.sql.exec("UPDATE events SET at = at - ?", BUFFER_MIN_AGE_MS + 1000);
    });
    const next = events(tenant, 1);
    await publish(tenant, next);
    const kept = await buffer(tenant);
    expect(kept).toHaveLength(BUFFER_EVENTS);
    expect(kept).toEqual([...all, ...next].slice(-BUFFER_EVENTS).map((e) => e.id));

    const viewer = await callers(tenant).viewer();
    const gone = await live("", viewer, { "last-event-id": all[0]?.id as string });
    await gone.until((f) => f.some((x) => x.event === "reset"));
    expect(gone.frames[1]).toMatchObject({ event: "reset", data: "{}", id: next[0]?.id });

    // From the oldest kept: the 999 after it, in order, in pages.
    const resumed = await live("", viewer, { "last-event-id": kept[0] as string });
    await resumed.until(eventCount(BUFFER_EVENTS - 1), 60_000);
    expect(eventIds(resumed.frames)).toEqual(kept.slice(1));
  }, 120_000);

  it(`never holds more than ${BUFFER_MAX_EVENTS.toLocaleString("en")} events, however young`, async () => {
    const tenant = newTenant();
    const all = events(tenant, BUFFER_MAX_EVENTS + 50);
    await publish(tenant, all);
    const kept = await buffer(tenant);
    expect(kept).toHaveLength(BUFFER_MAX_EVENTS);
    expect(kept[0]).toBe(all[50]?.id);
  }, 120_000);

  it("an event sent twice (a retried sink) is stored and streamed once; another tenant's event is refused", async () => {
    const tenant = newTenant();
    const s = await live("", await callers(tenant).viewer());
    const [event] = events(tenant, 1) as [ChangeEvent];
    expect(await publish(tenant, [event])).toBe(1);
    expect(await publish(tenant, [event])).toBe(0);
    const stray = events(newTenant(), 1);
    expect(await publish(tenant, stray)).toBe(0);
    const marker = events(tenant, 1);
    await publish(tenant, marker);
    await s.until(eventCount(2));
    await s.settle(200);
    expect(eventIds(s.frames)).toEqual([event.id, marker[0]?.id]);
    expect(await buffer(tenant)).toEqual([event.id, marker[0]?.id]);
  });
});

describe("replay", () => {
  it("events published while a stream is still replaying come after the replay, none lost or doubled", async () => {
    const tenant = newTenant();
    // Large enough that the replay stops at the stream's high-water mark until the client reads.
    const big = "x".repeat(2_000);
    const first = events(tenant, 300, { content: big });
    await publish(tenant, first);
    const viewer = await callers(tenant).viewer();
    const s = await live("", viewer, { "last-event-id": first[0]?.id as string });
    const during = events(tenant, 20, { content: big });
    await publish(tenant, during);
    const expected = [...first.slice(1), ...during].map((e) => e.id);
    await s.until(eventCount(expected.length), 60_000);
    await s.settle(200);
    expect(eventIds(s.frames)).toEqual(expected);
  }, 90_000);

  it("a customer's replay carries only their own events, filtered", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const mine = { customer_id: who.customerId };
    const start = events(tenant, 1);
    const list = [
      ...events(tenant, 3, { ...mine, type: "sms" }),
      ...events(tenant, 3),
      ...events(tenant, 2, { ...mine, type: "email" }),
    ];
    await publish(tenant, [...start, ...list]);
    const s = await live("?type=email", await who.customer(), { "last-event-id": start[0]?.id as string });
    await s.until(eventCount(2));
    await s.settle(200);
    expect(eventIds(s.frames)).toEqual(list.slice(-2).map((e) => e.id));
  });
});

describe("a reader that stops reading", () => {
  it("is disconnected once 4 MiB are queued for it, rather than buffered without bound; others go on", async () => {
    const tenant = newTenant();
    const hub = hubFor(env, tenant);
    const stuck = await hub.open({ scope: { tenantId: tenant }, filters: {} });
    const reading = await live("", await callers(tenant).viewer());
    expect(await hub.openStreams()).toBe(2);
    const large = "y".repeat(100_000);
    let sent = 0;
    for (let i = 0; i < 12 && (await hub.openStreams()) === 2; i++) {
      const batch = events(tenant, 10, { content: large });
      await publish(tenant, batch);
      sent += batch.length;
      await reading.until(eventCount(sent), 60_000);
    }
    expect(await hub.openStreams()).toBe(1);
    expect(sent).toBeGreaterThanOrEqual(40);
    await stuck.cancel().catch(() => undefined);
  }, 120_000);
});

describe("the stream sink", () => {
  /** The real namespace, whose stubs' publish() fails the first `failures` times. */
  const flaky = (failures: number) => {
    let calls = 0;
    const namespace = {
      idFromName: (name: string) => env.STREAM_HUB.idFromName(name),
      get: (id: DurableObjectId) => ({
        publish: (tenant: string, list: ChangeEvent[]) => {
          calls++;
          if (calls <= failures) return Promise.reject(new Error("Durable Object reset"));
          return env.STREAM_HUB.get(id).publish(tenant, list);
        },
      }),
    };
    return { bindings: { ...env, STREAM_HUB: namespace as unknown as Env["STREAM_HUB"] }, calls: () => calls };
  };

  it("sends each tenant's events to its own object, and tries a failed call again", async () => {
    const a = newTenant();
    const b = newTenant();
    const hub = flaky(1);
    const list = [...events(a, 2), ...events(b, 1)];
    await streamSink.send(hub.bindings, list);
    expect(hub.calls()).toBe(3); // a (failed, then again) and b, in parallel
    expect(await buffer(a)).toEqual(list.slice(0, 2).map((e) => e.id));
    expect(await buffer(b)).toEqual([list[2]?.id]);
  });

  it("gives up after three attempts (publish() logs it; the commit stands)", async () => {
    const tenant = newTenant();
    const hub = flaky(3);
    await expect(streamSink.send(hub.bindings, events(tenant, 1))).rejects.toThrow("Durable Object reset");
    expect(hub.calls()).toBe(1 + SINK_RETRY_DELAYS_MS.length);
    expect(await buffer(tenant)).toEqual([]);
  });
});

describe("erasure", () => {
  it("forgetErased drops the buffered events of what an erasure covers (its customer's, its addresses') and nothing else", async () => {
    const tenant = newTenant();
    const customer = crypto.randomUUID();
    const theirs = events(tenant, 3, { customer_id: customer });
    // Another customer's message to one of the erasure's addresses, in a form the list would find it by.
    const byAddress = events(tenant, 1, {
      direction: "outbound",
      communication_details: { recipient: { phone: "+964 750 123 4567" } },
    });
    const others = events(tenant, 2);
    await publish(tenant, [...theirs, ...byAddress, ...others]);
    const erasure = {
      customerId: customer,
      addresses: ["+9647501234567"],
      cutoff: "ffffffff-ffff-7fff-bfff-ffffffffffff",
    };
    expect(await hubFor(env, tenant).forgetErased(erasure)).toBe(4);
    expect(await buffer(tenant)).toEqual(others.map((e) => e.id));
    // Created after the request (id not below the cutoff): kept.
    const later = events(tenant, 1, { customer_id: customer });
    await publish(tenant, later);
    expect(await hubFor(env, tenant).forgetErased({ ...erasure, cutoff: "00000000-0000-7000-8000-000000000000" })).toBe(
      0,
    );
  });
});

describe("matching (pure)", () => {
  const c = communication(newTenant(), {
    type: "sms",
    status: "delivered",
    direction: "inbound",
    delivery_id: crypto.randomUUID(),
    provider: "twilio",
    provider_message_id: "SM1",
  });
  it.each<[StreamFilters, boolean]>([
    [{}, true],
    [{ type: "sms" }, true],
    [{ type: "email" }, false],
    [{ status: "delivered" }, true],
    [{ status: "sent" }, false],
    [{ direction: "outbound" }, false],
    [{ customer_id: c.customer_id }, true],
    [{ customer_id: crypto.randomUUID() }, false],
    [{ delivery_id: c.delivery_id as string }, true],
    [{ delivery_id: crypto.randomUUID() }, false],
    [{ provider: "twilio", provider_message_id: "SM1" }, true],
    [{ provider_message_id: "SM2" }, false],
    [{ type: "sms", direction: "inbound", status: "delivered" }, true],
    [{ type: "sms", direction: "outbound" }, false],
  ])("%j matches: %s", (filters, expected) => {
    expect(matchesFilters(filters, c)).toBe(expected);
  });

  it("visibility: the tenant, and for a customer their own only", () => {
    expect(visibleIn({ tenantId: c.tenant_id }, c)).toBe(true);
    expect(visibleIn({ tenantId: newTenant() }, c)).toBe(false);
    expect(visibleIn({ tenantId: c.tenant_id, ownCustomerId: c.customer_id }, c)).toBe(true);
    expect(visibleIn({ tenantId: c.tenant_id, ownCustomerId: crypto.randomUUID() }, c)).toBe(false);
    expect(newEventId()).not.toBe(newEventId());
  });
});
