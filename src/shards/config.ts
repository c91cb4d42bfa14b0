/**
 * The shards: every D1 binding whose name is SHARD_<n> (wrangler.toml). A
 * shard's name is its binding name; it is what the directory stores, what the
 * admin routes show and what a move's `to` names. Adding a shard is a
 * wrangler.toml block plus `npm run db:migrate:remote`; nothing here changes.
 */
import { ApiError } from "../lib/errors";

/** Exported for the document: a move's `to` that does not match is refused (src/admin/schemas.ts). */
export const SHARD_BINDING = /^SHARD_(\d+)$/;

export type ShardName = string;

/** Shard names in numeric order (SHARD_0, SHARD_1, ..., SHARD_10). */
export function shardNames(env: Env): ShardName[] {
  return Object.keys(env)
    .filter((k) => SHARD_BINDING.test(k))
    .sort((a, b) => Number(a.slice(6)) - Number(b.slice(6)));
}

export const isShard = (env: Env, name: string): boolean =>
  SHARD_BINDING.test(name) && (env as unknown as Record<string, unknown>)[name] !== undefined;

/**
 * The D1 binding of a shard. A name the directory holds but the deployed
 * config lacks (a shard removed too early) is a configuration error: 500.
 */
export function shardBinding(env: Env, name: ShardName): D1Database {
  const binding = isShard(env, name) ? (env as unknown as Record<string, D1Database>)[name] : undefined;
  if (!binding) throw new ApiError(500, "internal_error", { cause: new Error(`no D1 binding for shard ${name}`) });
  return binding;
}
