/**
 * The app's Hono environment. `Bindings` is the `Env` interface that
 * `wrangler types` generates from wrangler.toml (worker-configuration.d.ts);
 * `Variables` are set once per request by middleware and read through `c.var`.
 */
import type { Principal } from "./auth/principal";
import type { Database, DbStats } from "./db/client";
import type { Language } from "./i18n/messages";

export interface Variables {
  requestId: string;
  lang: Language;
  /** Counters of the request's D1 work, for the log line and Server-Timing. */
  dbStats: DbStats;
  /** The caller's x-d1-bookmark, when well formed (`<shard>:<bookmark>` or a bare one). */
  bookmark: string | undefined;
  /** The tenant's shard and the request's D1 session on it; set by tenantDb() (src/shards/tenant-db.ts). */
  shard: { tenantId: string; name: string; frozen: boolean; subscriptions: number; db: Database } | undefined;
  /** Whether the directory entry came from the isolate's cache. */
  directoryCached: boolean | undefined;
  /** A 503 that is an expected state (a tenant move's freeze): the request line is a warning, not an error. */
  expectedUnavailable?: boolean;
  /** The authenticated caller: absent until the auth middleware ran (see AuthedEnv). */
  principal?: Principal;
}

export interface AppEnv {
  Bindings: Env;
  Variables: Variables;
}

/** The environment of protected routes: behind `requireAuth`, the caller is always known. */
export interface AuthedEnv extends AppEnv {
  Variables: Variables & { principal: Principal };
}
