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
  /** The request's D1 session, behind Drizzle. */
  db: Database;
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
