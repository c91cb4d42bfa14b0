/**
 * The secret a webhook call is verified with, per (tenant, provider).
 * Cached in the isolate for a minute, the absence of a connection included:
 * a flood of junk at a tenant's URL then costs an HMAC (or one ECDSA verify)
 * per call and no D1 read (README, "Provider webhooks"). A tenant the
 * directory does not know is never placed by a lookup: it costs at most one
 * directory read, cached per isolate (docs/security.md). A PUT or DELETE
 * clears the entry in its own isolate at once; other isolates see it within
 * CACHE_TTL_MS. While D1 is unavailable an expired entry is still used, so
 * verified calls keep being queued rather than refused.
 */
import { config } from "../config";
import type { DbStats } from "../db/client";
import type { Provider } from "../db/schema";
import { knownTenantDatabase } from "../db/tenant";
import { toApiError } from "../lib/error-handler";
import { decryptSecret } from "../providers/secrets";
import { ProviderConnectionStore } from "../providers/store";

export const CACHE_TTL_MS = 60_000;
const MAX_ENTRIES = 10_000;
const cache = new Map<string, { secret: string | null; at: number }>();

const cacheKey = (tenantId: string, provider: Provider) => `${tenantId}:${provider}`;

export function forgetConnection(tenantId: string, provider: Provider) {
  cache.delete(cacheKey(tenantId, provider));
}

export async function connectionSecret(
  env: Env,
  tenantId: string,
  provider: Provider,
  stats: DbStats,
): Promise<string | undefined> {
  const key = cacheKey(tenantId, provider);
  const hit = cache.get(key);
  if (hit && Date.now() - hit.at < CACHE_TTL_MS) return hit.secret ?? undefined;
  try {
    // A tenant the directory does not know has no connection: refused without
    // placing it (an unverified call writes nothing), and without an entry
    // here (the directory lookup caches the absence; made-up tenants must not
    // push real connections out of this cache).
    const db = await knownTenantDatabase(env, tenantId, stats);
    if (!db) return undefined;
    const row = await new ProviderConnectionStore(db, tenantId).get(provider);
    const secret = row ? await decryptSecret(config(env).providerSecretsKey, tenantId, provider, row.secret) : null;
    if (cache.size >= MAX_ENTRIES) cache.delete(cache.keys().next().value as string);
    cache.delete(key);
    cache.set(key, { secret, at: Date.now() });
    return secret ?? undefined;
  } catch (err) {
    if (hit && toApiError(err).code === "db_unavailable") return hit.secret ?? undefined;
    throw err;
  }
}
