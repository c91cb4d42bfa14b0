/**
 * The request's database handle: a D1 Sessions API session (read replicas
 * with read-your-own-writes through bookmarks), wrapped so that every query
 *  - adds its D1 `meta` (rows read/written, duration) to the request's stats,
 *    which feed the log line and the Server-Timing header;
 *  - is retried with backoff when it is a read and D1 reports one of the
 *    transient errors Cloudflare lists as retryable;
 *  - surfaces "D1 is unavailable" as one typed error (503 + Retry-After).
 * Writes are never retried here: a create is made safe to retry by the
 * caller's Idempotency-Key instead.
 *
 * @see https://developers.cloudflare.com/d1/best-practices/read-replication/
 * @see https://developers.cloudflare.com/d1/best-practices/retry-queries/
 */
import { type DrizzleD1Database, drizzle } from "drizzle-orm/d1";
import { fenceRefused, unavailable } from "../lib/errors";

export interface DbStats {
  queries: number;
  rowsRead: number;
  rowsWritten: number;
  /** Wall time spent waiting on D1, in ms. */
  durationMs: number;
}

export const newDbStats = (): DbStats => ({ queries: 0, rowsRead: 0, rowsWritten: 0, durationMs: 0 });

/** The stats as log fields (snake_case, like every log field). */
export const d1Fields = (stats: DbStats) => ({
  queries: stats.queries,
  rows_read: stats.rowsRead,
  rows_written: stats.rowsWritten,
  duration_ms: Math.round(stats.durationMs * 10) / 10,
});

/**
 * Transient: the same read may succeed a moment later. Matched without case:
 * D1 and workerd word these differently across versions ("Client
 * disconnected", "client disconnected"), and a reset or timeout of the
 * database's storage object is reported in several phrasings.
 */
const RETRYABLE = [
  "Network connection lost",
  "storage caused object to be reset",
  "reset because its code was updated",
  "exceeded timeout",
  "was reset",
  "client disconnected",
];
const UNAVAILABLE = [
  ...RETRYABLE,
  "D1 DB is overloaded",
  "Too many requests queued",
  "Cannot resolve D1 DB due to transient issue",
  "internal error",
];

/** Raised by the shard's fence triggers while the tenant is being moved (migrations/0003_shards.sql). */
const FROZEN = ["tenant_frozen"];

const matches = (err: unknown, needles: string[]) => {
  const text = String(err instanceof Error ? err.message : err).toLowerCase();
  return needles.some((n) => text.includes(n.toLowerCase()));
};

export const isRetryable = (err: unknown) => matches(err, RETRYABLE);

/** Attempts for a read: the first plus two retries (about 25 ms, then 100 ms, with jitter). */
const READ_ATTEMPTS = 3;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Any other failure of a statement or batch, with its SQL: the error log
 * names the query (src/lib/error-handler.ts), never the values bound to it.
 * Its message is the driver's, so checks on the message (a UNIQUE violation
 * of an idempotency key) read it as they read the driver's error.
 */
export class QueryError extends Error {
  constructor(
    readonly query: string,
    cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = "QueryError";
  }
}

async function withRetry<T>(sqlText: () => string, isRead: boolean, run: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (err) {
      if (isRead && attempt < READ_ATTEMPTS && isRetryable(err)) {
        await sleep(25 * 4 ** (attempt - 1) * (0.5 + Math.random()));
        continue;
      }
      if (matches(err, FROZEN)) throw fenceRefused(err);
      throw matches(err, UNAVAILABLE) ? unavailable(err) : new QueryError(sqlText(), err);
    }
  }
}

const isReadSql = (sql: string) => /^\s*(select|with)\b/i.test(sql);

type Meta = { rows_read?: number; rows_written?: number; duration?: number } | undefined;

function record(stats: DbStats, metas: Meta[], elapsed: number) {
  stats.queries += metas.length;
  for (const m of metas) {
    stats.rowsRead += m?.rows_read ?? 0;
    stats.rowsWritten += m?.rows_written ?? 0;
  }
  stats.durationMs += elapsed;
}

type Source = D1Database | D1DatabaseSession;

/** A bound statement that remembers its SQL, so reads can be told from writes. */
class Statement {
  constructor(
    readonly inner: D1PreparedStatement,
    readonly sql: string,
    private readonly stats: DbStats,
  ) {}

  bind(...values: unknown[]) {
    return new Statement(this.inner.bind(...values), this.sql, this.stats);
  }

  private async exec<T extends { meta?: unknown }>(run: () => Promise<T>): Promise<T> {
    const started = Date.now();
    const result = await withRetry(() => this.sql, isReadSql(this.sql), run);
    record(this.stats, [result.meta as Meta], Date.now() - started);
    return result;
  }

  all<T = Record<string, unknown>>() {
    return this.exec(() => this.inner.all<T>());
  }

  run<T = Record<string, unknown>>() {
    return this.exec(() => this.inner.run<T>());
  }

  async first<T = Record<string, unknown>>(column?: string): Promise<T | null> {
    const { results } = await this.all<Record<string, unknown>>();
    const row = results[0];
    if (!row) return null;
    return (column ? row[column] : row) as T;
  }

  /**
   * D1's raw() returns no meta, so it is served from all(): columns keep
   * their SELECT order in each row object (Drizzle's own batch path relies on
   * the same), and our queries never select two columns of the same name.
   */
  async raw<T = unknown[]>(): Promise<T[]> {
    const { results } = await this.all<Record<string, unknown>>();
    return results.map((row) => Object.values(row) as T);
  }
}

/** The subset of D1Database that Drizzle's D1 driver uses, over a session. */
class InstrumentedD1 {
  constructor(
    private readonly source: Source,
    readonly stats: DbStats,
  ) {}

  prepare(sql: string) {
    return new Statement(this.source.prepare(sql), sql, this.stats);
  }

  async batch<T = unknown>(statements: Statement[]): Promise<D1Result<T>[]> {
    const started = Date.now();
    const allReads = statements.every((s) => isReadSql(s.sql));
    const results = await withRetry(
      () => statements.map((s) => s.sql).join("; "),
      allReads,
      () => this.source.batch<T>(statements.map((s) => s.inner)),
    );
    record(
      this.stats,
      results.map((r) => r.meta as Meta),
      Date.now() - started,
    );
    return results;
  }

  /** Latest bookmark of the session, for the x-d1-bookmark response header. */
  bookmark(): string | null {
    return "getBookmark" in this.source ? this.source.getBookmark() : null;
  }
}

export type Database = DrizzleD1Database & {
  /** The instrumented session under Drizzle (stats, retries of reads), for statements sent as is. */
  $client: D1Database;
  /** Latest bookmark of the session, for the x-d1-bookmark response header. */
  bookmark: () => string | null;
  stats: DbStats;
  /**
   * A fresh session that starts at the primary: for reading a row another
   * request has just written, which the request's own session (possibly on a
   * replica, or past a failed write that returned no bookmark) may not see yet.
   */
  primary: () => Database;
};

/**
 * Open the request's database. `bookmark` is the caller's x-d1-bookmark
 * header: reads then see at least that point in time, from any replica. It
 * may also be a session constraint ("first-primary"). Without either, the
 * first query may go to any replica ("first-unconstrained").
 */
export function createDb(binding: D1Database, bookmark: string | undefined, stats: DbStats): Database {
  const session =
    typeof binding.withSession === "function" ? binding.withSession(bookmark ?? "first-unconstrained") : binding;
  const client = new InstrumentedD1(session, stats);
  // Drizzle only calls prepare() and batch() on its client.
  // No `schema` option: it only serves Drizzle's relational `db.query` API,
  // which this service does not use, and drizzle() would rebuild its
  // relations config on every request (about 2% of a list's CPU in the bench).
  const orm = drizzle(client as unknown as D1Database);
  return Object.assign(orm, {
    bookmark: () => client.bookmark(),
    stats,
    // A new session whose first query goes to the primary, counted in the same stats.
    primary: () => createDb(binding, "first-primary", stats),
  });
}
