import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { EXPECTED_BY_TEST } from "../support/expected-output";
import {
  call,
  callers,
  communicationBody,
  countRows,
  countSql,
  newTenant,
  runScheduled,
  shardOf,
  tenantShard,
} from "../support/helpers";

const DAY_MS = 24 * 60 * 60 * 1000;

const rowCount = (tenantId: string) => countRows(tenantId);
const keyCount = (tenantId: string, key?: string) =>
  key === undefined
    ? countRows(tenantId, "idempotency_keys")
    : countSql("SELECT count(*) AS n FROM idempotency_keys WHERE tenant_id = ? AND key = ?", tenantId, key);

/** Same fields and values, object keys in reverse order at every level. */
function reverseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value)
        .reverse()
        .map(([k, v]) => [k, reverseKeys(v)]),
    );
  }
  return value;
}

const post = (token: string, key: string | undefined, body: unknown, query = "") =>
  call(query, { method: "POST", token, body, headers: key === undefined ? {} : { "Idempotency-Key": key } });

describe("Idempotency-Key on create", () => {
  let log: ReturnType<typeof vi.spyOn>;
  beforeEach(() => {
    log = vi.spyOn(console, "log").mockImplementation(() => undefined);
  });
  afterEach(() => {
    log.mockRestore();
    vi.useRealTimers();
  });

  it("same key and same body returns the original response and creates one row", async () => {
    const tenant = newTenant();
    const token = await callers(tenant).admin();
    const body = communicationBody();
    const first = await post(token, "order-1234-sms", body);
    expect(first.status, first.text).toBe(201);
    expect(first.headers.get("idempotent-replayed")).toBeNull();

    const again = await post(token, "order-1234-sms", body);
    expect(again.status, again.text).toBe(201);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.json.communication).toEqual(first.json.communication);
    expect(await rowCount(tenant)).toBe(1);
  });

  it("the same body with its keys in another order is the same request", async () => {
    const tenant = newTenant();
    const token = await callers(tenant).admin();
    const body = communicationBody({
      communication_details: {
        recipient: { phone: "+19876543210", name: "John Doe" },
        template_variables: { a: 1, b: [{ x: 1, y: 2 }] },
      },
    });
    const first = await post(token, "reordered", body);
    expect(first.status, first.text).toBe(201);
    const reordered = reverseKeys(body);
    expect(JSON.stringify(reordered)).not.toBe(JSON.stringify(body));
    const again = await post(token, "reordered", reordered);
    expect(again.status, again.text).toBe(201);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.json.communication.id).toBe(first.json.communication.id);
    expect(await rowCount(tenant)).toBe(1);
  });

  it("a replay by another user of the same tenant still returns the original", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const body = communicationBody();
    const first = await post(await who.admin(), "shared-relay-key", body);
    const again = await post(await who.admin(), "shared-relay-key", body);
    expect(again.status).toBe(201);
    expect(again.json.communication).toEqual(first.json.communication);
    expect(await rowCount(tenant)).toBe(1);
  });

  it.each([
    ["en", "This Idempotency-Key was already used with a different request"],
    ["ar", "تم استخدام مفتاح Idempotency-Key هذا مسبقًا مع طلب مختلف"],
  ])("same key with a different body is a 409 (%s) and creates nothing", async (language, message) => {
    const tenant = newTenant();
    const token = await callers(tenant).admin();
    const body = communicationBody();
    expect((await post(token, "k-409", body)).status).toBe(201);
    const other = await post(token, "k-409", { ...body, content: "something else" }, `?language=${language}`);
    expect(other.status, other.text).toBe(409);
    expect(other.json).toEqual({ success: false, message });
    expect(other.headers.get("idempotent-replayed")).toBeNull();
    expect(await rowCount(tenant)).toBe(1);
  });

  it("omitting a default and writing it out are the same request (the hash is of the validated body)", async () => {
    const tenant = newTenant();
    const token = await callers(tenant).admin();
    const { direction: _d, status: _s, ...withoutDefaults } = communicationBody();
    const first = await post(token, "defaults", withoutDefaults);
    expect(first.status).toBe(201);
    const explicit = await post(token, "defaults", { ...withoutDefaults, direction: "outbound", status: "sent" });
    expect(explicit.status).toBe(201);
    expect(explicit.headers.get("idempotent-replayed")).toBe("true");
    expect(await rowCount(tenant)).toBe(1);
  });

  it("the same key in another tenant is independent", async () => {
    const [a, b] = [newTenant(), newTenant()];
    const body = communicationBody();
    const inA = await post(await callers(a).admin(), "same-key", body);
    const inB = await post(await callers(b).admin(), "same-key", body);
    expect(inA.status).toBe(201);
    expect(inB.status).toBe(201);
    expect(inB.headers.get("idempotent-replayed")).toBeNull();
    expect(inB.json.communication.id).not.toBe(inA.json.communication.id);
    expect(inB.json.communication.tenant_id).toBe(b);
    // A different body in the other tenant is not a conflict either.
    const otherBody = await post(await callers(b).admin(), "same-key-2", communicationBody());
    expect(otherBody.status).toBe(201);
    expect(await rowCount(a)).toBe(1);
    expect(await rowCount(b)).toBe(2);
  });

  it("a system administrator's key is scoped to the tenant named in the query", async () => {
    const [a, b] = [newTenant(), newTenant()];
    const admin = await callers(a).systemAdmin();
    const body = communicationBody();
    const inA = await post(admin, "sysadmin-key", body, `?tenant_id=${a}`);
    const inB = await post(admin, "sysadmin-key", body, `?tenant_id=${b}`);
    expect([inA.status, inB.status]).toEqual([201, 201]);
    expect(inB.headers.get("idempotent-replayed")).toBeNull();
    expect(inB.json.communication.tenant_id).toBe(b);
  });

  it("concurrent requests with one key create exactly one row", async () => {
    const tenant = newTenant();
    const token = await callers(tenant).admin();
    const body = communicationBody();
    const results = await Promise.all(Array.from({ length: 12 }, () => post(token, "burst-key", body)));
    for (const r of results) expect(r.status, r.text).toBe(201);
    const ids = new Set(results.map((r) => r.json.communication.id));
    expect(ids.size).toBe(1);
    expect(results.filter((r) => r.headers.get("idempotent-replayed") === "true")).toHaveLength(11);
    expect(await rowCount(tenant)).toBe(1);
    expect(await keyCount(tenant)).toBe(1);
  });

  it("concurrent requests with one key and different bodies: one wins, the rest are 409", async () => {
    const tenant = newTenant();
    const token = await callers(tenant).admin();
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => post(token, "racing-bodies", communicationBody({ content: `body ${i}` }))),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(7);
    expect(await rowCount(tenant)).toBe(1);
  });

  it("requests without a key are never deduplicated", async () => {
    const tenant = newTenant();
    const token = await callers(tenant).admin();
    const body = communicationBody();
    await post(token, undefined, body);
    await post(token, undefined, body);
    expect(await rowCount(tenant)).toBe(2);
    expect(await keyCount(tenant)).toBe(0);
  });

  it("an empty key means no key", async () => {
    const tenant = newTenant();
    const token = await callers(tenant).admin();
    const res = await post(token, "", communicationBody());
    expect(res.status, res.text).toBe(201);
    expect(await keyCount(tenant)).toBe(0);
  });

  it("accepts a 255-character key", async () => {
    const tenant = newTenant();
    const res = await post(await callers(tenant).admin(), "k".repeat(255), communicationBody());
    expect(res.status, res.text).toBe(201);
    expect(await keyCount(tenant, "k".repeat(255))).toBe(1);
  });

  it.each([
    ["256 characters", "k".repeat(256)],
    ["10,000 characters", "k".repeat(10_000)],
    ["a space", "has space"],
    ["a control character", "tab\there"],
  ])("refuses a key with %s: 400, nothing created", async (_name, key) => {
    const tenant = newTenant();
    const res = await post(await callers(tenant).admin(), key, communicationBody());
    expect(res.status, res.text).toBe(400);
    expect(res.json.success).toBe(false);
    expect(res.json.errors).toEqual([expect.objectContaining({ field: "idempotency-key" })]);
    expect(await rowCount(tenant)).toBe(0);
    expect(await keyCount(tenant)).toBe(0);
  });

  it("refuses a non-ASCII key: 400", async () => {
    const tenant = newTenant();
    // workerd warns about the non-ASCII header value on stderr; the tag marks the warning as expected.
    const res = await post(await callers(tenant).admin(), `cl\u00e9-${EXPECTED_BY_TEST}`, communicationBody());
    expect(res.status, res.text).toBe(400);
    expect(await rowCount(tenant)).toBe(0);
  });

  it("an invalid body with a key stores no key, so the key can then be used", async () => {
    const tenant = newTenant();
    const token = await callers(tenant).admin();
    const bad = await post(token, "after-400", communicationBody({ type: "fax" }));
    expect(bad.status).toBe(400);
    expect(await keyCount(tenant)).toBe(0);
    const good = await post(token, "after-400", communicationBody());
    expect(good.status).toBe(201);
    expect(good.headers.get("idempotent-replayed")).toBeNull();
  });

  it("a caller refused by access control never learns whether a key exists", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const body = communicationBody();
    await post(await who.admin(), "secret-key", body);
    for (const token of [await who.driver(), await who.customer(), await who.viewer()]) {
      const res = await post(token, "secret-key", body);
      expect(res.status).toBe(403);
      expect(res.json.communication).toBeUndefined();
    }
  });
});

describe("expiry and the scheduled purge", () => {
  let log: ReturnType<typeof vi.spyOn>;
  beforeEach(() => {
    log = vi.spyOn(console, "log").mockImplementation(() => undefined);
  });
  afterEach(() => {
    log.mockRestore();
    vi.useRealTimers();
  });

  it("the cron purges keys older than 24 h and keeps younger ones; a purged key can be reused", async () => {
    const tenant = newTenant();
    const token = await callers(tenant).admin();
    const body = communicationBody();
    const old = await post(token, "old-key", body);
    expect(old.status).toBe(201);

    // 23 hours later: a fresh key is written, and the purge keeps both.
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 23 * 60 * 60 * 1000 });
    const fresh = await post(await callers(tenant).admin(), "fresh-key", communicationBody());
    expect(fresh.status).toBe(201);
    await runScheduled();
    expect(await keyCount(tenant, "old-key")).toBe(1);
    expect(await keyCount(tenant, "fresh-key")).toBe(1);

    // 24 h 1 min after the first create: the old key is past its TTL.
    vi.setSystemTime(Date.now() + 61 * 60 * 1000);
    await runScheduled();
    expect(await keyCount(tenant, "old-key")).toBe(0);
    expect(await keyCount(tenant, "fresh-key")).toBe(1);
    expect(log).toHaveBeenCalledWith(expect.stringContaining('"msg":"purged idempotency keys"'));

    // The key is free again: a different body under it is a new communication, not a 409.
    const reused = await post(await callers(tenant).admin(), "old-key", communicationBody({ content: "new" }));
    expect(reused.status, reused.text).toBe(201);
    expect(reused.headers.get("idempotent-replayed")).toBeNull();
    expect(reused.json.communication.id).not.toBe(old.json.communication.id);
    expect(await rowCount(tenant)).toBe(3);
  });

  it("an expired key that the cron has not purged yet is reusable too", async () => {
    const tenant = newTenant();
    const body = communicationBody();
    const first = await post(await callers(tenant).admin(), "stale-key", body);
    expect(first.status).toBe(201);

    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + DAY_MS + 1000 });
    const token = await callers(tenant).admin(); // minted on the faked clock
    const same = await post(token, "stale-key", body);
    expect(same.status, same.text).toBe(201);
    expect(same.headers.get("idempotent-replayed")).toBeNull();
    expect(same.json.communication.id).not.toBe(first.json.communication.id);
    expect(await keyCount(tenant, "stale-key")).toBe(1);
    // ...and from then on it deduplicates again.
    const replay = await post(token, "stale-key", body);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.json.communication.id).toBe(same.json.communication.id);
    expect(await rowCount(tenant)).toBe(2);
  });

  it("the purge leaves communications alone", async () => {
    const tenant = newTenant();
    await post(await callers(tenant).admin(), "purge-keeps-rows", communicationBody());
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 2 * DAY_MS });
    await runScheduled();
    expect(await keyCount(tenant)).toBe(0);
    expect(await rowCount(tenant)).toBe(1);
  });
});

describe("the same request, the race, and a vanished record (issue 11)", () => {
  beforeEach(() => {
    vi.spyOn(console, "log").mockImplementation(() => undefined);
    vi.spyOn(console, "error").mockImplementation(() => undefined);
  });
  afterEach(() => vi.restoreAllMocks());

  it.each([
    ["delivery_id", { delivery_id: null }, { delivery_id: undefined }],
    ["content", { content: null }, { content: undefined }],
    ["both, the other way round", { delivery_id: undefined, content: undefined }, { delivery_id: null, content: null }],
  ])("%s: null and absent are the same request (a replay, not a 409)", async (_name, first, second) => {
    const tenant = newTenant();
    const admin = await callers(tenant).admin();
    const key = crypto.randomUUID();
    const body = communicationBody();
    const a = await post(admin, key, { ...body, ...first });
    const b = await post(admin, key, { ...body, ...second });
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(b.headers.get("idempotent-replayed")).toBe("true");
    expect(b.json.communication).toEqual(a.json.communication);
    expect(await rowCount(tenant)).toBe(1);
  });

  it("an explicit value still differs from null: 409", async () => {
    const admin = await callers(newTenant()).admin();
    const key = crypto.randomUUID();
    const body = communicationBody({ delivery_id: null });
    expect((await post(admin, key, body)).status).toBe(201);
    expect((await post(admin, key, { ...body, delivery_id: crypto.randomUUID() })).status).toBe(409);
  });

  /**
   * The real local D1, except that reads of idempotency_keys in the sessions
   * `stale(n)` picks (n counts sessions opened, from 1) answer as a replica
   * that has not seen the other request's record yet: no rows.
   */
  function lagging(real: D1Database, stale: (n: number) => boolean) {
    let opened = 0;
    const staleSession = (session: D1DatabaseSession) => ({
      prepare(sql: string) {
        if (!/^\s*select[\s\S]*from "idempotency_keys"/i.test(sql)) return session.prepare(sql);
        const empty = {
          bind: () => empty,
          all: async () => ({ results: [], success: true, meta: { rows_read: 0, rows_written: 0, duration: 0 } }),
        };
        return empty;
      },
      batch: (statements: D1PreparedStatement[]) => session.batch(statements),
      getBookmark: () => session.getBookmark(),
    });
    return {
      withSession(constraint?: string) {
        opened++;
        const session = real.withSession(constraint as D1SessionConstraint);
        return stale(opened) ? staleSession(session) : session;
      },
    } as unknown as D1Database;
  }

  it("the losing side of a race reads the winner's record from the primary: a replay, not a 500", async () => {
    const tenant = newTenant();
    const admin = await callers(tenant).admin();
    const key = crypto.randomUUID();
    const body = communicationBody();
    const winner = await post(admin, key, body);
    expect(winner.status).toBe(201);
    // The loser's own session (the first opened) lags; a session started at the primary does not.
    const loser = await call("", {
      method: "POST",
      token: admin,
      body,
      headers: { "Idempotency-Key": key },
      env: { [(await shardOf(tenant)) as string]: lagging(await tenantShard(tenant), (n) => n === 1) },
    });
    expect(loser.status, loser.text).toBe(201);
    expect(loser.headers.get("idempotent-replayed")).toBe("true");
    expect(loser.json.communication).toEqual(winner.json.communication);
    expect(await rowCount(tenant)).toBe(1);
  });

  it("a record that vanished between the conflict and the read: 503 with Retry-After, nothing written", async () => {
    const tenant = newTenant();
    const admin = await callers(tenant).admin();
    const key = crypto.randomUUID();
    const body = communicationBody();
    expect((await post(admin, key, body)).status).toBe(201);
    const res = await call("", {
      method: "POST",
      token: admin,
      body,
      headers: { "Idempotency-Key": key },
      env: { [(await shardOf(tenant)) as string]: lagging(await tenantShard(tenant), () => true) },
    });
    expect(res.status, res.text).toBe(503);
    expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(res.json).toEqual({
      success: false,
      message: "The service is temporarily unavailable, please try again later",
    });
    expect(await rowCount(tenant)).toBe(1);
  });
});
