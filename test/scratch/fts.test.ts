import { env } from "cloudflare:test";
import { it } from "vitest";

it("probe", async () => {
  console.error(Object.keys(env).filter((k) => /SHARD|DIRECTORY|MIGRATION/.test(k)));
  const r = await (env as any).MIGRATION_TEST.prepare("SELECT name FROM sqlite_master").all();
  console.error(JSON.stringify(r.results));
});
