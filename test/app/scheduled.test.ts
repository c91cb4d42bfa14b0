/**
 * The Worker's scheduled handler (wrangler.toml `triggers.crons`, hourly):
 * purges idempotency keys past their 24 hours, across all tenants, and
 * nothing else.
 */
import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  call,
  callers,
  communicationBody,
  countRows,
  countSql,
  newTenant,
  runScheduled,
  tenantShard,
} from "../support/helpers";

const HOUR = 60 * 60 * 1000;

const keys = (tenant: string) => countRows(tenant, "idempotency_keys");
const rows = (tenant: string) => countRows(tenant);

/** Creates a communication under `key` as if `hoursAgo` hours ago. */
async function createAt(tenant: string, key: string, hoursAgo: number) {
  vi.useFakeTimers({ toFake: ["Date"], now: Date.now() - hoursAgo * HOUR });
  try {
    const res = await call("", {
      method: "POST",
      token: await callers(tenant).admin(), // minted on the same clock
      body: communicationBody(),
      headers: { "idempotency-key": key },
    });
    expect(res.status, res.text).toBe(201);
  } finally {
    vi.useRealTimers();
  }
}

let log: ReturnType<typeof vi.spyOn>;
beforeEach(() => {
  log = vi.spyOn(console, "log").mockImplementation(() => undefined);
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

describe("scheduled purge of idempotency keys", () => {
  it("deletes keys older than 24 h in every tenant, keeps younger ones and all communications", async () => {
    const [a, b] = [newTenant(), newTenant()];
    await createAt(a, "a-old", 30);
    await createAt(a, "a-day-and-a-bit", 24.1);
    await createAt(a, "a-young", 23.5);
    await createAt(b, "b-old", 48);
    await createAt(b, "b-now", 0);

    await runScheduled();

    expect(await countSql("SELECT count(*) AS n FROM idempotency_keys WHERE tenant_id IN (?, ?)", a, b)).toBe(2);
    expect(await countSql("SELECT count(*) AS n FROM idempotency_keys WHERE key IN ('a-young', 'b-now')")).toBe(2);
    expect([await rows(a), await rows(b)]).toEqual([3, 2]);
    const line = log.mock.calls
      .map((c: unknown[]) => String(c[0]))
      .find((l: string) => l.includes("purged idempotency keys"));
    expect(line).toBeDefined();
    const parsed = JSON.parse(line as string);
    expect(parsed.deleted).toBeGreaterThanOrEqual(3); // other files' keys are isolated; this file's older ones count too
    expect(parsed.d1.rows_written).toBeGreaterThanOrEqual(3);
  });

  it("a second run finds nothing more to delete", async () => {
    const tenant = newTenant();
    await createAt(tenant, "once", 25);
    await runScheduled();
    log.mockClear();
    await runScheduled();
    const line = JSON.parse(String(log.mock.calls.find((c: unknown[]) => String(c[0]).includes("purged"))?.[0]));
    expect(line.deleted).toBe(0);
    expect(await keys(tenant)).toBe(0);
  });

  it("after the purge the key is free: the same key with another body creates a new communication", async () => {
    const tenant = newTenant();
    await createAt(tenant, "reuse-me", 26);
    await runScheduled();
    const res = await call("", {
      method: "POST",
      token: await callers(tenant).admin(),
      body: communicationBody({ content: "a different body" }),
      headers: { "idempotency-key": "reuse-me" },
    });
    expect(res.status).toBe(201);
    expect(res.headers.get("idempotent-replayed")).toBeNull();
    expect(await rows(tenant)).toBe(2);
    expect(await keys(tenant)).toBe(1);
  });

  it("when D1 is unavailable the run fails (recorded as a failed invocation; the next hour catches up)", async () => {
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    const failing = {
      withSession: () => failing,
      prepare: () => ({
        bind() {
          return this;
        },
        all: () => Promise.reject(new Error("D1_ERROR: D1 DB is overloaded. Too many requests queued.")),
        run: () => Promise.reject(new Error("D1_ERROR: D1 DB is overloaded. Too many requests queued.")),
      }),
      batch: () => Promise.reject(new Error("D1_ERROR: D1 DB is overloaded. Too many requests queued.")),
    };
    const down = failing as unknown as D1Database;
    await expect(runScheduled({ ...env, SHARD_0: down, SHARD_1: down })).rejects.toThrow();
  });
});

describe("the hourly purges and a tenant being moved (issue 16, item 2)", () => {
  it("leave a fenced tenant's expired keys and kept events, purge everyone else's, and report only what went", async () => {
    const [moving, other] = [newTenant(), newTenant()];
    await createAt(moving, "m-old", 30);
    await createAt(other, "o-old", 30);
    const shard = await tenantShard(moving);
    const otherShard = await tenantShard(other);
    const oldEvent = (tenant: string) =>
      [
        tenant,
        "twilio",
        `SM${crypto.randomUUID()}`,
        "k",
        "{}",
        new Date(Date.now() - 8 * 24 * HOUR).toISOString(),
      ] as const;
    for (const [db, tenant] of [
      [shard, moving],
      [otherShard, other],
    ] as const) {
      await db
        .prepare("INSERT INTO pending_provider_events VALUES (?, ?, ?, ?, ?, ?)")
        .bind(...oldEvent(tenant))
        .run();
    }
    await shard
      .prepare("INSERT INTO tenant_fences (tenant_id, move_id, created_at) VALUES (?, 'm', ?)")
      .bind(moving, new Date().toISOString())
      .run();
    try {
      await runScheduled();
      expect(await keys(moving)).toBe(1);
      expect(await keys(other)).toBe(0);
      const kept = (tenant: string) =>
        countSql("SELECT count(*) AS n FROM pending_provider_events WHERE tenant_id = ?", tenant);
      expect(await kept(moving)).toBe(1);
      expect(await kept(other)).toBe(0);
      const purged = log.mock.calls
        .map((c: unknown[]) => String(c[0]))
        .filter((l: string) => l.includes("purged idempotency keys"))
        .map((l: string) => JSON.parse(l));
      expect(purged.at(-1)?.deleted).toBeGreaterThanOrEqual(1);
    } finally {
      await shard.prepare("DELETE FROM tenant_fences WHERE tenant_id = ?").bind(moving).run();
    }
  });
});
