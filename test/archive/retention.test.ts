/**
 * Retention (issue 12): with RETENTION_DAYS set, the scheduled job archives
 * communications older than that, with their events, to R2 as NDJSON, one
 * object per tenant per UTC day, verified before the rows leave D1; totals
 * follow. Staff download a day from /archive/{YYYY-MM-DD}.
 */
import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ARCHIVE_PART_BYTES, archiveKey } from "../../src/archive/retention";
import { call, callers, communicationBody, newTenant, runScheduled, tenantShard } from "../support/helpers";

const DAY = 86_400_000;
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

beforeEach(() => {
  vi.spyOn(console, "log").mockImplementation(() => undefined);
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

/** Creates (and optionally delivers) a communication as if at `at`. */
async function createAt(tenant: string, at: number, deliver = false) {
  vi.useFakeTimers({ toFake: ["Date"], now: at });
  try {
    const admin = await callers(tenant).admin();
    const res = await call("", { method: "POST", token: admin, body: communicationBody() });
    expect(res.status, res.text).toBe(201);
    if (deliver) {
      const patched = await call(`/${res.json.communication.id}`, {
        method: "PATCH",
        token: admin,
        body: { status: "delivered", occurred_at: new Date(at).toISOString() },
      });
      expect(patched.status).toBe(200);
    }
    return res.json.communication as { id: string; status: string };
  } finally {
    vi.useRealTimers();
  }
}

const withRetention = (days: string): Env => ({ ...env, RETENTION_DAYS: days });

const count = async (tenant: string, table: string) =>
  (
    await (
      await tenantShard(tenant)
    )
      .prepare(`SELECT count(*) AS n FROM ${table} WHERE tenant_id = ?`)
      .bind(tenant)
      .first<{ n: number }>()
  )?.n ?? 0;

describe("retention archive", () => {
  it("archives days older than RETENTION_DAYS with their events, deletes them, keeps totals right; staff download them", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const now = Date.now();
    const oldDay = Math.floor((now - 40 * DAY) / DAY) * DAY + 3_600_000;
    const a = await createAt(tenant, oldDay, true);
    const b = await createAt(tenant, oldDay + 60_000);
    const c = await createAt(tenant, oldDay - DAY); // the day before
    const young = await createAt(tenant, now - 2 * DAY, true);

    await runScheduled(withRetention("30"));

    // D1 keeps only the young one; totals agree.
    expect(await count(tenant, "communications")).toBe(1);
    expect(await count(tenant, "communication_events")).toBe(1);
    const list = await call("?limit=10", { token: await who.viewer() });
    expect(list.json.total).toBe(1);
    expect(list.json.communications.map((x: { id: string }) => x.id)).toEqual([young.id]);
    const delivered = await call("?status=delivered&limit=1", { token: await who.viewer() });
    expect(delivered.json.total).toBe(1);
    expect((await call(`/${a.id}`, { token: await who.viewer() })).status).toBe(404);

    // The archive: one object per day, one line per communication, events included.
    const res = await call(`/archive/${day(oldDay)}`, { token: await who.viewer() });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("application/x-ndjson");
    const lines = res.text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.id)).toEqual([a.id, b.id]);
    expect(lines[0]).toMatchObject({ id: a.id, tenant_id: tenant, status: "delivered" });
    expect(lines[0].events).toHaveLength(1);
    expect(lines[0].events[0]).toMatchObject({ communication_id: a.id, from_status: "sent", status: "delivered" });
    expect(lines[1].events).toEqual([]);
    const before = await call(`/archive/${day(oldDay - DAY)}`, { token: await who.admin() });
    expect(
      before.text
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).id),
    ).toEqual([c.id]);

    // A second run finds nothing more; the archive is unchanged.
    await runScheduled(withRetention("30"));
    expect((await call(`/archive/${day(oldDay)}`, { token: await who.viewer() })).text).toBe(res.text);
  });

  it("404 for a day without an archive, another tenant's day, and a bad date is 400", async () => {
    const tenant = newTenant();
    const oldDay = Math.floor((Date.now() - 50 * DAY) / DAY) * DAY;
    await createAt(tenant, oldDay + 1000);
    await runScheduled(withRetention("30"));
    const viewer = await callers(tenant).viewer();
    expect((await call(`/archive/${day(oldDay)}`, { token: viewer })).status).toBe(200);
    const none = await call(`/archive/${day(oldDay + DAY)}?language=fa`, { token: viewer });
    expect(none.status).toBe(404);
    expect(none.json.message).toBe("برای آن روز هیچ ارتباط بایگانی‌شده‌ای وجود ندارد");
    const stranger = await call(`/archive/${day(oldDay)}`, { token: await callers(newTenant()).viewer() });
    expect(stranger.status).toBe(404);
    for (const bad of ["2026-02-30", "yesterday", "2026-1-01"]) {
      expect((await call(`/archive/${bad}`, { token: viewer })).status).toBe(400);
    }
  });

  it("is for the tenant's staff: customers 403, no token 401, a system administrator names the tenant", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const oldDay = Math.floor((Date.now() - 45 * DAY) / DAY) * DAY;
    await createAt(tenant, oldDay + 5000);
    await runScheduled(withRetention("30"));
    expect((await call(`/archive/${day(oldDay)}`, { token: await who.customer() })).status).toBe(403);
    expect((await call(`/archive/${day(oldDay)}`)).status).toBe(401);
    expect((await call(`/archive/${day(oldDay)}`, { token: await who.systemAdmin() })).status).toBe(400);
    const admin = await call(`/archive/${day(oldDay)}?tenant_id=${tenant}`, { token: await who.systemAdmin() });
    expect(admin.status).toBe(200);
  });

  it("a day cut short after part of it was deleted loses nothing: the rest is merged into the archive", async () => {
    const tenant = newTenant();
    const oldDay = Math.floor((Date.now() - 60 * DAY) / DAY) * DAY;
    const first = await createAt(tenant, oldDay + 1000);
    const second = await createAt(tenant, oldDay + 2000);
    // As if an earlier run archived `first` only, then stopped.
    const line = (await call(`/${first.id}`, { token: await callers(tenant).viewer() })).json.communication;
    await env.ARCHIVE.put(archiveKey(tenant, day(oldDay)), `${JSON.stringify({ ...line, events: [] })}\n`);
    await (await tenantShard(tenant))
      .prepare("DELETE FROM communications WHERE tenant_id = ? AND id = ?")
      .bind(tenant, first.id)
      .run();
    await runScheduled(withRetention("30"));
    const res = await call(`/archive/${day(oldDay)}`, { token: await callers(tenant).viewer() });
    expect(
      res.text
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).id),
    ).toEqual([first.id, second.id]);
    expect(await count(tenant, "communications")).toBe(0);
    const totals = await (await tenantShard(tenant))
      .prepare("SELECT coalesce(sum(n), 0) AS n FROM communication_totals WHERE tenant_id = ?")
      .bind(tenant)
      .first<{ n: number }>();
    expect(totals?.n).toBe(0);
  });

  it("costs a bounded number of rows read and written per communication archived (SCALING.md)", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    const tenant = newTenant();
    const oldDay = Math.floor((Date.now() - 70 * DAY) / DAY) * DAY;
    const n = 12;
    for (let i = 0; i < n; i++) await createAt(tenant, oldDay + i * 60_000, i % 2 === 0);
    log.mockClear();
    await runScheduled(withRetention("30"));
    const line = log.mock.calls.map((c) => String(c[0])).find((l) => l.includes('"retention archive"'));
    const parsed = JSON.parse(line as string);
    // Other tests' old days in this file may be archived by the same run: count what this run archived.
    const archived = parsed.archived as number;
    expect(archived).toBeGreaterThanOrEqual(n);
    const per = { read: parsed.d1.rows_read / archived, written: parsed.d1.rows_written / archived };
    console.info(
      `retention: ${archived} communications (${parsed.days} tenant-days) archived: ${parsed.d1.rows_read} rows read, ${parsed.d1.rows_written} rows written; per communication ${per.read.toFixed(1)} read, ${per.written.toFixed(1)} written`,
    );
    // D1 counts a delete once per row (not per index entry): the communication, the
    // totals update of its delete trigger, its events (here one for every other one),
    // and its search document: the number row and the FTS5 document (migrations/0007_search.sql).
    expect(per.written).toBeLessThanOrEqual(3 + 2);
    expect(per.written).toBeGreaterThanOrEqual(2 + 2);
    expect(per.read).toBeLessThan(20);
  });

  it("a tenant whose move began during the run: the fence refuses the delete, the day stays in D1, uncounted (issue 16)", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    const tenant = newTenant();
    const oldDay = Math.floor((Date.now() - 80 * DAY) / DAY) * DAY;
    const kept = await createAt(tenant, oldDay + 1000);
    // A fence without a move row: the move started after the run read the moves table.
    const shard = await tenantShard(tenant);
    await shard
      .prepare("INSERT INTO tenant_fences (tenant_id, move_id, created_at) VALUES (?, 'm', ?)")
      .bind(tenant, new Date().toISOString())
      .run();
    try {
      log.mockClear();
      await runScheduled(withRetention("30"));
      expect(await count(tenant, "communications")).toBe(1);
      const warned = warn.mock.calls.map((c) => JSON.parse(String(c[0])));
      expect(warned).toContainEqual(
        expect.objectContaining({ msg: "retention: tenant being moved, skipped", tenant_id: tenant }),
      );
      const line = JSON.parse(
        String(log.mock.calls.map((c) => String(c[0])).find((l) => l.includes('"retention archive"'))),
      );
      expect(line.archived).toBe(0);
    } finally {
      await shard.prepare("DELETE FROM tenant_fences WHERE tenant_id = ?").bind(tenant).run();
    }
    // After the move (here: the fence lifted), the next run archives the day.
    await runScheduled(withRetention("30"));
    expect(await count(tenant, "communications")).toBe(0);
    const res = await call(`/archive/${day(oldDay)}`, { token: await callers(tenant).viewer() });
    expect(
      res.text
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).id),
    ).toEqual([kept.id]);
  });

  it("streams a day larger than one R2 part: written part by part (never a whole-day body), read back whole", async () => {
    const tenant = newTenant();
    const oldDay = Math.floor((Date.now() - 90 * DAY) / DAY) * DAY;
    // 60 communications of ~100 KB: a ~6 MB day, more than one 5 MiB part.
    const content = "x".repeat(99_000);
    const admin = await callers(tenant).admin();
    const ids: string[] = [];
    vi.useFakeTimers({ toFake: ["Date"], now: oldDay + 1000 });
    try {
      const token = await callers(tenant).admin();
      for (let i = 0; i < 60; i++) {
        vi.setSystemTime(oldDay + 1000 + i * 1000);
        const res = await call("", { method: "POST", token, body: communicationBody({ content: `${i}:${content}` }) });
        expect(res.status, res.text).toBe(201);
        ids.push(res.json.communication.id);
      }
    } finally {
      vi.useRealTimers();
    }
    // The first third was archived by an earlier run that stopped before deleting the rest.
    const key = archiveKey(tenant, day(oldDay));
    const earlier = [];
    for (const id of ids.slice(0, 20)) {
      earlier.push(JSON.stringify({ ...(await call(`/${id}`, { token: admin })).json.communication, events: [] }));
    }
    await env.ARCHIVE.put(key, `${earlier.join("\n")}\n`);
    await (await tenantShard(tenant))
      .prepare(
        `DELETE FROM communications WHERE tenant_id = ? AND id IN (${ids
          .slice(0, 10)
          .map(() => "?")
          .join(",")})`,
      )
      .bind(tenant, ...ids.slice(0, 10))
      .run();

    // Every body handed to R2, by size.
    const sizes: { call: string; bytes: number }[] = [];
    const size = (v: unknown) =>
      typeof v === "string" ? new TextEncoder().encode(v).byteLength : ((v as ArrayBufferView)?.byteLength ?? 0);
    const bucket = new Proxy(env.ARCHIVE, {
      get(target, prop) {
        const value = Reflect.get(target, prop);
        if (prop === "put")
          return (k: string, v: unknown, o?: R2PutOptions) => {
            sizes.push({ call: "put", bytes: size(v) });
            return target.put(k, v as string, o);
          };
        if (prop === "createMultipartUpload")
          return async (k: string, o?: R2MultipartOptions) => {
            const upload = await target.createMultipartUpload(k, o);
            return {
              key: upload.key,
              uploadId: upload.uploadId,
              uploadPart: (n: number, v: ArrayBufferView) => {
                sizes.push({ call: "uploadPart", bytes: size(v) });
                return upload.uploadPart(n, v);
              },
              abort: () => upload.abort(),
              complete: (parts: R2UploadedPart[]) => upload.complete(parts),
            };
          };
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    await runScheduled({ ...withRetention("30"), ARCHIVE: bucket });

    expect(sizes.filter((s) => s.call === "uploadPart").length).toBeGreaterThanOrEqual(2);
    expect(Math.max(...sizes.map((s) => s.bytes))).toBeLessThanOrEqual(ARCHIVE_PART_BYTES);
    expect(await count(tenant, "communications")).toBe(0);
    const stored = await env.ARCHIVE.get(key);
    const lines = (await stored?.text())?.trim().split("\n") ?? [];
    expect(lines.map((l) => JSON.parse(l).id)).toEqual(ids);
    expect(lines.every((l, i) => JSON.parse(l).content.startsWith(`${i}:`))).toBe(true);
  }, 120_000);

  it("without RETENTION_DAYS nothing is archived", async () => {
    const tenant = newTenant();
    await createAt(tenant, Date.now() - 400 * DAY);
    await runScheduled(withRetention(""));
    expect(await count(tenant, "communications")).toBe(1);
  });
});
