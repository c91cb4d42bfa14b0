/**
 * The Worker's scheduled handler (wrangler.toml `triggers.crons`, hourly):
 * purges idempotency keys past their 24 hours, across all tenants, and
 * nothing else.
 */
import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { call, callers, communicationBody, countRows, countSql, newTenant, runScheduled } from "../support/helpers";

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
