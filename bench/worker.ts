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
 *  - GET /__bench/d1-session-limits: plus the two rate-limit calls every
 *    authenticated request makes (src/middleware/auth.ts);
 *  - GET /__bench/floor: plus one log line with the fields of the app's,
 *    written by the app's own logger (src/lib/logger.ts, as
 *    src/middleware/context.ts does): the duty-matched floor, what any
 *    Worker with this service's duties pays whatever its code;
 *  - GET /__bench/floor-object-log: the same, but the line is handed to
 *    console.log as an object rather than a JSON string (the alternative
 *    way to write a structured line; the bench prices both);
 *  - GET /__bench/io/<name>: the D1 statements an app request made, replayed
 *    on the plain binding with nothing else (no router, no validation, no
 *    auth, no ORM): that operation's own D1 I/O without the framework. The
 *    statements are recorded from one app request sent with the header
 *    `x-bench-record: <name>` (the probe of scripts/bench.mjs).
 */
import worker from "../src/index";
import { log } from "../src/lib/logger";
import { uuidv7 } from "../src/lib/uuid";

export { TenantMove } from "../src/index";

const STATIC_BODY = JSON.stringify({ success: true, message: "ok" });
const JSON_HEADERS = { "content-type": "application/json" };
const ONE = "SELECT 1 AS one";

/** One statement as the app bound it. */
interface Recorded {
  sql: string;
  params: unknown[];
}
/** Per operation name: the app's D1 calls in order, each a batch of statements. */
const recordings = new Map<string, { calls: Recorded[][]; id?: string; key?: string }>();

/**
 * A D1 binding that records every statement the app sends through it
 * (including those of its sessions) and otherwise behaves as the binding.
 */
function recordingBinding(db: D1Database, calls: Recorded[][]): D1Database {
  const wrapStatement = (stmt: D1PreparedStatement, rec: Recorded): D1PreparedStatement =>
    new Proxy(stmt, {
      get(target, prop) {
        if (prop === "bind") {
          return (...params: unknown[]) => wrapStatement(target.bind(...params), { sql: rec.sql, params });
        }
        if (prop === RECORD) return rec;
        const value = Reflect.get(target, prop, target);
        if (typeof value !== "function") return value;
        if (prop === "all" || prop === "run" || prop === "raw" || prop === "first") {
          return (...args: unknown[]) => {
            calls.push([rec]);
            return value.apply(target, args);
          };
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
          return (statements: D1PreparedStatement[]) => {
            calls.push(statements.map((s) => (s as unknown as Record<symbol, Recorded>)[RECORD] as Recorded));
            return target.batch(statements);
          };
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
 * Replays an operation's D1 calls on the plain binding. A create replayed
 * as recorded would collide with its own first row, so the new row's id and
 * the Idempotency-Key are replaced by fresh ones wherever they appear.
 */
async function replay(db: D1Database, name: string): Promise<Response> {
  const recording = recordings.get(name);
  if (!recording) return new Response(`no recording for ${name}`, { status: 404 });
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
    const statements = call.map((s) => db.prepare(s.sql).bind(...s.params.map(param)));
    const done = statements.length === 1 ? [await statements[0]?.all()] : await db.batch(statements);
    results.push(done.map((r) => r?.results));
  }
  return new Response(JSON.stringify({ success: true, results }), { headers: JSON_HEADERS });
}

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

async function sessionQuery(env: Env, limits: boolean) {
  const session = env.SHARD_0.withSession("first-unconstrained");
  const [result] = await Promise.all([
    session.prepare(ONE).all<{ one: number }>(),
    limits && env.TENANT_RATE_LIMITER.limit({ key: "tenant:bench" }),
    limits && env.USER_RATE_LIMITER.limit({ key: "user:bench" }),
  ]);
  return result;
}

const json = (one: number | undefined) =>
  new Response(JSON.stringify({ success: true, one: one ?? 0 }), { headers: JSON_HEADERS });

export default {
  async fetch(request, env, ctx) {
    const started = performance.now();
    const { pathname } = new URL(request.url);
    switch (pathname) {
      case "/__bench/static":
        return new Response(STATIC_BODY, { headers: JSON_HEADERS });
      case "/__bench/d1":
        return json((await env.SHARD_0.prepare(ONE).first<{ one: number }>())?.one);
      case "/__bench/d1-session":
        return json((await sessionQuery(env, false)).results[0]?.one);
      case "/__bench/d1-session-limits":
        return json((await sessionQuery(env, true)).results[0]?.one);
      case "/__bench/floor":
      case "/__bench/floor-object-log": {
        const result = await sessionQuery(env, true);
        const response = json(result.results[0]?.one);
        logLine(started, request, response.status, result.meta, pathname.endsWith("object-log"));
        return response;
      }
    }
    if (pathname.startsWith("/__bench/io/")) return replay(env.SHARD_0, decodeURIComponent(pathname.slice(12)));

    const record = request.headers.get("x-bench-record");
    if (!record) return worker.fetch(request, env, ctx);
    const calls: Recorded[][] = [];
    const response = await worker.fetch(request, { ...env, SHARD_0: recordingBinding(env.SHARD_0, calls) }, ctx);
    // JSON answers name the created row; a webhook's TwiML answer names nothing.
    const isJson = response.headers.get("content-type")?.includes("json");
    const body = (isJson ? await response.clone().json() : {}) as { communication?: { id?: string } };
    recordings.set(record, {
      calls,
      id: body.communication?.id,
      key: request.headers.get("idempotency-key") ?? undefined,
    });
    return response;
  },
  scheduled: worker.scheduled,
} satisfies ExportedHandler<Env>;
