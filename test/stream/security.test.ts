/**
 * Who may open the live stream, and with what: the list's rules (a driver
 * gets 403, another tenant's events never appear), tickets for EventSource
 * (single use, 60 seconds, the caller's identity and visibility, their own
 * tenant only), a token that expires while its stream is open, the rate
 * limits, and bad input.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { translate } from "../../src/i18n/messages";
import { hubFor, type StreamHub } from "../../src/stream/hub";
import { parseTicket, secretHash } from "../../src/stream/tickets";
import { call, callers, communicationBody, newTenant, signToken } from "../support/helpers";
import { communicationIds, eventIds, type OpenedStream, openStream } from "../support/stream";

const opened: OpenedStream[] = [];
beforeEach(() => {
  vi.spyOn(console, "log").mockImplementation(() => undefined);
});
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
  vi.restoreAllMocks();
});

async function open(query: string, opts: Parameters<typeof openStream>[1] = {}) {
  const s = await openStream(query, opts);
  opened.push(s);
  return s;
}

async function live(query: string, opts: Parameters<typeof openStream>[1] = {}) {
  const s = await open(query, opts);
  expect(s.status).toBe(200);
  await s.until((f) => f.length >= 1);
  return s;
}

async function create(token: string, overrides: Record<string, unknown> = {}) {
  const res = await call("", { method: "POST", token, body: communicationBody(overrides) });
  expect(res.status, res.text).toBe(201);
  return res.json.communication as Record<string, any>;
}

async function ticketFor(token: string, query = "") {
  const res = await call(`/stream/tickets${query}`, { method: "POST", token });
  expect(res.status, res.text).toBe(201);
  return res.json as { ticket: string; expires_at: string };
}

const eventCount = (n: number) => (frames: { event?: string }[]) => eventIds(frames as never).length >= n;

describe("the list's rules", () => {
  it("a driver gets 403; no token 401; a bad token 401, all in the envelope, before anything is opened", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const driver = await call("/stream", { token: await who.driver() });
    expect(driver.status).toBe(403);
    expect(driver.json).toEqual({ success: false, message: translate("en", "forbidden") });
    const none = await call("/stream?language=fa");
    expect(none.status).toBe(401);
    expect(none.json.message).toBe(translate("fa", "unauthorized"));
    expect(none.headers.get("www-authenticate")).toContain("Bearer");
    const bad = await call("/stream", { token: "a.b.c" });
    expect(bad.status).toBe(401);
    expect(await hubFor(env, tenant).openStreams()).toBe(0);
  });

  it("a customer naming another customer gets 403; staff naming another tenant 403; a system administrator must name one", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const mismatch = await call(`/stream?customer_id=${crypto.randomUUID()}`, { token: await who.customer() });
    expect(mismatch.status).toBe(403);
    expect(mismatch.json.message).toBe(translate("en", "customer_mismatch"));
    const tenantMismatch = await call(`/stream?tenant_id=${newTenant()}`, { token: await who.viewer() });
    expect(tenantMismatch.status).toBe(403);
    expect(tenantMismatch.json.message).toBe(translate("en", "tenant_mismatch"));
    const admin = await call("/stream", { token: await who.systemAdmin() });
    expect(admin.status).toBe(400);
    expect(admin.json.errors).toEqual([
      { field: "tenant_id", message: translate("en", "field_tenant_required", { field: "tenant_id" }) },
    ]);

    const s = await live(`?tenant_id=${tenant}`, { token: await who.systemAdmin() });
    const made = await create(await who.admin());
    await s.until(eventCount(1));
    expect(communicationIds(s)).toEqual([made.id]);
  });

  it("another tenant's events never appear, even with the same customer id", async () => {
    const a = callers(newTenant());
    const b = callers(newTenant());
    const shared = a.customerId;
    const staffA = await live("", { token: await a.viewer() });
    const customerA = await live("", { token: await a.customer(shared) });
    const adminB = await b.admin();
    await create(adminB, { customer_id: shared });
    await create(adminB);
    // A's own change comes after B's: once A's streams have it, B's would have arrived before it.
    await vi.waitFor(async () => {
      const staffB = await call("?limit=1", { token: await b.viewer() });
      expect(staffB.json.total).toBe(2);
    });
    const own = await create(await a.admin(), { customer_id: shared });
    await staffA.until(eventCount(1));
    await customerA.until(eventCount(1));
    for (const s of [staffA, customerA]) {
      await s.settle(300);
      expect(communicationIds(s)).toEqual([own.id]);
    }
  });

  it.each([
    ["type=fax", "type"],
    ["status=lost", "status"],
    ["customer_id=not-a-uuid", "customer_id"],
    ["last_event_id=42", "last_event_id"],
  ])("bad input (%s) is a 400 naming %s", async (query, field) => {
    const res = await call(`/stream?${query}`, { token: await callers(newTenant()).viewer() });
    expect(res.status).toBe(400);
    expect(res.json.errors.map((e: { field: string }) => e.field)).toEqual([field]);
  });

  it("a malformed Last-Event-ID header is a 400 naming it", async () => {
    const res = await call("/stream", {
      token: await callers(newTenant()).viewer(),
      headers: { "last-event-id": "evt_<script>" },
    });
    expect(res.status).toBe(400);
    expect(res.json.errors.map((e: { field: string }) => e.field)).toEqual(["last-event-id"]);
  });
});

describe("tickets", () => {
  it("201 with a ticket valid 60 seconds; it opens the stream once, as its caller; reused, it is a 401", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const before = Date.now();
    const res = await call("/stream/tickets?language=ar", { method: "POST", token: await who.customer() });
    expect(res.status).toBe(201);
    expect(res.json.message).toBe(translate("ar", "stream_ticket_ok"));
    const { ticket, expires_at } = res.json;
    expect(parseTicket(ticket)?.tenantId).toBe(tenant);
    const ttl = Date.parse(expires_at) - before;
    expect(ttl).toBeGreaterThan(55_000);
    expect(ttl).toBeLessThanOrEqual(61_000);

    const s = await live(`?ticket=${ticket}`);
    const admin = await who.admin();
    await create(admin);
    const own = await create(admin, { customer_id: who.customerId });
    await s.until(eventCount(1));
    await s.settle(200);
    expect(communicationIds(s)).toEqual([own.id]); // the customer's visibility, not more

    const again = await call(`/stream?ticket=${ticket}&language=ku`);
    expect(again.status).toBe(401);
    expect(again.json).toEqual({ success: false, message: translate("ku", "ticket_invalid") });
    expect(again.headers.get("www-authenticate")).toBe('Bearer error="invalid_token"');
  });

  it("an expired ticket is a 401", async () => {
    const tenant = newTenant();
    const { ticket } = await ticketFor(await callers(tenant).viewer());
    const parsed = parseTicket(ticket);
    const hash = await secretHash(parsed?.secret as string);
    // Sixty seconds pass, in the object's storage.
    await runInDurableObject(hubFor(env, tenant), (_hub: StreamHub, state) => {
      state.storage.sql.exec("UPDATE tickets SET expires_at = ? WHERE hash = ?", Date.now() - 1, hash);
    });
    const res = await call(`/stream?ticket=${ticket}`);
    expect(res.status).toBe(401);
    expect(res.json.message).toBe(translate("en", "ticket_invalid"));
  });

  it("a ticket never outlives its token: issued for a token expiring in 2 s, it is refused after", async () => {
    const tenant = newTenant();
    const token = await signToken(
      { tenant_id: tenant, permissions: ["view:tenant"], role: "dispatcher" },
      { expiresIn: Math.floor(Date.now() / 1000) + 2 },
    );
    const { ticket, expires_at } = await ticketFor(token);
    expect(Date.parse(expires_at)).toBeLessThanOrEqual(Date.now() + 2_000);
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(expires_at) - Date.now()) + 100));
    const res = await call(`/stream?ticket=${ticket}`);
    expect(res.status).toBe(401);
    expect(res.json.message).toBe(translate("en", "ticket_invalid"));
  });

  it("a rewritten, malformed or unknown ticket is a 401; a ticket sent to another tenant is a 403", async () => {
    const a = newTenant();
    const b = newTenant();
    const { ticket } = await ticketFor(await callers(a).viewer());
    const secret = parseTicket(ticket)?.secret as string;
    const forged = `st_${b.replaceAll("-", "")}_${secret}`; // same secret, another tenant's object
    for (const bad of [forged, "st_123", `st_${a.replaceAll("-", "")}_${"0".repeat(64)}`, "x".repeat(5000)]) {
      const res = await call(`/stream?ticket=${encodeURIComponent(bad)}`);
      expect(res.status, bad.slice(0, 40)).toBe(401);
      expect(res.json.message).toBe(translate("en", "ticket_invalid"));
    }
    const mismatch = await call(`/stream?ticket=${ticket}&tenant_id=${b}`);
    expect(mismatch.status).toBe(403);
    expect(mismatch.json.message).toBe(translate("en", "tenant_mismatch"));
    // Refused for the wrong tenant, the ticket was still used up.
    expect((await call(`/stream?ticket=${ticket}`)).status).toBe(401);
  });

  it("a driver gets no ticket; without a token there is none; a system administrator's ticket streams the tenant named", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    expect((await call("/stream/tickets", { method: "POST", token: await who.driver() })).status).toBe(403);
    expect((await call("/stream/tickets", { method: "POST" })).status).toBe(401);
    const { ticket } = await ticketFor(await who.systemAdmin(), `?tenant_id=${tenant}`);
    expect(parseTicket(ticket)?.tenantId).toBe(tenant);
    const s = await live(`?ticket=${ticket}`);
    const made = await create(await who.admin());
    await s.until(eventCount(1));
    expect(communicationIds(s)).toEqual([made.id]);
  });

  it("a bearer token wins over a ticket sent beside it (the ticket is left unused)", async () => {
    const who = callers(newTenant());
    const viewer = await who.viewer();
    const { ticket } = await ticketFor(viewer);
    await live(`?ticket=${ticket}`, { token: viewer });
    await live(`?ticket=${ticket}`);
  });
});

describe("a token that expires while its stream is open", () => {
  it("ends the stream at its exp, with a last comment; a ticket's stream ends at its token's exp too", async () => {
    const tenant = newTenant();
    const exp = Math.floor(Date.now() / 1000) + 3;
    const claims = { tenant_id: tenant, permissions: ["view:tenant"], role: "dispatcher" };
    const token = await signToken(claims, { expiresIn: exp });
    const bearer = await live("", { token });
    const { ticket } = await ticketFor(await signToken(claims, { expiresIn: exp }));
    const byTicket = await live(`?ticket=${ticket}`);
    const other = await live("", { token: await callers(tenant).viewer() });

    for (const s of [bearer, byTicket]) {
      expect(await s.ended(30_000)).toBe(true);
      expect(s.frames.at(-1)?.comments).toEqual(["token expired"]);
    }
    // Ended at exp, not before (the clock of this runtime is the object's).
    expect(Date.now()).toBeGreaterThanOrEqual(exp * 1000);
    // The tenant's other streams go on.
    const made = await create(await callers(tenant).admin());
    await other.until(eventCount(1));
    expect(communicationIds(other)).toEqual([made.id]);
  });
});

describe("an object that cannot be reached", () => {
  it("is a 503 with Retry-After for the stream and the tickets, never a 500", async () => {
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    const failing = () => {
      throw new Error("Durable Object is overloaded");
    };
    const hub = { idFromName: () => ({}), get: () => ({ open: failing, issueTicket: failing, redeemTicket: failing }) };
    const bindings = { STREAM_HUB: hub as unknown as Env["STREAM_HUB"] };
    const viewer = await callers(newTenant()).viewer();
    for (const res of [
      await call("/stream", { token: viewer, env: bindings }),
      await call("/stream/tickets", { method: "POST", token: viewer, env: bindings }),
      await call(`/stream?ticket=st_${newTenant().replaceAll("-", "")}_${"a".repeat(64)}`, { env: bindings }),
    ]) {
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toBe("1");
      expect(res.json.message).toBe(translate("en", "db_unavailable"));
    }
  });
});

describe("rate limits", () => {
  /** A double of the RateLimit binding: records keys, answers as told. */
  function limiterDouble(allow: boolean) {
    const keys: string[] = [];
    const binding = {
      async limit({ key }: { key: string }) {
        keys.push(key);
        return { success: allow };
      },
    };
    return { binding: binding as unknown as RateLimit, keys };
  }

  it("opening a stream counts as one request in the caller's and the tenant's buckets; refused, it is a 429", async () => {
    const tenant = newTenant();
    const sub = crypto.randomUUID();
    const token = await signToken({ sub, tenant_id: tenant, role: "dispatcher", permissions: ["view:tenant"] });
    const user = limiterDouble(true);
    const tenantBucket = limiterDouble(true);
    const s = await live("", {
      token,
      env: { USER_RATE_LIMITER: user.binding, TENANT_RATE_LIMITER: tenantBucket.binding },
    });
    expect(s.headers.get("ratelimit-policy")).toContain('"user"');
    expect(user.keys).toEqual([`user:${sub}`]);
    expect(tenantBucket.keys).toEqual([`tenant:${tenant}`]);

    const refused = await call("/stream", { token, env: { USER_RATE_LIMITER: limiterDouble(false).binding } });
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("10");
  });
});
