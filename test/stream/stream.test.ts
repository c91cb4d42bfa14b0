/**
 * The live stream as a client reads it (../shared/spec/events.md, The live
 * stream): its frames, who sees what side by side, the list's filters,
 * resuming with Last-Event-ID, the reset frame, keep-alives, and what an open
 * stream costs (no D1). Security and tickets: ./security.test.ts; the
 * Durable Object itself (buffer, restart): ./hub.test.ts.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { EVENT_ID } from "../../src/events/event";
import { KEEPALIVE_MS, RETRY_MS } from "../../src/stream/frames";
import { hubFor, type StreamHub } from "../../src/stream/hub";
import { call, callers, communicationBody, newTenant, qs } from "../support/helpers";
import { communicationIds, eventIds, type OpenedStream, openStream } from "../support/stream";

const opened: OpenedStream[] = [];
beforeEach(() => {
  vi.spyOn(console, "log").mockImplementation(() => undefined);
});
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
  vi.restoreAllMocks();
});

async function stream(query: string, token: string, headers?: Record<string, string>) {
  const s = await openStream(query, { token, headers });
  opened.push(s);
  expect(s.status, JSON.stringify(s.frames)).toBe(200);
  await s.until((f) => f.length >= 1); // the opening frame: the object holds the stream from here on
  return s;
}

async function create(token: string, overrides: Record<string, unknown> = {}) {
  const res = await call("", { method: "POST", token, body: communicationBody(overrides) });
  expect(res.status, res.text).toBe(201);
  return res.json.communication as Record<string, any>;
}

async function setStatus(token: string, id: string, status: string) {
  const res = await call(`/${id}`, {
    method: "PATCH",
    token,
    body: { status, occurred_at: new Date().toISOString() },
  });
  expect(res.status, res.text).toBe(200);
  return res.json.communication as Record<string, any>;
}

/** Events in the tenant's buffer (the object's own storage). */
const buffered = (tenant: string) =>
  runInDurableObject(
    hubFor(env, tenant),
    (_hub: StreamHub, state) => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM events").one().n,
  );

const eventCount = (n: number) => (frames: { event?: string }[]) => eventIds(frames as never).length >= n;

describe("the stream's frames", () => {
  it("text/event-stream: retry first, then id, event and data (the event JSON) per change; no D1 read to open it", async () => {
    const who = callers(newTenant());
    const admin = await who.admin();
    const s = await stream("", await who.viewer());
    expect(s.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(s.headers.get("cache-control")).toBe("no-store");
    expect(s.headers.get("x-request-id")).toBeTruthy();
    // Staff see the request's D1 figures: opening (and holding) a stream reads nothing.
    expect(s.headers.get("server-timing")).toContain('desc="0 queries, 0 rows read, 0 rows written"');
    expect(s.frames[0]).toEqual({ retry: RETRY_MS, comments: [] });

    const created = await create(admin);
    const changed = await setStatus(admin, created.id, "delivered");
    await s.until(eventCount(2));
    const [first, second] = s.frames.slice(1);
    expect(first?.id).toMatch(EVENT_ID);
    expect(first?.event).toBe("communication.created");
    expect(JSON.parse(first?.data ?? "")).toEqual({
      id: first?.id,
      type: "communication.created",
      timestamp: created.created_at,
      data: { communication: created },
    });
    expect(second?.event).toBe("communication.status_changed");
    expect(JSON.parse(second?.data ?? "")).toEqual({
      id: second?.id,
      type: "communication.status_changed",
      timestamp: changed.updated_at,
      data: { communication: changed, previous_status: "sent" },
    });
    expect((first?.id ?? "") < (second?.id ?? "")).toBe(true);
    // Every event frame matches the document's ChangeEvent schema (checked by events()).
    expect(s.events()).toHaveLength(2);
  });

  it("a keep-alive comment on every open stream, at least every 15 seconds", async () => {
    expect(KEEPALIVE_MS).toBeLessThanOrEqual(15_000);
    const tenant = newTenant();
    const who = callers(tenant);
    const staff = await stream("", await who.viewer());
    const customer = await stream("", await who.customer());
    // One round of the object's keep-alive timer, run now rather than waited for.
    await runInDurableObject(hubFor(env, tenant), (hub: StreamHub) => hub.keepAliveRound());
    for (const s of [staff, customer]) {
      await s.until((f) => f.some((x) => x.comments.includes("keep-alive")));
      expect(eventIds(s.frames)).toEqual([]);
    }
  });

  it("a client that leaves is forgotten by the object, at the latest on the next keep-alive", async () => {
    const tenant = newTenant();
    const s = await stream("", await callers(tenant).viewer());
    const hub = hubFor(env, tenant);
    expect(await hub.openStreams()).toBe(1);
    await s.close();
    // The write that finds the connection gone ends the stream in the object.
    await vi.waitFor(
      async () => {
        await runInDurableObject(hub, (h: StreamHub) => h.keepAliveRound());
        expect(await hub.openStreams()).toBe(0);
      },
      { timeout: 10_000, interval: 100 },
    );
  });
});

describe("who sees what", () => {
  it("a customer's and a staff stream side by side: staff see every change, each customer only their own", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const other = crypto.randomUUID();
    const admin = await who.admin();
    const staff = await stream("", await who.viewer());
    const mine = await stream("", await who.customer());
    const theirs = await stream("", await who.customer(other));

    const a = await create(admin, { customer_id: who.customerId });
    const b = await create(admin, { customer_id: other });
    const c = await create(admin, { customer_id: crypto.randomUUID() });
    await setStatus(admin, a.id, "read");
    const d = await create(admin, { customer_id: who.customerId, type: "email" });

    await staff.until(eventCount(5));
    await mine.until(eventCount(3));
    await theirs.until(eventCount(1));
    for (const s of [staff, mine, theirs]) await s.settle(300);
    // Order across communications is not guaranteed (events.md): compared sorted.
    const sorted = (ids: string[]) => [...ids].sort();
    expect(sorted(communicationIds(staff))).toEqual(sorted([a.id, b.id, c.id, a.id, d.id]));
    expect(sorted(communicationIds(mine))).toEqual(sorted([a.id, a.id, d.id]));
    expect(mine.events().map((e) => `${e.data.communication.id} ${e.type}`)).toEqual(
      expect.arrayContaining([
        `${a.id} communication.created`,
        `${a.id} communication.status_changed`,
        `${d.id} communication.created`,
      ]),
    );
    expect(communicationIds(theirs)).toEqual([b.id]);
  });

  it("a customer token identified by sub (no customer_id claim) streams that customer's communications", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const s = await stream("", await who.customerBySub());
    const admin = await who.admin();
    await create(admin);
    const own = await create(admin, { customer_id: who.customerId });
    await s.until(eventCount(1));
    await s.settle(200);
    expect(communicationIds(s)).toEqual([own.id]);
  });
});

describe("the list's filters", () => {
  it("each stream carries exactly the events whose communication, after the change, the list would return", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const admin = await who.admin();
    const viewer = await who.viewer();
    const delivery = crypto.randomUUID();
    const customer = crypto.randomUUID();
    const filters: Record<string, string>[] = [
      { type: "email" },
      { status: "delivered" },
      { direction: "inbound" },
      { delivery_id: delivery },
      { customer_id: customer },
      { provider: "twilio" },
      { type: "sms", direction: "outbound" },
      { provider: "sendgrid", provider_message_id: "sg-1" },
      // The search filters (issue 20), as the list reads them.
      { address: "+964 (750) 123-4567" },
      { q: "deliv* erbil" },
      { q: '"depot closure"', type: "sms" },
    ];
    const streams = await Promise.all(filters.map((f) => stream(qs(f), viewer)));
    const everything = await stream("", viewer);

    const made = [
      await create(admin, { type: "email", delivery_id: delivery }),
      await create(admin, { type: "sms", direction: "inbound", customer_id: customer }),
      await create(admin, { type: "sms", provider: "twilio", provider_message_id: `SM${crypto.randomUUID()}` }),
      await create(admin, { type: "push_notification", delivery_id: delivery, customer_id: customer }),
      await create(admin, { type: "email", provider: "sendgrid", provider_message_id: "sg-1" }),
      await create(admin, { type: "call", direction: "inbound" }),
      await create(admin, {
        type: "sms",
        content: "Erbil depot closure: your delivery comes on Monday",
        communication_details: { recipient: { phone: "+9647501234567" } },
      }),
      await create(admin, { type: "email", content: "Deliveries to Erbil resume", communication_details: {} }),
    ];
    // A status change moves a communication into the status filter: its event is sent there.
    await setStatus(admin, made[0]?.id, "delivered");
    await setStatus(admin, made[2]?.id, "delivered");
    const total = made.length + 2;
    await everything.until(eventCount(total));

    for (const [i, f] of filters.entries()) {
      const s = streams[i] as OpenedStream;
      await s.settle(200);
      const listed = await call(qs({ ...f, limit: 100 }), { token: viewer });
      const expected = new Set(listed.json.communications.map((c: { id: string }) => c.id));
      expect(expected.size, JSON.stringify(f)).toBeGreaterThan(0);
      expect(new Set(communicationIds(s)), JSON.stringify(f)).toEqual(expected);
    }
    // status=delivered got the two status changes, not the creates (sent at the time).
    expect(streams[1]?.events().map((e) => e.type)).toEqual([
      "communication.status_changed",
      "communication.status_changed",
    ]);
  });

  it("a malformed address or q is the list's 400, before the stream opens", async () => {
    const viewer = await callers(newTenant()).viewer();
    for (const query of [{ q: '"unclosed' }, { address: "9647501234567" }, { q: "d*" }]) {
      const listed = await call(qs(query), { token: viewer });
      const streamed = await call(`/stream${qs(query)}`, { token: viewer });
      expect(streamed.status, JSON.stringify(query)).toBe(400);
      expect(streamed.json.errors, JSON.stringify(query)).toEqual(listed.json.errors);
    }
  });

  it("empty filter values mean not given, as on the list", async () => {
    const who = callers(newTenant());
    const s = await stream("?type=&status=&customer_id=&language=en", await who.viewer());
    const made = await create(await who.admin(), { type: "call" });
    await s.until(eventCount(1));
    expect(communicationIds(s)).toEqual([made.id]);
  });
});

describe("resuming", () => {
  it("Last-Event-ID replays the later buffered events in order, then goes live", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const admin = await who.admin();
    const viewer = await who.viewer();
    const first = await stream("", viewer);
    const a = await create(admin);
    await first.until(eventCount(1));
    const seen = eventIds(first.frames)[0] as string;
    await first.close();

    // Missed while disconnected.
    const b = await create(admin);
    const c = await create(admin, { customer_id: who.customerId });
    // Both are in the object's buffer before the client comes back: what follows is a replay.
    await vi.waitFor(async () => expect(await buffered(tenant)).toBe(3), { timeout: 10_000, interval: 50 });

    const again = await stream("", viewer, { "last-event-id": seen });
    await again.until(eventCount(2));
    const d = await create(admin);
    await again.until(eventCount(3));
    await again.settle(200);
    expect(communicationIds(again)).toEqual([b.id, c.id, d.id]);
    expect(eventIds(again.frames)).not.toContain(seen);
    expect(again.frames.some((f) => f.event === "reset")).toBe(false);

    // The same with the query parameter, and for a customer: only their own replayed.
    const customer = await stream(`?last_event_id=${seen}`, await who.customer());
    await customer.until(eventCount(1));
    await customer.settle(200);
    expect(communicationIds(customer)).toEqual([c.id]);
    expect(a.id).toBeTruthy();
  });

  it("the header wins over the query parameter (EventSource sends the newer one on reconnect)", async () => {
    const who = callers(newTenant());
    const admin = await who.admin();
    const viewer = await who.viewer();
    const s = await stream("", viewer);
    await create(admin);
    await create(admin);
    const last = await create(admin);
    await s.until(eventCount(3));
    const [older, newer] = eventIds(s.frames);
    const resumed = await stream(`?last_event_id=${older}`, viewer, { "last-event-id": newer as string });
    await resumed.until(eventCount(1));
    await resumed.settle(200);
    expect(communicationIds(resumed)).toEqual([last.id]);
  });

  it("an id no longer buffered gets one reset frame (data {}, id of the newest buffered event), then live events", async () => {
    const who = callers(newTenant());
    const admin = await who.admin();
    const viewer = await who.viewer();
    const live = await stream("", viewer);
    await create(admin);
    await live.until(eventCount(1));
    const newest = eventIds(live.frames)[0];

    const unknown = `evt_${"0".repeat(32)}`;
    const s = await stream("", viewer, { "last-event-id": unknown });
    await s.until((f) => f.some((x) => x.event === "reset"));
    const made = await create(admin);
    await s.until(eventCount(1));
    await s.settle(200);
    const resets = s.frames.filter((f) => f.event === "reset");
    expect(resets).toEqual([{ id: newest, event: "reset", data: "{}", comments: [] }]);
    expect(s.frames.indexOf(resets[0] as never)).toBe(1); // right after the opening frame
    expect(communicationIds(s)).toEqual([made.id]);
  });

  it("a reset on a tenant with nothing buffered carries no id", async () => {
    const who = callers(newTenant());
    const s = await stream(`?last_event_id=evt_${"1".repeat(32)}`, await who.viewer());
    await s.until((f) => f.some((x) => x.event === "reset"));
    expect(s.frames[1]).toEqual({ event: "reset", data: "{}", comments: [] });
  });
});
