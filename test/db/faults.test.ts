/**
 * D1 faults (issue 4): the real local D1, wrapped so chosen calls throw the
 * errors D1 really throws. Reads recover by retry; an unavailable D1 is a
 * 503 with Retry-After; a failed write leaves nothing behind; anything
 * unknown is a bare 500.
 *
 * The Worker's own default export is called with every shard wrapped
 * (`{ SHARD_0: flaky, SHARD_1: flaky }`, one fault plan and one call log for
 * both: a request only ever reaches its tenant's shard).
 * @see https://developers.cloudflare.com/d1/best-practices/retry-queries/
 */

import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { shardBinding, shardNames } from "../../src/shards/config";
import { call, callers, communicationBody, countRows, countSql, newTenant, seed } from "../support/helpers";

type Kind = "all" | "run" | "raw" | "first" | "batch";
interface Op {
  kind: Kind;
  sql: string[];
}
/**
 * Decides the fate of the n-th call (1-based): undefined runs it; an Error is
 * thrown before D1 sees the call; "rollback" runs the batch's statements and
 * then fails inside D1 (so D1 must roll them back); "lose-response" runs the
 * call and then throws, as when a commit's answer is lost on the way back.
 */
type Fault = (op: Op, n: number) => unknown;

const lost = () => new Error("D1_ERROR: Network connection lost.");

/** A D1 binding (or session) over the real one whose calls fail on demand. */
class FlakyD1 {
  constructor(
    private readonly real: D1Database | D1DatabaseSession,
    private readonly fault: Fault,
    readonly calls: Op[] = [],
  ) {}

  async intercept<T>(op: Op, run: () => Promise<T>, rollback?: () => Promise<T>): Promise<T> {
    this.calls.push(op);
    const decision = this.fault(op, this.calls.length);
    if (decision === undefined) return run();
    if (decision === "rollback") {
      if (!rollback) throw new Error("rollback fault needs a batch");
      return rollback();
    }
    if (decision !== "lose-response") throw decision;
    await run();
    throw lost();
  }

  prepare(sql: string) {
    return new FlakyStatement(this.real.prepare(sql), sql, this);
  }

  batch(statements: FlakyStatement[]) {
    const inner = statements.map((s) => s.inner);
    return this.intercept(
      { kind: "batch", sql: statements.map((s) => s.sql) },
      () => this.real.batch(inner),
      // json('{') raises "malformed JSON" after the batch's own statements ran.
      () => this.real.batch([...inner, this.real.prepare("SELECT json('{')")]),
    );
  }

  /** The same fault plan and call log over another database. */
  over(real: D1Database) {
    return new FlakyD1(real, this.fault, this.calls);
  }

  withSession(bookmark?: string) {
    const real = this.real as D1Database;
    return new FlakyD1(real.withSession(bookmark), this.fault, this.calls);
  }

  getBookmark() {
    return "getBookmark" in this.real ? this.real.getBookmark() : null;
  }
}

class FlakyStatement {
  constructor(
    readonly inner: D1PreparedStatement,
    readonly sql: string,
    private readonly db: FlakyD1,
  ) {}
  bind(...values: unknown[]) {
    return new FlakyStatement(this.inner.bind(...values), this.sql, this.db);
  }
  all() {
    return this.db.intercept({ kind: "all", sql: [this.sql] }, () => this.inner.all());
  }
  run() {
    return this.db.intercept({ kind: "run", sql: [this.sql] }, () => this.inner.run());
  }
  raw() {
    return this.db.intercept({ kind: "raw", sql: [this.sql] }, () => this.inner.raw());
  }
  first(column?: string) {
    return this.db.intercept({ kind: "first", sql: [this.sql] }, () => this.inner.first(column as string));
  }
}

const flaky = (fault: Fault) => new FlakyD1(env.SHARD_0, fault);

/** Every shard behind `db`'s faults. */
const flakyShards = (db: FlakyD1): Partial<Env> =>
  Object.fromEntries(shardNames(env).map((name) => [name, db.over(shardBinding(env, name))]));

const send = (db: FlakyD1, path: string, init: { method?: string; token: string; body?: unknown; key?: string }) =>
  call(path, {
    method: init.method,
    token: init.token,
    body: init.body,
    headers: init.key ? { "idempotency-key": init.key } : {},
    env: flakyShards(db),
  });

const rows = (tenant: string) => countRows(tenant);
const keys = (tenant: string) => countRows(tenant, "idempotency_keys");
const events = (tenant: string) => countRows(tenant, "communication_events");

const INTERNALS = [/\bat /, /SQLITE/i, /D1_ERROR/, /drizzle/i, /select /i, /insert into/i, /malformed/i, /Network/];
function expectNoInternals(text: string) {
  for (const pattern of INTERNALS) expect(text).not.toMatch(pattern);
}

const UNAVAILABLE_BODY = {
  success: false,
  message: "The service is temporarily unavailable, please try again later",
};

/** Reset and timeout messages (issue 11): any case, any phrasing around the words. */
const RESETS_AND_TIMEOUTS = [
  "D1_ERROR: D1 DB storage operation exceeded timeout which caused object to be reset.",
  "D1_ERROR: Connection WAS RESET by the remote node.",
  "D1_ERROR: Client disconnected",
  "D1_ERROR: CLIENT DISCONNECTED before the query finished",
];

/** Transient errors from Cloudflare's list of retryable D1 errors, as D1 words them. */
const TRANSIENT = [
  "D1_ERROR: Network connection lost.",
  "D1_ERROR: Durable Object storage caused object to be reset.",
  "D1_ERROR: Durable Object reset because its code was updated.",
  ...RESETS_AND_TIMEOUTS,
];

describe("D1 faults", () => {
  let errorLog: ReturnType<typeof vi.spyOn>;
  beforeEach(() => {
    vi.spyOn(console, "log").mockImplementation(() => undefined);
    vi.spyOn(console, "warn").mockImplementation(() => undefined);
    errorLog = vi.spyOn(console, "error").mockImplementation(() => undefined);
  });
  afterEach(() => vi.restoreAllMocks());

  describe("reads recover by retry", () => {
    it.each(TRANSIENT)("list: two failures of %s, then 200", async (message) => {
      const tenant = newTenant();
      const who = callers(tenant);
      await seed(await who.admin(), [communicationBody(), communicationBody()]);
      const db = flaky((_op, n) => (n <= 2 ? new Error(message) : undefined));
      const res = await send(db, "?limit=10", { token: await who.viewer() });
      expect(res.status, res.text).toBe(200);
      expect(res.json.total).toBe(2);
      expect(res.json.communications).toHaveLength(2);
      // The list is one batch (page + total), sent three times.
      expect(db.calls.map((c) => c.kind)).toEqual(["batch", "batch", "batch"]);
    });

    it("get by id: one failure, then 200", async () => {
      const tenant = newTenant();
      const who = callers(tenant);
      const [created] = await seed(await who.admin(), [communicationBody()]);
      const db = flaky((_op, n) => (n === 1 ? lost() : undefined));
      const res = await send(db, `/${created.id}`, { token: await who.viewer() });
      expect(res.status, res.text).toBe(200);
      expect(res.json.communication.id).toBe(created.id);
      expect(db.calls).toHaveLength(2);
    });

    it("events: one failure, then 200", async () => {
      const tenant = newTenant();
      const who = callers(tenant);
      const [created] = await seed(await who.admin(), [communicationBody()]);
      const db = flaky((_op, n) => (n === 1 ? lost() : undefined));
      const res = await send(db, `/${created.id}/events`, { token: await who.viewer() });
      expect(res.status, res.text).toBe(200);
      expect(res.json.events).toEqual([]);
    });

    it("PATCH: its read is retried, its write then applies once", async () => {
      const tenant = newTenant();
      const who = callers(tenant);
      const [created] = await seed(await who.admin(), [communicationBody()]);
      const db = flaky((op, n) => (n === 1 && op.kind !== "batch" ? lost() : undefined));
      const res = await send(db, `/${created.id}`, {
        method: "PATCH",
        token: await who.admin(),
        body: { status: "delivered", occurred_at: new Date().toISOString() },
      });
      expect(res.status, res.text).toBe(200);
      expect(res.json.communication.status).toBe("delivered");
      expect(await events(tenant)).toBe(1);
    });
  });

  describe("D1 unavailable: 503 with Retry-After and the envelope", () => {
    it("a transient error that persists is retried with backoff, then 503", async () => {
      const tenant = newTenant();
      const db = flaky(() => lost());
      const res = await send(db, "", { token: await callers(tenant).viewer() });
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
      expect(res.headers.get("x-request-id")).toBeTruthy();
      expect(res.json).toEqual(UNAVAILABLE_BODY);
      expect(db.calls).toHaveLength(3);
      expectNoInternals(res.text);
      // The cause is logged for operators, not sent.
      expect(errorLog).toHaveBeenCalledWith(expect.stringContaining("Network connection lost"));
    });

    it.each([
      ["GET one", "GET", "/{id}"],
      ["GET events", "GET", "/{id}/events"],
      ["PATCH", "PATCH", "/{id}"],
      ["POST without a key", "POST", ""],
    ])("%s: single statements too (Drizzle wraps driver errors) -> 503", async (_name, method, path) => {
      const tenant = newTenant();
      const who = callers(tenant);
      const [created] = await seed(await who.admin(), [communicationBody()]);
      const db = flaky(() => lost());
      const body =
        method === "PATCH"
          ? { status: "read", occurred_at: new Date().toISOString() }
          : method === "POST"
            ? communicationBody()
            : undefined;
      const res = await send(db, path.replace("{id}", created.id), { method, token: await who.admin(), body });
      expect(res.status, res.text).toBe(503);
      expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
      expect(res.json).toEqual(UNAVAILABLE_BODY);
      expectNoInternals(res.text);
    });

    it.each([
      "D1_ERROR: D1 DB is overloaded. Too many requests queued.",
      "D1_ERROR: Cannot resolve D1 DB due to transient issue on remote node.",
      "D1_ERROR: internal error; reference = 3ujgq4s9jgo2q8rv5b0s5e8k",
    ])("%s -> 503 without piling retries on it", async (message) => {
      const db = flaky(() => new Error(message));
      const res = await send(db, "", { token: await callers(newTenant()).viewer() });
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
      expect(res.json).toEqual(UNAVAILABLE_BODY);
      expect(db.calls).toHaveLength(1);
      expectNoInternals(res.text);
    });

    it.each(RESETS_AND_TIMEOUTS)("a write failing with %s -> 503 with Retry-After, not 500", async (message) => {
      const tenant = newTenant();
      const db = flaky(() => new Error(message));
      const res = await send(db, "", {
        method: "POST",
        token: await callers(tenant).admin(),
        body: communicationBody(),
      });
      expect(res.status, res.text).toBe(503);
      expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
      expect(res.json).toEqual(UNAVAILABLE_BODY);
      expect(db.calls).toHaveLength(1); // a write is never retried here
      expect(await rows(tenant)).toBe(0);
    });

    it("localised", async () => {
      const db = flaky(() => lost());
      const res = await send(db, "?language=ar", { token: await callers(newTenant()).viewer() });
      expect(res.status).toBe(503);
      expect(res.json.message).toBe("الخدمة غير متاحة مؤقتًا، يرجى المحاولة لاحقًا");
    });
  });

  describe("a failed write leaves nothing behind", () => {
    it("create with a key: the batch never reaches D1 -> 503, no row, no key; the retry then creates one", async () => {
      const tenant = newTenant();
      const token = await callers(tenant).admin();
      const body = communicationBody();
      const db = flaky((op) => (op.kind === "batch" ? lost() : undefined));
      const res = await send(db, "", { method: "POST", token, body, key: "write-fails" });
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
      // Writes are not retried by the service: the caller retries with its key.
      expect(db.calls.filter((c) => c.kind === "batch")).toHaveLength(1);
      expect(await rows(tenant)).toBe(0);
      expect(await keys(tenant)).toBe(0);

      const retry = await send(
        flaky(() => undefined),
        "",
        { method: "POST", token, body, key: "write-fails" },
      );
      expect(retry.status, retry.text).toBe(201);
      expect(retry.headers.get("idempotent-replayed")).toBeNull();
      expect(await rows(tenant)).toBe(1);
    });

    it("create with a key: the batch fails inside D1 after its statements ran -> rolled back, 500 without internals", async () => {
      const tenant = newTenant();
      const who = callers(tenant);
      const body = communicationBody();
      const db = flaky((op) => (op.kind === "batch" ? "rollback" : undefined));
      const res = await send(db, "", { method: "POST", token: await who.admin(), body, key: "rolled-back" });
      expect(res.status).toBe(500);
      expect(res.json).toEqual({ success: false, message: "Internal server error" });
      expectNoInternals(res.text);
      expect(await rows(tenant)).toBe(0);
      expect(await keys(tenant)).toBe(0);
      // The totals trigger ran inside the batch and was rolled back with it.
      expect(
        await countSql("SELECT coalesce(sum(n), 0) AS n FROM communication_totals WHERE tenant_id = ?", tenant),
      ).toBe(0);

      const retry = await send(
        flaky(() => undefined),
        "",
        {
          method: "POST",
          token: await who.admin(),
          body,
          key: "rolled-back",
        },
      );
      expect(retry.status).toBe(201);
      expect(retry.headers.get("idempotent-replayed")).toBeNull();
      const listed = await send(
        flaky(() => undefined),
        "",
        { token: await who.viewer() },
      );
      expect(listed.json.total).toBe(1);
    });

    it("create without a key: the insert fails -> 503, not retried, no row", async () => {
      const tenant = newTenant();
      // A create with a recipient address is a batch (insert + adoption of
      // unattributed inbound messages): the call that starts with the insert fails.
      const db = flaky((op) => (/^insert/i.test(op.sql[0] ?? "") ? lost() : undefined));
      const res = await send(db, "", {
        method: "POST",
        token: await callers(tenant).admin(),
        body: communicationBody(),
      });
      expect(res.status, res.text).toBe(503);
      expect(db.calls).toHaveLength(1);
      expect(await rows(tenant)).toBe(0);
    });

    it("a commit whose answer is lost: the caller's retry with the same key returns the original, one row", async () => {
      const tenant = newTenant();
      const token = await callers(tenant).admin();
      const body = communicationBody();
      const db = flaky((op) => (op.kind === "batch" ? "lose-response" : undefined));
      const res = await send(db, "", { method: "POST", token, body, key: "answer-lost" });
      expect(res.status).toBe(503);
      expect(await rows(tenant)).toBe(1);

      const retry = await send(
        flaky(() => undefined),
        "",
        { method: "POST", token, body, key: "answer-lost" },
      );
      expect(retry.status).toBe(201);
      expect(retry.headers.get("idempotent-replayed")).toBe("true");
      expect(await rows(tenant)).toBe(1);
    });

    it("PATCH: the update batch fails inside D1 -> status unchanged, no event", async () => {
      const tenant = newTenant();
      const who = callers(tenant);
      const [created] = await seed(await who.admin(), [communicationBody()]);
      const db = flaky((op) => (op.kind === "batch" ? "rollback" : undefined));
      const res = await send(db, `/${created.id}`, {
        method: "PATCH",
        token: await who.admin(),
        body: { status: "failed", occurred_at: new Date().toISOString() },
      });
      expect(res.status).toBe(500);
      expectNoInternals(res.text);
      expect(
        await countSql("SELECT count(*) AS n FROM communications WHERE tenant_id = ? AND status = 'sent'", tenant),
      ).toBe(1);
      expect(await events(tenant)).toBe(0);
    });
  });

  describe("unknown errors are a bare 500", () => {
    it("the log line names the SQL and the driver error, never the values bound to it", async () => {
      const tenant = newTenant();
      // Without a recipient address the create is the single insert statement (Drizzle names its SQL).
      const body = communicationBody({
        content: "PRIVATE message for +15550001111",
        communication_details: { template_variables: { phone: "+15550001111" } },
      });
      const db = flaky(() => new Error("D1_ERROR: UNIQUE constraint failed: communications.id: SQLITE_CONSTRAINT"));
      const res = await send(db, "", { method: "POST", token: await callers(tenant).admin(), body });
      expect(res.status).toBe(500);
      const logged = errorLog.mock.calls.map((c: unknown[]) => String(c[0])).join("\n");
      expect(logged).toContain("SQLITE_CONSTRAINT");
      expect(logged).toContain("insert into");
      expect(logged).not.toContain("PRIVATE message");
      expect(logged).not.toContain("+15550001111");
    });

    it.each([
      ["an SQL error", new Error("D1_ERROR: no such table: communications: SQLITE_ERROR")],
      ["a constraint error", new Error("D1_ERROR: CHECK constraint failed: type IN ('sms')")],
      ["a driver TypeError", new TypeError("Cannot read properties of undefined (reading 'results')")],
      ["a thrown string", "select * from communications"],
    ])("%s", async (_name, thrown) => {
      const db = flaky(() => thrown);
      const res = await send(db, "?language=fa", { token: await callers(newTenant()).viewer() });
      expect(res.status).toBe(500);
      expect(res.json).toEqual({ success: false, message: expect.any(String) });
      expect(res.json.message).not.toBe("Internal server error"); // localised (fa)
      expectNoInternals(res.text);
      expect(res.text).not.toMatch(/constraint|TypeError|communications|undefined/);
      // Unknown errors are not retried.
      expect(db.calls).toHaveLength(1);
    });
  });
});
