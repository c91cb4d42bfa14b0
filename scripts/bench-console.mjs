#!/usr/bin/env node
/**
 * `npm run bench:console`: how long the console's Messages view takes to show
 * its first rows for a tenant of N communications (default 100,000), against
 * the same API call made with curl, in the same run; and the weight of the
 * console's JavaScript.
 *  1. a fresh local state (migrated), the bench tenant bulk-seeded into the
 *     shards (scripts/bench/seed.mjs) and placed in the directory, then the
 *     built Worker under `wrangler dev` (scripts/lib/local-worker.mjs);
 *  2. curl: `GET /delivery/customer-communications?limit=25&language=en`
 *     with an admin token, RUNS times (after one warm-up), `time_total`;
 *  3. the console: headless Chromium opens /console with the same token
 *     already in the tab's sessionStorage; "first rows" is the client's
 *     `cc:first-rows` mark (navigation start -> rows in the table), each run
 *     in a fresh browser context (nothing cached: "cold") and again on a
 *     reload of that context ("warm": script and styles revalidated, 304);
 *     its API call's own duration is read from Resource Timing;
 *  4. prints medians and the ratio console / curl.
 * Options: --n 100000 --runs 15 --port P --inspector-port P (default: free loopback ports).
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import { resolve } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { parseArgs } from "node:util";
import { BENCH_TENANT, seed } from "./bench/seed.mjs";
import { launchChromium } from "./lib/chromium.mjs";
import { mintToken, ROOT } from "./lib/local.mjs";
import { startLocalWorker } from "./lib/local-worker.mjs";
import { freePort, portOption } from "./lib/ports.mjs";

const { values } = parseArgs({
  options: {
    n: { type: "string", default: "100000" },
    runs: { type: "string", default: "15" },
    port: { type: "string", default: process.env.PORT },
    "inspector-port": { type: "string", default: process.env.INSPECTOR_PORT },
  },
});
const N = Number(values.n);
const RUNS = Number(values.runs);
const PORT = await portOption(values.port, () => freePort());
const INSPECTOR_PORT = await portOption(values["inspector-port"], () => freePort([PORT]));
const ORIGIN = `http://127.0.0.1:${PORT}`;
const API_PATH = "/delivery/customer-communications?limit=25&language=en";
const secret = randomBytes(32).toString("hex");
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const ms = (x) => `${x.toFixed(1)} ms`;

/** Seeds every shard file (the directory places the tenant on SHARD_0, whichever file that is). */
function prepare(persist) {
  const dir = resolve(persist, "v3/d1/miniflare-D1DatabaseObject");
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite")
    .map((f) => resolve(dir, f));
  const has = (file, table) => {
    const db = new DatabaseSync(file);
    try {
      return Boolean(db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table));
    } finally {
      db.close();
    }
  };
  const started = performance.now();
  for (const file of files.filter((f) => has(f, "communications"))) seed(file, N);
  for (const file of files.filter((f) => has(f, "tenants"))) {
    const db = new DatabaseSync(file);
    db.prepare("INSERT INTO tenants (tenant_id, shard, frozen, created_at) VALUES (?, 'SHARD_0', 0, ?)").run(
      BENCH_TENANT,
      new Date().toISOString(),
    );
    db.close();
  }
  console.log(
    `seeded ${N.toLocaleString("en")} communications in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
}

const build = spawnSync("node", ["scripts/build-console.mjs", "--json"], { cwd: ROOT, encoding: "utf8" });
const sizes = JSON.parse(build.stdout.trim().split("\n").at(-1));
const worker = startLocalWorker({
  persist: resolve(ROOT, ".wrangler/bench/console"),
  port: PORT,
  inspectorPort: INSPECTOR_PORT,
  vars: { JWT_SECRET: secret, PROVIDER_SECRETS_KEY: randomBytes(32).toString("base64") },
  prepare,
});
let browser;
try {
  await worker.ready();
  const token = await mintToken({ role: "admin", tenant: BENCH_TENANT, secret, ttl: "1h" });

  const curl = () => {
    const out = spawnSync(
      "curl",
      [
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code} %{time_total}",
        "-H",
        `Authorization: Bearer ${token}`,
        `${ORIGIN}${API_PATH}`,
      ],
      { encoding: "utf8" },
    );
    const [code, seconds] = out.stdout.split(" ");
    if (code !== "200") throw new Error(`curl: HTTP ${code}`);
    return Number(seconds) * 1000;
  };
  curl();
  const curlTimes = Array.from({ length: RUNS }, curl);

  browser = await launchChromium();
  const cold = [];
  const warm = [];
  const apiInPage = [];
  const firstRows = async (page) => {
    await page.waitForFunction(() => performance.getEntriesByName("cc:first-rows").length > 0, null, {
      timeout: 30_000,
    });
    return page.evaluate(() => {
      const mark = performance.getEntriesByName("cc:first-rows")[0].startTime;
      const api = performance
        .getEntriesByType("resource")
        .find((e) => e.name.includes("/delivery/customer-communications"));
      return {
        mark,
        api: api ? api.duration : Number.NaN,
        rows: document.querySelectorAll("#messages tbody tr").length,
      };
    });
  };
  for (let i = 0; i <= RUNS; i++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.addInitScript((t) => sessionStorage.setItem("cc.token", t), token);
    const page = await context.newPage();
    await page.goto(`${ORIGIN}/console?language=en`);
    const first = await firstRows(page);
    if (first.rows !== 25) throw new Error(`expected 25 rows, saw ${first.rows}`);
    await page.reload();
    const again = await firstRows(page);
    await context.close();
    if (i === 0) continue; // warm-up
    cold.push(first.mark);
    warm.push(again.mark);
    apiInPage.push(again.api);
  }

  const c = median(curlTimes);
  const js = sizes["console.js"];
  console.log(`
Console, Messages view, tenant of ${N.toLocaleString("en")} communications, page of 25, ${RUNS} runs (medians):
  curl, the same API call:                 ${ms(c)}
  console, first rows, cold (no cache):    ${ms(median(cold))}   ratio ${(median(cold) / c).toFixed(2)}
  console, first rows, warm (reload):      ${ms(median(warm))}   ratio ${(median(warm) / c).toFixed(2)}
  the API call inside the page (warm):     ${ms(median(apiInPage))}   ratio ${(median(apiInPage) / c).toFixed(2)}
JavaScript: public/console/console.js ${js.bytes.toLocaleString("en")} bytes, ${js.gzip.toLocaleString("en")} bytes gzip (budget 61,440)
Styles: public/console/console.css ${sizes["console.css"].bytes.toLocaleString("en")} bytes, ${sizes["console.css"].gzip.toLocaleString("en")} bytes gzip`);
} finally {
  await browser?.close();
  worker.stop();
}
