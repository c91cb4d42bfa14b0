/**
 * Tenant moves (issue 12): the admin route starts a Workflow that copies the
 * tenant in bounded pages (MOVE_BATCH_ROWS is 4 here), fences writes, copies
 * the last changes, verifies counts and checksums, switches the directory
 * and deletes the source. Reads and writes run against it meanwhile.
 *
 * The Workflow's sleep (one directory-cache TTL before the source is
 * deleted) is disabled here, so these requests forget the isolate's cached
 * placement before each call: what every isolate sees once that sleep has
 * passed.
 */
import { createExecutionContext, createMessageBatch, env, getQueueResult, introspectWorkflow } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { shardBinding, shardNames } from "../../src/shards/config";
import { copyPage } from "../../src/shards/copy";
import { forgetCachedPlacements } from "../../src/shards/directory";
import { TENANT_TABLES } from "../../src/shards/tenant-tables";
import { fromTwilio, type WebhookMessage } from "../../src/webhooks/events";
import { EXPECTED_BY_TEST } from "../support/expected-output";
import { call, callers, communicationBody, newTenant, placeTenant, seed, shardOf, signToken } from "../support/helpers";
import { connect, newStandardSecret, standardRequest, webhookUrl } from "../support/webhook-helpers";

beforeEach(() => {
  vi.spyOn(console, "log").mockImplementation(() => undefined);
});
afterEach(() => {
  vi.restoreAllMocks();
});

const systemAdmin = () => signToken({ is_system_admin: true, permissions: [] });
const fresh = <T>(run: () => Promise<T>) => {
  forgetCachedPlacements();
  return run();
};

const countIn = async (db: D1Database, table: string, tenant: string) =>
  (await db.prepare(`SELECT count(*) AS n FROM ${table} WHERE tenant_id = ?`).bind(tenant).first<{ n: number }>())?.n ??
  0;

interface Seeded {
  tenant: string;
  who: ReturnType<typeof callers>;
  keys: Map<string, string>;
}

/** A tenant with communications of every status, events, and idempotency keys. */
async function seedTenant(n: number): Promise<Seeded> {
  const tenant = newTenant();
  const who = callers(tenant);
  const admin = await who.admin();
  const keys = new Map<string, string>();
  const types = ["sms", "email", "push_notification", "call"];
  for (let i = 0; i < n; i++) {
    const key = `seed-${i}`;
    const res = await call("", {
      method: "POST",
      token: admin,
      headers: { "idempotency-key": key },
      body: communicationBody({ type: types[i % 4], direction: i % 3 ? "outbound" : "inbound", content: `m${i}` }),
    });
    expect(res.status, res.text).toBe(201);
    keys.set(key, res.json.communication.id);
    const id = res.json.communication.id;
    const steps = i % 4 === 0 ? [] : i % 4 === 1 ? ["delivered"] : i % 4 === 2 ? ["delivered", "read"] : ["failed"];
    for (const [k, status] of steps.entries()) {
      const patched = await call(`/${id}`, {
        method: "PATCH",
        token: admin,
        body: { status, occurred_at: new Date(Date.now() - 60_000 + k * 1000).toISOString() },
      });
      expect(patched.status).toBe(200);
    }
  }
  return { tenant, who, keys };
}

/** Everything the API says about a tenant: every communication, its events, and the totals per filter. */
async function snapshot({ who }: Seeded) {
  const viewer = await who.viewer();
  const all: Record<string, unknown>[] = [];
  let cursor: string | null = null;
  do {
    const page: Awaited<ReturnType<typeof call>> = await fresh(() =>
      call(`?limit=100${cursor ? `&cursor=${cursor}` : ""}`, { token: viewer }),
    );
    expect(page.status).toBe(200);
    all.push(...page.json.communications);
    cursor = page.json.next_cursor;
  } while (cursor);
  const events: Record<string, unknown> = {};
  for (const c of all) {
    const res = await fresh(() => call(`/${c.id}/events`, { token: viewer }));
    expect(res.status).toBe(200);
    events[c.id as string] = res.json.events;
  }
  const totals: Record<string, number> = {};
  for (const q of [
    "",
    "status=sent",
    "status=delivered",
    "status=read",
    "status=failed",
    "type=sms",
    "direction=inbound",
  ]) {
    totals[q] = (await fresh(() => call(`?limit=1&${q}`, { token: viewer }))).json.total;
  }
  return { all, events, totals };
}

async function startMove(tenant: string, to: string) {
  const res = await call(`/admin/tenants/${tenant}/move`, { method: "POST", token: await systemAdmin(), body: { to } });
  expect(res.status, res.text).toBe(202);
  expect(res.json.move).toMatchObject({ status: "queued", to });
  return res.json.move as { id: string; from: string; to: string };
}

async function placement(tenant: string) {
  const res = await call(`/admin/tenants/${tenant}`, { token: await systemAdmin() });
  expect(res.status).toBe(200);
  return res.json.tenant;
}

describe("a tenant move", () => {
  it("under concurrent reads and writes: nothing lost or doubled; totals, events and idempotency keys intact", async () => {
    const seeded = await seedTenant(14);
    const { tenant, who } = seeded;
    const from = (await shardOf(tenant)) as string;
    const to = shardNames(env).find((s) => s !== from) as string;
    const before = await snapshot(seeded);
    expect(before.all).toHaveLength(14);

    await using introspector = await introspectWorkflow(env.TENANT_MOVE);
    await introspector.modifyAll(async (m) => {
      await m.disableSleeps();
      // Holds the move in its frozen phase for a few seconds (two failed
      // attempts of the step after the fence, with the real retry delays of
      // 2 s and 4 s), so the traffic below meets the fence for certain.
      await m.mockStepError({ name: "verifying" }, new Error("slow step"), 2);
    });
    const move = await startMove(tenant, to);
    expect(move.from).toBe(from);

    // Traffic while the move runs: reads must always answer 200; writes 201/200 or 503 with Retry-After.
    // A fresh user per round keeps each user's rate-limit bucket far from full, however fast it runs.
    const written: { id: string; key: string }[] = [];
    const patched = new Map<string, string>();
    let refused = 0;
    let done = false;
    const traffic = (async () => {
      // Runs until the move is done and at least one write got through (before the fence or after the
      // switch). The bound is time, not a count of rounds: on an idle machine 250 rounds fit inside
      // the frozen phase (CI saw 0 stored, 250 refused). Once the move is done writes succeed, so the
      // loop ends a round or two after it; the deadline only stops a wedged move from hanging here.
      const deadline = Date.now() + 60_000;
      for (let i = 0; !(done && written.length > 0) && Date.now() < deadline; i++) {
        const admin = await who.admin();
        const viewer = await who.viewer();
        const read = await fresh(() => call("?limit=5", { token: viewer }));
        expect(read.status, read.text).toBe(200);
        expect(read.json.total).toBeGreaterThanOrEqual(14);
        const key = `during-${i}`;
        const created = await fresh(() =>
          call("", { method: "POST", token: admin, headers: { "idempotency-key": key }, body: communicationBody() }),
        );
        if (created.status === 201) written.push({ id: created.json.communication.id, key });
        else {
          expect(created.status, created.text).toBe(503);
          expect(created.headers.get("retry-after")).toBe("60");
          refused++;
        }
        const target = before.all[i % before.all.length] as { id: string; status: string };
        if (target.status === "sent" && !patched.has(target.id)) {
          const res = await fresh(() =>
            call(`/${target.id}`, {
              method: "PATCH",
              token: admin,
              body: { status: "delivered", occurred_at: new Date().toISOString() },
            }),
          );
          if (res.status === 200) patched.set(target.id, res.json.communication.status);
          else expect(res.status).toBe(503);
        }
      }
    })();
    const [instance] = await introspector.get();
    await instance?.waitForStatus("complete");
    done = true;
    await traffic;

    const state = await placement(tenant);
    expect(state.shard).toBe(to);
    expect(state.frozen).toBe(false);
    expect(state.move).toMatchObject({ id: move.id, status: "done", from, to, error: null });
    expect(state.move.copied).toBeGreaterThanOrEqual(14);

    // The source holds nothing of the tenant any more; the target holds everything.
    const source = shardBinding(env, from);
    for (const table of [...TENANT_TABLES.map((t) => t.name), "communication_totals", "tenant_fences"]) {
      expect(await countIn(source, table, tenant)).toBe(0);
    }
    const after = await snapshot(seeded);
    const ids = after.all.map((c) => c.id as string);
    expect(new Set(ids).size).toBe(ids.length); // nothing doubled
    expect(ids.length).toBe(14 + written.length); // nothing lost
    for (const w of written) expect(ids).toContain(w.id);
    for (const c of before.all) {
      const now = after.all.find((a) => a.id === c.id) as Record<string, unknown>;
      expect(now).toBeDefined();
      expect({ ...now, status: undefined, updated_at: undefined }).toEqual({
        ...c,
        status: undefined,
        updated_at: undefined,
      });
      expect(now.status).toBe(patched.get(c.id as string) ?? c.status);
      if (!patched.has(c.id as string)) {
        expect(now).toEqual(c);
        expect(after.events[c.id as string]).toEqual(before.events[c.id as string]);
      }
    }
    // Totals equal what the rows say.
    expect(after.totals[""]).toBe(ids.length);
    const byStatus = (s: string) => after.all.filter((c) => c.status === s).length;
    for (const s of ["sent", "delivered", "read", "failed"]) expect(after.totals[`status=${s}`]).toBe(byStatus(s));
    // Every idempotency key, old and new, replays the same communication from the new shard.
    for (const [key, id] of [...seeded.keys, ...written.map((w) => [w.key, w.id] as const)]) {
      const admin = await who.admin();
      const replay = await fresh(() =>
        call("", {
          method: "POST",
          token: admin,
          headers: { "idempotency-key": key },
          body: communicationBody(), // another body: 409 proves the key is there
        }),
      );
      expect(replay.status, `${key}: ${replay.text}`).toBe(409);
      expect(id).toBeTruthy();
    }
    console.info(`during the move: ${written.length} creates stored, ${refused} refused with 503`);
    expect(refused).toBeGreaterThan(0); // the fence held writes back while frozen
    expect(written.length).toBeGreaterThan(0); // and writes went on before and after it
    expect(await countIn(shardBinding(env, to), "idempotency_keys", tenant)).toBe(seeded.keys.size + written.length);
  }, 90_000);

  it("interrupted (a copy step fails as if the Worker restarted) resumes and completes with nothing doubled", async () => {
    const seeded = await seedTenant(10);
    const { tenant } = seeded;
    const from = (await shardOf(tenant)) as string;
    const to = shardNames(env).find((s) => s !== from) as string;
    const before = await snapshot(seeded);

    await using introspector = await introspectWorkflow(env.TENANT_MOVE);
    await introspector.modifyAll(async (m) => {
      await m.disableSleeps();
      await m.disableRetryDelays();
      await m.mockStepError({ name: "copy communications", index: 2 }, new Error("Worker restarted"), 1);
      await m.mockStepError({ name: "switch" }, new Error("Worker restarted"), 2);
    });
    const move = await startMove(tenant, to);
    const [instance] = await introspector.get();
    await instance?.waitForStatus("complete");

    expect((await placement(tenant)).move).toMatchObject({ id: move.id, status: "done" });
    const after = await snapshot(seeded);
    expect(after).toEqual(before);
    expect(await countIn(shardBinding(env, to), "communications", tenant)).toBe(10);
    expect(await countIn(shardBinding(env, from), "communications", tenant)).toBe(0);
  });

  it("a page copied twice (cut short after its write) changes nothing the second time", async () => {
    const seeded = await seedTenant(6);
    const from = (await shardOf(seeded.tenant)) as string;
    const to = shardNames(env).find((s) => s !== from) as string;
    const [source, target] = [shardBinding(env, from), shardBinding(env, to)];
    const table = TENANT_TABLES[0] as (typeof TENANT_TABLES)[number];
    const first = await copyPage(source, target, table, seeded.tenant, null, 4);
    const again = await copyPage(source, target, table, seeded.tenant, null, 4);
    expect(first.rows).toBe(4);
    expect(again.next).toEqual(first.next);
    expect(again.cost.rowsWritten).toBe(0);
    expect(await countIn(target, "communications", seeded.tenant)).toBe(4);
    const totals = await target
      .prepare("SELECT sum(n) AS n FROM communication_totals WHERE tenant_id = ?")
      .bind(seeded.tenant)
      .first<{ n: number }>();
    expect(totals?.n).toBe(4);
    // Leave the target as a move would find it after a rollback.
    await target.prepare("DELETE FROM communications WHERE tenant_id = ?").bind(seeded.tenant).run();
  });

  it("a move that cannot verify rolls back: failed, the tenant stays where it was, writes work again", async () => {
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    const seeded = await seedTenant(5);
    const { tenant, who } = seeded;
    const from = (await shardOf(tenant)) as string;
    const to = shardNames(env).find((s) => s !== from) as string;
    const before = await snapshot(seeded);

    await using introspector = await introspectWorkflow(env.TENANT_MOVE);
    await introspector.modifyAll(async (m) => {
      await m.disableSleeps();
      await m.disableRetryDelays();
      // workerd reports the step's error as an uncaught rejection on stderr; the tag marks it as expected.
      await m.mockStepError({ name: "count communications" }, new Error(`D1 unreachable (${EXPECTED_BY_TEST})`));
    });
    await startMove(tenant, to);
    const [instance] = await introspector.get();
    await instance?.waitForStatus("complete");

    const state = await placement(tenant);
    expect(state).toMatchObject({ shard: from, frozen: false });
    expect(state.move).toMatchObject({ status: "failed" });
    expect(state.move.error).toContain("D1 unreachable");
    expect(await countIn(shardBinding(env, to), "communications", tenant)).toBe(0);
    expect(await countIn(shardBinding(env, from), "tenant_fences", tenant)).toBe(0);
    expect(await snapshot(seeded)).toEqual(before);
    const write = await fresh(async () =>
      call("", { method: "POST", token: await who.admin(), body: communicationBody() }),
    );
    expect(write.status).toBe(201);
  });

  it("costs a bounded number of rows read and written per communication moved (SCALING.md)", async () => {
    const n = 24;
    const seeded = await seedTenant(n);
    const from = (await shardOf(seeded.tenant)) as string;
    const to = shardNames(env).find((s) => s !== from) as string;
    const events = await countIn(shardBinding(env, from), "communication_events", seeded.tenant);
    await using introspector = await introspectWorkflow(env.TENANT_MOVE);
    await introspector.modifyAll(async (m) => {
      await m.disableSleeps();
    });
    await startMove(seeded.tenant, to);
    const [instance] = await introspector.get();
    await instance?.waitForStatus("complete");
    const { move } = await placement(seeded.tenant);
    const perCommunication = { read: move.rows_read / n, written: move.rows_written / n };
    console.info(
      `move of ${n} communications (${events} events, ${n} idempotency keys), pages of 4 rows: ` +
        `${move.copied} rows copied (both passes), ${move.rows_read} rows read, ${move.rows_written} rows written; ` +
        `per communication: ${perCommunication.read.toFixed(1)} read, ${perCommunication.written.toFixed(1)} written`,
    );
    // The copy writes the row, five index entries, its totals cell, its events and its key (9 here),
    // and its search document at the target (3: migrations/0007_search.sql); the sync pass writes
    // nothing (its upserts skip identical rows); deleting the source adds the rest.
    expect(perCommunication.written).toBeGreaterThanOrEqual(7 + 3 + events / n + 1);
    expect(perCommunication.written).toBeLessThanOrEqual(2 * (7 + 3 + events / n + 1));
    // Reads: both passes, the prune walk (issue 16), the verification of each side's rows and
    // search documents (issue 20): 67.9 with pages of 4 (SCALING.md).
    expect(perCommunication.read).toBeLessThan(75);
  });

  it("there and back again, over residue of a move that stopped half-way: everything intact", async () => {
    const seeded = await seedTenant(5);
    const from = (await shardOf(seeded.tenant)) as string;
    const to = shardNames(env).find((s) => s !== from) as string;
    const before = await snapshot(seeded);
    // Residue on the target: a fence and a stray row, as a crashed earlier move could leave.
    await shardBinding(env, to)
      .prepare("INSERT INTO tenant_fences (tenant_id, move_id, created_at) VALUES (?, 'old', '2026-01-01T00:00:00Z')")
      .bind(seeded.tenant)
      .run();
    await using introspector = await introspectWorkflow(env.TENANT_MOVE);
    await introspector.modifyAll(async (m) => {
      await m.disableSleeps();
    });
    await startMove(seeded.tenant, to);
    await (await introspector.get())[0]?.waitForStatus("complete");
    expect((await placement(seeded.tenant)).move).toMatchObject({ status: "done", to });
    await startMove(seeded.tenant, from);
    const instances = await introspector.get();
    await instances[1]?.waitForStatus("complete");
    const back = await placement(seeded.tenant);
    expect(back).toMatchObject({ shard: from, frozen: false });
    expect(back.move).toMatchObject({ status: "done", from: to, to: from });
    expect(await snapshot(seeded)).toEqual(before);
    for (const table of ["communications", "communication_events", "idempotency_keys", "tenant_fences"]) {
      expect(await countIn(shardBinding(env, to), table, seeded.tenant)).toBe(0);
    }
  });

  it("one move at a time per tenant: a second request while one runs is 409", async () => {
    const seeded = await seedTenant(2);
    const from = (await shardOf(seeded.tenant)) as string;
    const to = shardNames(env).find((s) => s !== from) as string;
    await using introspector = await introspectWorkflow(env.TENANT_MOVE);
    await introspector.modifyAll(async (m) => {
      await m.disableSleeps();
    });
    await startMove(seeded.tenant, to);
    const second = await call(`/admin/tenants/${seeded.tenant}/move`, {
      method: "POST",
      token: await systemAdmin(),
      body: { to },
    });
    expect(second.status).toBe(409);
    const [instance] = await introspector.get();
    await instance?.waitForStatus("complete");
    await placeTenant(seeded.tenant);
  });
});

/**
 * Issue 16, items 2 and 3: an isolate whose cached placement predates the
 * move's switch. Sleeps stay on here (the move waits one directory TTL after
 * its switch before it deletes the source, as in production), so the source
 * and its fence are still there when these writes arrive.
 */
describe("after the switch, an isolate still holding the old placement", () => {
  const lines = (spy: { mock: { calls: unknown[][] } }) =>
    spy.mock.calls.map(([l]) => {
      try {
        return JSON.parse(String(l));
      } catch {
        return { text: String(l) };
      }
    });

  async function waitFrozen(tenant: string) {
    await vi.waitFor(
      async () => {
        const row = await env.DIRECTORY.prepare("SELECT frozen FROM tenants WHERE tenant_id = ?")
          .bind(tenant)
          .first<{ frozen: number }>();
        expect(row?.frozen).toBe(1);
      },
      { timeout: 30_000, interval: 25 },
    );
  }

  it("a provider DELETE meets the fence, runs on the new shard: the connection stays deleted and its secret verifies nothing", async () => {
    const seeded = await seedTenant(2);
    const { tenant, who } = seeded;
    const admin = await who.admin();
    const secret = newStandardSecret();
    await connect(admin, "standard", { secret });
    const from = (await shardOf(tenant)) as string;
    const to = shardNames(env).find((s) => s !== from) as string;
    forgetCachedPlacements();
    expect((await call("/providers", { token: admin })).json.providers).toHaveLength(1); // cached: `from`

    await using introspector = await introspectWorkflow(env.TENANT_MOVE);
    await startMove(tenant, to);
    const [instance] = await introspector.get();
    await instance?.waitForStepResult({ name: "switch" });

    const deleted = await call("/providers/standard", { method: "DELETE", token: admin });
    expect(deleted.status, deleted.text).toBe(200);
    expect(await countIn(shardBinding(env, to), "provider_connections", tenant)).toBe(0);
    expect(deleted.headers.get("x-d1-bookmark")?.split(":")[0]).toBe(to);
    // What every isolate sees from now on, and after the source is deleted.
    forgetCachedPlacements();
    expect((await call("/providers", { token: admin })).json.providers).toEqual([]);
    const hook = await call(
      webhookUrl("standard", tenant),
      standardRequest(secret, {
        type: "communication.status",
        data: { provider_message_id: "SMx", status: "delivered", occurred_at: new Date().toISOString() },
      }),
    );
    expect(hook.status).toBe(403);
  });

  it("writes resume at the switch: refused (a warning, no stack) only while frozen, the first write after it lands on the new shard", async () => {
    const seeded = await seedTenant(2);
    const { tenant, who } = seeded;
    const from = (await shardOf(tenant)) as string;
    const to = shardNames(env).find((s) => s !== from) as string;
    forgetCachedPlacements();
    expect((await call("?limit=1", { token: await who.viewer() })).status).toBe(200); // cached: `from`, not frozen

    await using introspector = await introspectWorkflow(env.TENANT_MOVE);
    await introspector.modifyAll(async (m) => {
      await m.disableSleeps();
      // Holds the frozen phase for a few seconds (two failed attempts, 2 s and 4 s apart).
      await m.mockStepError({ name: "verifying" }, new Error("slow step"), 2);
    });
    await startMove(tenant, to);
    await waitFrozen(tenant);

    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const refused = await call("", { method: "POST", token: await who.admin(), body: communicationBody() });
    expect(refused.status, refused.text).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("60");
    const warned = lines(warn);
    expect(warned.find((l) => l.msg === "tenant_frozen")).toMatchObject({ level: "warn", fenced: true });
    expect(warned.find((l) => l.msg === "request")).toMatchObject({ level: "warn", status: 503 });
    expect(JSON.stringify(warned)).not.toContain("stack");
    expect(lines(error)).toEqual([]);

    const [instance] = await introspector.get();
    await instance?.waitForStepResult({ name: "switch" });
    // The refused write re-read the placement ("frozen"); the next write asks again and finds the switch.
    const created = await call("", { method: "POST", token: await who.admin(), body: communicationBody() });
    expect(created.status, created.text).toBe(201);
    expect(created.headers.get("x-d1-bookmark")?.split(":")[0]).toBe(to);
    await instance?.waitForStatus("complete");
    forgetCachedPlacements();
    const read = await call(`/${created.json.communication.id}`, { token: await who.viewer() });
    expect(read.status).toBe(200);
    expect(lines(error)).toEqual([]);
  }, 90_000);

  it("the queue consumer applies a provider event on the new shard at once", async () => {
    const tenant = newTenant();
    const admin = await callers(tenant).admin();
    const sid = `SM${crypto.randomUUID().replaceAll("-", "")}`;
    const [comm] = await seed(admin, [communicationBody({ provider: "twilio", provider_message_id: sid })]);
    const from = (await shardOf(tenant)) as string;
    const to = shardNames(env).find((s) => s !== from) as string;
    forgetCachedPlacements();
    // The consumer's first message caches `from` in this isolate.
    const warm = await runQueue(fromTwilio(tenant, { MessageSid: sid, MessageStatus: "sent" }, Date.now()));
    expect(warm.retryMessages).toEqual([]);

    await using introspector = await introspectWorkflow(env.TENANT_MOVE);
    await startMove(tenant, to);
    const [instance] = await introspector.get();
    await instance?.waitForStepResult({ name: "switch" });

    const result = await runQueue(fromTwilio(tenant, { MessageSid: sid, MessageStatus: "delivered" }, Date.now()));
    expect(result.retryMessages).toEqual([]);
    expect(result.explicitAcks).toHaveLength(1);
    const row = await shardBinding(env, to)
      .prepare("SELECT status FROM communications WHERE tenant_id = ? AND id = ?")
      .bind(tenant, comm.id)
      .first<{ status: string }>();
    expect(row?.status).toBe("delivered");
  });
});

describe("deletes during a move's copy", () => {
  it("a row the source deletes after it was copied is removed from the target by the sync pass: the move completes", async () => {
    const seeded = await seedTenant(3);
    const { tenant, who } = seeded;
    const admin = await who.admin();
    await connect(admin, "standard", { secret: newStandardSecret() });
    await connect(admin, "twilio", { auth_token: crypto.randomUUID().replaceAll("-", "") });
    const from = (await shardOf(tenant)) as string;
    const to = shardNames(env).find((s) => s !== from) as string;
    await using introspector = await introspectWorkflow(env.TENANT_MOVE);
    await introspector.modifyAll(async (m) => {
      await m.disableSleeps();
      // Holds the move between its copy and its freeze (a failed attempt, retried 2 s later).
      await m.mockStepError({ name: "freeze" }, new Error("slow step"), 1);
    });
    await startMove(tenant, to);
    await vi.waitFor(async () => expect(await countIn(shardBinding(env, to), "provider_connections", tenant)).toBe(2), {
      timeout: 30_000,
      interval: 25,
    });
    // Copied already; deleted at the source before the freeze.
    const deleted = await fresh(() => call("/providers/standard", { method: "DELETE", token: admin }));
    expect(deleted.status).toBe(200);
    const [instance] = await introspector.get();
    await instance?.waitForStatus("complete");
    const state = await placement(tenant);
    expect(state.move).toMatchObject({ status: "done", error: null });
    expect(state.shard).toBe(to);
    const providers = await fresh(() => call("/providers", { token: admin }));
    expect(providers.json.providers.map((p: { provider: string }) => p.provider)).toEqual(["twilio"]);
  });
});

async function runQueue(messages: WebhookMessage[]) {
  const batch = createMessageBatch<WebhookMessage>(
    "customer-communications-webhooks",
    messages.map((body, i) => ({ id: `m${i}-${crypto.randomUUID()}`, timestamp: Date.now(), attempts: 1, body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  return getQueueResult(batch, ctx);
}
