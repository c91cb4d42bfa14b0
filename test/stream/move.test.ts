/**
 * A tenant move between shards (src/shards/move.ts) while the tenant's
 * streams are open: the streams' object is named by the tenant, not by its
 * shard, so they neither end nor miss a change made before, during or after
 * the move. As in test/shards/move.test.ts, the Workflow's sleeps are
 * disabled and requests forget the isolate's cached placement.
 */
import { env, introspectWorkflow } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { shardNames } from "../../src/shards/config";
import { forgetCachedPlacements } from "../../src/shards/directory";
import { call, callers, communicationBody, newTenant, shardOf, signToken } from "../support/helpers";
import { communicationIds, type OpenedStream, openStream } from "../support/stream";

const opened: OpenedStream[] = [];
beforeEach(() => {
  vi.spyOn(console, "log").mockImplementation(() => undefined);
});
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
  vi.restoreAllMocks();
});

const fresh = <T>(run: () => Promise<T>) => {
  forgetCachedPlacements();
  return run();
};

describe("a tenant move while streams are open", () => {
  it("the streams stay open and carry every change committed before, during and after the move", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const admin = await who.admin();
    const created: string[] = [];
    const mine: string[] = [];
    const write = async (own: boolean) => {
      const res = await fresh(() =>
        call("", {
          method: "POST",
          token: admin,
          body: communicationBody(own ? { customer_id: who.customerId } : {}),
        }),
      );
      if (res.status === 201) {
        created.push(res.json.communication.id);
        if (own) mine.push(res.json.communication.id);
      } else {
        // The move's frozen phase: refused, never half-written; nothing to stream.
        expect(res.status, res.text).toBe(503);
      }
    };
    for (let i = 0; i < 6; i++) await write(i % 2 === 0);

    const staff = await openStream("", { token: await who.viewer() });
    const customer = await openStream("", { token: await who.customer() });
    opened.push(staff, customer);
    expect([staff.status, customer.status]).toEqual([200, 200]);
    await write(true);

    const from = (await shardOf(tenant)) as string;
    const to = shardNames(env).find((s) => s !== from) as string;
    await using introspector = await introspectWorkflow(env.TENANT_MOVE);
    await introspector.modifyAll(async (m) => {
      await m.disableSleeps();
    });
    const move = await call(`/admin/tenants/${tenant}/move`, {
      method: "POST",
      token: await signToken({ is_system_admin: true, permissions: [] }),
      body: { to },
    });
    expect(move.status, move.text).toBe(202);
    let done = false;
    const traffic = (async () => {
      for (let i = 0; !done && i < 200; i++) await write(i % 2 === 0);
    })();
    const beforeMove = created.length;
    const [instance] = await introspector.get();
    await instance?.waitForStatus("complete");
    done = true;
    await traffic;
    expect(await shardOf(tenant)).toBe(to);
    expect(created.length, "no write got through while the move ran").toBeGreaterThan(beforeMove);

    // After the move: written on the new shard, streamed on the same open streams.
    await write(true);
    await write(false);
    // Everything written once the streams were open (the first six were before).
    const streamed = created.slice(6);
    const streamedMine = mine.filter((id) => streamed.includes(id));
    await staff.until((f) => f.filter((x) => x.event === "communication.created").length >= streamed.length, 60_000);
    await customer.until(
      (f) => f.filter((x) => x.event === "communication.created").length >= streamedMine.length,
      60_000,
    );
    await staff.settle(200);
    await customer.settle(200);
    // Order across communications is not guaranteed (events.md): compared as sets, each once.
    expect(communicationIds(staff).sort()).toEqual([...streamed].sort());
    expect(communicationIds(customer).sort()).toEqual([...streamedMine].sort());
    // Never ended: no reconnection was needed.
    expect(staff.frames.filter((f) => f.retry !== undefined)).toHaveLength(1);
  }, 120_000);
});
