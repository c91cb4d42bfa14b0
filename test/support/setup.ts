import { applyD1Migrations, env } from "cloudflare:test";
import { shardBinding, shardNames } from "../../src/shards/config";

// Storage is isolated per test file; migrations are idempotent across setups.
// migrations/ goes to every shard, migrations-directory/ to the directory.
for (const shard of shardNames(env)) await applyD1Migrations(shardBinding(env, shard), env.TEST_MIGRATIONS);
await applyD1Migrations(env.DIRECTORY, env.TEST_DIRECTORY_MIGRATIONS);
