/**
 * Bench-only Worker entry (never deployed): the baselines of `npm run bench`,
 * served by the same workerd, with the same bindings and the same local D1
 * as the real app, which handles every other path. The bench tenant lives
 * on SHARD_0 (scripts/bench.mjs seeds it there), so the baselines query it. Each baseline adds one
 * duty to the previous one, so their differences price each duty:
 *  - GET /__bench/static: a static JSON body, no D1 (the runtime's floor);
 *  - GET /__bench/d1: one trivial D1 query on the plain binding;
 *  - GET /__bench/d1-session: the same query inside a D1 session
 *    (`withSession`, as every app request opens one; src/db/client.ts);
 *  - GET /__bench/d1-session-limits-parallel: plus the two rate-limit calls,
 *    made at the same time (what a Worker without the app's ordering pays);
 *  - GET /__bench/d1-session-limits: the two calls one after the other, as
 *    src/middleware/rate-limit.ts makes them (the tenant's bucket is only
 *    charged for a request its user's bucket let through: issue 11);
 *  - GET /__bench/floor: plus one log line with the fields of the app's,
 *    written by the app's own logger (src/lib/logger.ts, as
 *    src/middleware/context.ts does): the one-query floor;
 *  - GET /__bench/floor-object-log: the same, but the line is handed to
 *    console.log as an object rather than a JSON string (the alternative
 *    way to write a structured line; the bench prices both);
 *  - GET /__bench/io/<name>: the D1 statements an app request made, replayed
 *    on the plain binding with nothing else (no router, no validation, no
 *    auth, no ORM): that operation's own D1 I/O without the framework;
 *  - /__bench/floor/<name>: the operation's duty-matched floor, sent the
 *    operation's own request (method, headers, body): its JSON body parsed,
 *    the same statements inside a D1 session, the two limit() calls in the
 *    app's order, the rows as the JSON body with the app's response headers
 *    (security, rate limit, request id, timing: the API's contract) and one
 *    log line. What any Worker
 *    serving this operation with this service's duties pays, whatever its
 *    code; the app's request minus this is ours;
 *  - GET /__bench/ours/<name>?n=N&run=app|floor: ours apart from the
 *    emulator. The recorded app request (or its floor) N times in a loop in
 *    this isolate, with D1 answered from the recording and the limiters and
 *    console.log answering at once: no Durable Object round trip, no SQLite,
 *    no log forwarding, only JavaScript. scripts/bench.mjs reads the
 *    process's CPU time around the two loops; their difference per request
 *    is the app's own code.
 *  - GET /__bench/export-floor?rows=N: the export's floor (issue 20): the
 *    bench tenant's newest N communications streamed as NDJSON by keyset
 *    pages of 1,000 on the plain binding, each row shaped as the API returns
 *    it (communication_details parsed), pulled one page at a time as the
 *    app's export is; no router, no auth, no rate limit, no session, no log.
 * The statements and results are recorded from one app request sent with the
 * header `x-bench-record: <name>` (the probe of scripts/bench.mjs).
 *
 * Privacy (scripts/bench/privacy.mjs, issue 21):
 *  - POST /__bench/sql: the given statements as one batch on SHARD_0, with
 *    D1's rows read and written: the bare SQL an erasure or a redaction
 *    cannot do with less (the baseline of its figures);
 *  - POST /__bench/redact?now=<ms>: one run of the scheduled redaction job
 *    (src/privacy/redaction.ts) as if at `now`, with its D1 figures.
 */
import worker from "../src/index";
import { log } from "../src/lib/logger";
import { uuidv7 } from "../src/lib/uuid";
import { redactDue } from "../src/privacy/redaction";

export { CustomerErasure, StreamHub, TenantMove } from "../src/index";

const STATIC_BODY = JSON.stringify({ success: true, message: "ok" });
const BENCH_TENANT = "b0000000-0000-4000-8000-000000000001";
/** Rows per page of the export floor: the app's EXPORT_PAGE_ROWS (src/export/routes.ts). */
const EXPORT_PAGE = 1000;

/** The export's floor (see the module comment): the same rows, the same shape, nothing else. */
function exportFloor(env: Env, max: number) {
  const encoder = new TextEncoder();
  let after: string | undefined;
  let sent = 0;
  const line = (r: Record<string, unknown>) =>
    `${JSON.stringify({
      id: r.id,
      tenant_id: r.tenant_id,
      customer_id: r.customer_id,
      delivery_id: r.delivery_id,
      type: r.type,
      direction: r.direction,
      status: r.status,
      content: r.content,
      communication_details: JSON.parse(r.communication_details as string),
      provider: r.provider,
      provider_message_id: r.provider_message_id,
      created_by: r.created_by,
      created_at: r.created_at,
      updated_at: r.updated_at,
    })}\n`;
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const take = Math.min(EXPORT_PAGE, max - sent);
        const { results } =
          take > 0
            ? await env.SHARD_0.prepare(
                `SELECT * FROM communications WHERE tenant_id = ?${after ? " AND id < ?" : ""} ORDER BY id DESC LIMIT ?`,
              )
                .bind(BENCH_TENANT, ...(after ? [after] : []), take)
                .all<Record<string, unknown>>()
            : { results: [] };
        if (results.length) controller.enqueue(encoder.encode(results.map(line).join("")));
        sent += results.length;
        after = results.at(-1)?.id as string | undefined;
        if (results.length < take || take <= 0) controller.close();
      },
    },
    { highWaterMark: 0 },
  );
  return new Response(body, { headers: { "content-type": "application/x-ndjson; charset=utf-8" } });
}
const JSON_HEADERS = { "content-type": "application/json" };
const ONE = "SELECT 1 AS one";

/** One statement as the app bound it. */
interface Recorded {
  sql: string;
  params: unknown[];
}
/** One D1 call of the app (a statement run alone, or a batch) and what D1 answered. */
interface Call {
  statements: Recorded[];
  results?: D1Result[];
}
/** Per operation name: the app's request, and its D1 calls in order. */
interface Recording {
  calls: Call[];
  request: { method: string; url: string; headers: [string, string][]; body?: string };
  /** The app's response headers (the floor answers with the same set). */
  responseHeaders: [string, string][];
  id?: string;
  key?: string;
}
const recordings = new Map<string, Recording>();

/**
 * A D1 binding that records every statement the app sends through it
 * (including those of its sessions), with D1's answer, and otherwise behaves
 * as the binding.
 */
function recordingBinding(db: D1Database, calls: Call[]): D1Database {
  const record = async <T>(statements: Recorded[], run: () => Promise<T>, toResults: (r: T) => D1Result[]) => {
    const call: Call = { statements };
    calls.push(call);
    const result = await run();
    call.results = toResults(result);
    return result;
  };
  const wrapStatement = (stmt: D1PreparedStatement, rec: Recorded): D1PreparedStatement =>
    new Proxy(stmt, {
      get(target, prop) {
        if (prop === "bind") {
          return (...params: unknown[]) => wrapStatement(target.bind(...params), { sql: rec.sql, params });
        }
        if (prop === RECORD) return rec;
        const value = Reflect.get(target, prop, target);
        if (typeof value !== "function") return value;
        if (prop === "all" || prop === "run") {
          return (...args: unknown[]) =>
            record(
              [rec],
              () => value.apply(target, args) as Promise<D1Result>,
              (r) => [r],
            );
        }
        return value.bind(target);
      },
    });
  const wrapSource = <T extends D1Database | D1DatabaseSession>(source: T): T =>
    new Proxy(source, {
      get(target, prop) {
        if (prop === "prepare") {
          return (sql: string) => wrapStatement(target.prepare(sql), { sql, params: [] });
        }
        if (prop === "batch") {
          return (statements: D1PreparedStatement[]) =>
            record(
              statements.map((s) => (s as unknown as Record<symbol, Recorded>)[RECORD] as Recorded),
              () => target.batch(statements),
              (r) => r,
            );
        }
        if (prop === "withSession") {
          return (constraint?: string) => wrapSource((target as D1Database).withSession(constraint));
        }
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  return wrapSource(db);
}
const RECORD = Symbol("recorded statement");

/**
 * Replays an operation's D1 calls on `db` (the plain binding or a session).
 * A create replayed as recorded would collide with its own first row, so the
 * new row's id and the Idempotency-Key are replaced by fresh ones wherever
 * they appear.
 */
async function replay(db: D1Database | D1DatabaseSession, recording: Recording): Promise<unknown[]> {
  const fresh = new Map<string, string>();
  if (recording.id) fresh.set(recording.id, uuidv7());
  if (recording.key) fresh.set(recording.key, crypto.randomUUID());
  const param = (p: unknown) => {
    if (typeof p !== "string") return p;
    let out = p;
    for (const [from, to] of fresh) out = out.replaceAll(from, to);
    return out;
  };
  const results: unknown[] = [];
  for (const call of recording.calls) {
    const statements = call.statements.map((s) => db.prepare(s.sql).bind(...s.params.map(param)));
    const done = statements.length === 1 ? [await statements[0]?.all()] : await db.batch(statements);
    results.push(done.map((r) => r?.results));
  }
  return results;
}

/**
 * A D1 binding that answers each call with the recorded result of the call
 * at the same position, at once (no SQLite, no Durable Object round trip):
 * the isolated loops' database. `rewind()` starts the next request's
 * sequence. Results are copied, so that nothing the app does to a row leaks
 * into the next round (the copy is paid by both loops alike).
 */
function answeringBinding(calls: Call[]) {
  let next = 0;
  const take = () => {
    const call = calls[next++ % calls.length];
    return structuredClone(call?.results ?? []);
  };
  const statement = (): D1PreparedStatement => {
    const stmt = {
      bind: () => stmt,
      all: async () => take()[0],
      run: async () => take()[0],
      first: async () => take()[0]?.results[0] ?? null,
      raw: async () => (take()[0]?.results ?? []).map((row) => Object.values(row as object)),
    };
    return stmt as unknown as D1PreparedStatement;
  };
  const session = {
    prepare: statement,
    batch: async () => take(),
    getBookmark: () => null,
    withSession: () => session,
  };
  return { binding: session as unknown as D1Database, rewind: () => (next = 0) };
}
const ALLOW: RateLimit = { limit: async () => ({ success: true }) };

/** The duty-matched floor's log line: the fields of the app's request line, filled in. */
function logLine(started: number, request: Request, status: number, meta: D1Meta | undefined, asObject = false) {
  const fields = {
    request_id: crypto.randomUUID(),
    method: request.method,
    route: "/__bench/floor",
    path: "/__bench/floor",
    status,
    duration_ms: Math.round((performance.now() - started) * 10) / 10,
    tenant_id: "b0000000-0000-4000-8000-000000000001",
    user_id: "b0000000-0000-4000-8000-0000000000aa",
    d1: {
      queries: 1,
      rows_read: meta?.rows_read ?? 0,
      rows_written: meta?.rows_written ?? 0,
      duration_ms: Math.round((meta?.duration ?? 0) * 10) / 10,
    },
  };
  if (asObject) console.log({ level: "info", msg: "request", ...fields });
  else log.info("request", fields);
}

/** The two limit() calls: in the app's order (user, then tenant if the user passed), or at once. */
async function limits(env: Env, parallel: boolean) {
  if (parallel) {
    await Promise.all([
      env.USER_RATE_LIMITER.limit({ key: "user:bench" }),
      env.TENANT_RATE_LIMITER.limit({ key: "tenant:bench" }),
    ]);
  } else if ((await env.USER_RATE_LIMITER.limit({ key: "user:bench" })).success) {
    await env.TENANT_RATE_LIMITER.limit({ key: "tenant:bench" });
  }
}

async function sessionQuery(env: Env, limit: "none" | "parallel" | "in order") {
  const session = env.SHARD_0.withSession("first-unconstrained");
  if (limit !== "none") await limits(env, limit === "parallel");
  return session.prepare(ONE).all<{ one: number }>();
}

const json = (one: number | undefined) =>
  new Response(JSON.stringify({ success: true, one: one ?? 0 }), { headers: JSON_HEADERS });

/**
 * An operation's duty-matched floor: the request's body read and parsed
 * (a create's JSON, a provider's form), the limits in order, its D1 calls in a session, the rows as
 * JSON, one log line.
 */
async function operationFloor(env: Env, recording: Recording, started: number, request: Request) {
  if (request.body) {
    const text = await request.text();
    if (request.headers.get("content-type")?.includes("json")) JSON.parse(text);
    else new URLSearchParams(text); // a provider's form-encoded callback
  }
  await limits(env, false);
  const session = env.SHARD_0.withSession("first-unconstrained");
  const results = await replay(session, recording);
  // The same response headers as the app's answer: security headers, rate
  // limit policy, request id, timing, bookmark. They are the API's contract
  // (issue 11), so any Worker serving it sends them and pays for them.
  const response = new Response(JSON.stringify({ success: true, results }), {
    headers: recording.responseHeaders,
  });
  logLine(started, request, response.status, undefined);
  return response;
}

/**
 * The isolated loop: the recorded request (`run=app`) or its floor
 * (`run=floor`) `n` times, D1 answered from the recording, the limiters and
 * console.log answering at once. The bench reads this process's CPU time
 * around it; the answer says how many requests ran.
 */
async function isolatedLoop(env: Env, ctx: ExecutionContext, recording: Recording, n: number, run: string) {
  const db = answeringBinding(recording.calls);
  const stubbed: Env = {
    ...env,
    SHARD_0: db.binding,
    USER_RATE_LIMITER: ALLOW,
    TENANT_RATE_LIMITER: ALLOW,
    CUSTOMER_RATE_LIMITER: ALLOW,
  };
  const { method, url, headers, body } = recording.request;
  const quiet = console.log;
  console.log = () => {};
  let failed = 0;
  try {
    for (let i = 0; i < n; i++) {
      db.rewind();
      const request = new Request(url, { method, headers, body });
      const response =
        run === "floor"
          ? await operationFloor(stubbed, recording, performance.now(), request)
          : await worker.fetch(request, stubbed, ctx);
      await response.arrayBuffer();
      if (response.status >= 300) failed++;
    }
  } finally {
    console.log = quiet;
  }
  return new Response(JSON.stringify({ success: failed === 0, n, failed }), {
    status: failed ? 500 : 200,
    headers: JSON_HEADERS,
  });
}

export default {
  async fetch(request, env, ctx) {
    const started = performance.now();
    const { pathname, searchParams } = new URL(request.url);
    switch (pathname) {
      case "/__bench/static":
        return new Response(STATIC_BODY, { headers: JSON_HEADERS });
      case "/__bench/d1":
        return json((await env.SHARD_0.prepare(ONE).first<{ one: number }>())?.one);
      case "/__bench/d1-session":
        return json((await sessionQuery(env, "none")).results[0]?.one);
      case "/__bench/d1-session-limits-parallel":
        return json((await sessionQuery(env, "parallel")).results[0]?.one);
      case "/__bench/d1-session-limits":
        return json((await sessionQuery(env, "in order")).results[0]?.one);
      case "/__bench/export-floor":
        return exportFloor(env, Number(searchParams.get("rows") ?? Number.MAX_SAFE_INTEGER));
      case "/__bench/floor":
      case "/__bench/floor-object-log": {
        const result = await sessionQuery(env, "in order");
        const response = json(result.results[0]?.one);
        logLine(started, request, response.status, result.meta, pathname.endsWith("object-log"));
        return response;
      }
    }
    if (pathname === "/__bench/sql" && request.method === "POST") {
      const { statements } = (await request.json()) as { statements: Recorded[] };
      const t0 = performance.now();
      const results = await env.SHARD_0.batch(statements.map((s) => env.SHARD_0.prepare(s.sql).bind(...s.params)));
      const ms = performance.now() - t0;
      const sum = (k: "rows_read" | "rows_written") => results.reduce((n, r) => n + (r.meta[k] ?? 0), 0);
      // meta.changes counts what triggers wrote too (the search index's): rows a statement
      // names are counted by RETURNING instead.
      const changes = results.reduce((n, r) => n + (r.meta.changes ?? 0), 0);
      const returned = results.reduce((n, r) => n + (r.results?.length ?? 0), 0);
      const figures = { ms, rows_read: sum("rows_read"), rows_written: sum("rows_written"), changes, returned };
      return new Response(JSON.stringify(figures), { headers: JSON_HEADERS });
    }
    if (pathname === "/__bench/redact" && request.method === "POST") {
      const t0 = performance.now();
      const result = await redactDue(env, Number(searchParams.get("now") ?? Date.now()));
      return new Response(JSON.stringify({ ms: performance.now() - t0, ...result }), { headers: JSON_HEADERS });
    }
    const [, kind, name] = /^\/__bench\/(io|floor|ours)\/(.+)$/.exec(pathname) ?? [];
    if (kind && name) {
      const recording = recordings.get(decodeURIComponent(name));
      if (!recording) return new Response(`no recording for ${name}`, { status: 404 });
      if (kind === "io") {
        const results = await replay(env.SHARD_0, recording);
        return new Response(JSON.stringify({ success: true, results }), { headers: JSON_HEADERS });
      }
      if (kind === "floor") return operationFloor(env, recording, started, request);
      return isolatedLoop(env, ctx, recording, Number(searchParams.get("n") ?? 100), searchParams.get("run") ?? "app");
    }

    const record = request.headers.get("x-bench-record");
    if (!record) return worker.fetch(request, env, ctx);
    const calls: Call[] = [];
    const body = request.method === "GET" ? undefined : await request.clone().text();
    const response = await worker.fetch(request, { ...env, SHARD_0: recordingBinding(env.SHARD_0, calls) }, ctx);
    // JSON answers name the created row; a webhook's TwiML answer names nothing.
    const isJson = response.headers.get("content-type")?.includes("json");
    const answer = (isJson ? await response.clone().json() : {}) as { communication?: { id?: string } };
    const headers = [...request.headers].filter(([h]) => h !== "x-bench-record");
    recordings.set(record, {
      calls,
      request: { method: request.method, url: request.url, headers, body },
      responseHeaders: [...response.headers].filter(([h]) => h !== "content-length"),
      id: answer.communication?.id,
      key: request.headers.get("idempotency-key") ?? undefined,
    });
    return response;
  },
  scheduled: worker.scheduled,
} satisfies ExportedHandler<Env>;
