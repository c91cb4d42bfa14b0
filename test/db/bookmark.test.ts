/**
 * D1 read replication through the Sessions API, per shard: every request
 * runs in `<tenant's shard>.withSession(<bookmark> ?? "first-unconstrained")`
 * and every response carries the session's latest bookmark, prefixed with
 * the shard's name, in `x-d1-bookmark` (`SHARD_1:0000000a-...`).
 *
 * Locally (miniflare) there is one database instance and no replicas; the D1
 * object ignores the bookmark it is given and returns its own commit token,
 * which has the production shape (8-8-8-32 hex digits, lexicographically
 * ordered). So this file tests the round trip, the format and what reaches
 * withSession(); replica routing itself only exists in production.
 * @see https://developers.cloudflare.com/d1/best-practices/read-replication/
 * @see https://developers.cloudflare.com/d1/reference/time-travel/#bookmarks
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { shardBinding, shardNames } from "../../src/shards/config";
import {
  BASE,
  call,
  callers,
  callMeasured,
  communicationBody,
  newTenant,
  placeTenant,
  shardOf,
} from "../support/helpers";

/** The bookmark format D1 documents (time travel) and miniflare produces, after the shard's name. */
const BOOKMARK_SHAPE = /^SHARD_\d+:[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/;
/** A production bookmark as printed by `wrangler d1 time-travel info`. */
const PRODUCTION_BOOKMARK = "00000085-0000024c-00004c6d-8e61117bf38d7adb71b934ebbf891683";

describe("x-d1-bookmark round trip", () => {
  const who = callers(newTenant());

  it("every database-backed response carries a bookmark of the documented shape", async () => {
    const list = await call("", { token: await who.viewer() });
    const created = await call("", { method: "POST", token: await who.admin(), body: communicationBody() });
    const one = await call(`/${created.json.communication.id}`, { token: await who.viewer() });
    for (const res of [list, created, one]) {
      expect(res.status, res.text).toBeLessThan(300);
      expect(res.headers.get("x-d1-bookmark")).toMatch(BOOKMARK_SHAPE);
    }
  });

  it("a write's bookmark sent back is accepted, and the read sees the write", async () => {
    const admin = await who.admin();
    const created = await call("", { method: "POST", token: admin, body: communicationBody() });
    const bookmark = created.headers.get("x-d1-bookmark");
    expect(bookmark).toMatch(BOOKMARK_SHAPE);

    const read = await call(`/${created.json.communication.id}`, {
      token: await who.viewer(),
      headers: { "x-d1-bookmark": bookmark as string },
    });
    expect(read.status, read.text).toBe(200);
    expect(read.json.communication).toEqual(created.json.communication);
    // The session's bookmark never goes back in time.
    expect((read.headers.get("x-d1-bookmark") as string) >= (bookmark as string)).toBe(true);

    const patched = await call(`/${created.json.communication.id}`, {
      method: "PATCH",
      token: admin,
      headers: { "x-d1-bookmark": read.headers.get("x-d1-bookmark") as string },
      body: { status: "delivered", occurred_at: new Date(Date.now() - 60_000).toISOString() },
    });
    expect(patched.status, patched.text).toBe(200);
    const after = patched.headers.get("x-d1-bookmark") as string;
    expect(after > (bookmark as string)).toBe(true);

    const listed = await call(`?status=delivered`, { token: await who.viewer(), headers: { "x-d1-bookmark": after } });
    expect(listed.status).toBe(200);
    expect(listed.json.communications.map((c: { id: string }) => c.id)).toContain(created.json.communication.id);
  });

  it("a bookmark in the production format passes the middleware", async () => {
    const res = await call("", { token: await who.viewer(), headers: { "x-d1-bookmark": PRODUCTION_BOOKMARK } });
    expect(res.status, res.text).toBe(200);
    expect(`SHARD_0:${PRODUCTION_BOOKMARK}`).toMatch(BOOKMARK_SHAPE);
  });

  it("an empty header means no bookmark", async () => {
    const res = await call("", { token: await who.viewer(), headers: { "x-d1-bookmark": "  " } });
    expect(res.status, res.text).toBe(200);
  });

  it.each([
    ["spaces", "not a bookmark"],
    ["markup", "<script>alert(1)</script>"],
    ["quotes", `00000085-0000024c"; DROP TABLE x`],
    ["not hex", "zzzzzzzz-0000024c-00004c6d-8e61117bf38d7adb71b934ebbf891683"],
    ["a constraint word, not a bookmark", "first-primary"],
    ["too long", `${PRODUCTION_BOOKMARK}-${"0".repeat(300)}`],
  ])("malformed (%s) is 400 naming x-d1-bookmark, before anything is read or written", async (_name, value) => {
    const tenant = newTenant();
    const them = callers(tenant);
    const res = await callMeasured("", {
      method: "POST",
      token: await them.admin(),
      body: communicationBody(),
      headers: { "x-d1-bookmark": value },
    });
    expect(res.status, res.text).toBe(400);
    expect(res.json).toEqual({
      success: false,
      message: "Invalid request parameters",
      errors: [{ field: "x-d1-bookmark", message: "x-d1-bookmark is invalid" }],
    });
    expect(res.d1).toEqual({ queries: 0, read: 0, written: 0 });
    const list = await call("", { token: await them.viewer() });
    expect(list.json.total).toBe(0);
  });

  it("the 400 is localised", async () => {
    const res = await call("?language=ar", { token: await who.viewer(), headers: { "x-d1-bookmark": "bad one" } });
    expect(res.status).toBe(400);
    expect(res.json.errors[0].field).toBe("x-d1-bookmark");
    expect(res.json.message).not.toBe("Invalid request parameters");
  });
});

describe("what reaches withSession()", () => {
  /** env with every shard recording the argument of each withSession() call (the directory is not recorded). */
  function recordingEnv(calls: { shard: string; constraint: string | undefined }[]): Env {
    const shards = shardNames(env).map((name) => {
      const real = shardBinding(env, name);
      const recording = new Proxy(real, {
        get(target, prop) {
          if (prop === "withSession") {
            return (constraint?: string) => {
              calls.push({ shard: name, constraint });
              return target.withSession(constraint);
            };
          }
          const value = Reflect.get(target, prop);
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
      return [name, recording];
    });
    return { ...env, ...Object.fromEntries(shards) };
  }

  /** A placed tenant and its shard. */
  async function placed() {
    const tenant = newTenant();
    await placeTenant(tenant);
    return { who: callers(tenant), shard: (await shardOf(tenant)) as string };
  }

  async function fetchWith(
    who: ReturnType<typeof callers>,
    headers: Record<string, string>,
    init: { method?: string; path?: string; body?: unknown } = {},
  ) {
    const calls: { shard: string; constraint: string | undefined }[] = [];
    const token = init.method ? await who.admin() : await who.viewer();
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      new Request(`${BASE}${init.path ?? ""}`, {
        method: init.method ?? "GET",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers },
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
      }),
      recordingEnv(calls),
      ctx,
    );
    await waitOnExecutionContext(ctx);
    return { res, calls };
  }

  it("without a bookmark the session starts unconstrained (any replica), on the tenant's shard only", async () => {
    const { who, shard } = await placed();
    const { res, calls } = await fetchWith(who, {});
    expect(res.status).toBe(200);
    expect(calls).toEqual([{ shard, constraint: "first-unconstrained" }]);
    expect(res.headers.get("x-d1-bookmark")?.startsWith(`${shard}:`)).toBe(true);
  });

  it("with a bookmark of the tenant's shard the session starts from it", async () => {
    const { who, shard } = await placed();
    const { res, calls } = await fetchWith(who, { "x-d1-bookmark": ` ${shard}:${PRODUCTION_BOOKMARK} ` });
    expect(res.status).toBe(200);
    expect(calls).toEqual([{ shard, constraint: PRODUCTION_BOOKMARK }]);
  });

  it("a bookmark of another shard (the tenant moved since) or without a shard starts at the primary", async () => {
    const { who, shard } = await placed();
    const other = shardNames(env).find((n) => n !== shard) as string;
    for (const bookmark of [`${other}:${PRODUCTION_BOOKMARK}`, PRODUCTION_BOOKMARK]) {
      const { res, calls } = await fetchWith(who, { "x-d1-bookmark": bookmark });
      expect(res.status).toBe(200);
      expect(calls).toEqual([{ shard, constraint: "first-primary" }]);
    }
  });

  it("a write without a bookmark starts at the primary (a PATCH right after the create must find the row)", async () => {
    const { who, shard } = await placed();
    const create = await fetchWith(who, {}, { method: "POST", body: communicationBody() });
    expect(create.res.status).toBe(201);
    expect(create.calls).toEqual([{ shard, constraint: "first-primary" }]);
    const id = ((await create.res.json()) as { communication: { id: string } }).communication.id;
    const stranger = await placed();
    const patch = await fetchWith(
      stranger.who,
      {},
      { method: "PATCH", path: `/${id}`, body: { status: "delivered", occurred_at: new Date().toISOString() } },
    );
    // Another tenant's token: 404, but the session choice is what matters here.
    expect(patch.res.status).toBe(404);
    expect(patch.calls).toEqual([{ shard: stranger.shard, constraint: "first-primary" }]);
  });

  it("a write with a bookmark of the tenant's shard starts from the bookmark", async () => {
    const { who, shard } = await placed();
    const { res, calls } = await fetchWith(
      who,
      { "x-d1-bookmark": `${shard}:${PRODUCTION_BOOKMARK}` },
      { method: "POST", body: communicationBody() },
    );
    expect(res.status).toBe(201);
    expect(calls).toEqual([{ shard, constraint: PRODUCTION_BOOKMARK }]);
  });
});
