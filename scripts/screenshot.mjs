#!/usr/bin/env node
/**
 * `npm run docs:screenshot`: renders the API reference (/docs) in headless
 * Chromium and saves screenshots/docs.png; then each view of the console in
 * a left-to-right and a right-to-left language, saved to docs/screenshots/
 * (committed: the README shows them; scripts/lib/console-screenshots.mjs).
 *  1. installs Debian's `chromium` if /usr/bin/chromium is missing (apt-get);
 *  2. starts the Worker with `wrangler dev` on 127.0.0.1 (a free port, a
 *     throw-away --persist-to directory, migrated, so the local dev database
 *     is untouched; its own random JWT and provider keys);
 *  3. opens /docs with every non-loopback request blocked and recorded: the
 *     page must work with no internet;
 *  4. fails unless both published operations ("List Customer Communications",
 *     "Create Customer Communication") are on the page, or if the page tried
 *     to reach the internet.
 * Options (environment): PORT and INSPECTOR_PORT (default: free ports),
 * PERSIST_TO (default: a temporary directory), CHROMIUM (default /usr/bin/chromium).
 */
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS, ensureChromium } from "./lib/chromium.mjs";
import { consoleScreenshots } from "./lib/console-screenshots.mjs";
import { freePort, portOption } from "./lib/ports.mjs";

const ROOT = resolve(import.meta.dirname, "..");
const OPERATIONS = ["List Customer Communications", "Create Customer Communication"];
const OUT_DIR = join(ROOT, "screenshots");

async function waitFor(url, child, timeoutMs = 60_000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with ${child.exitCode}`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not answer within ${timeoutMs / 1000}s`);
}

ensureChromium();
const port = await portOption(process.env.PORT, () => freePort());
const inspectorPort = await portOption(process.env.INSPECTOR_PORT, () => freePort([port]));
const persist = process.env.PERSIST_TO
  ? resolve(process.env.PERSIST_TO)
  : mkdtempSync(join(tmpdir(), "cc-docs-state-"));
const profile = mkdtempSync(join(tmpdir(), "cc-docs-chromium-"));
const base = `http://127.0.0.1:${port}`;
const jwtSecret = randomBytes(32).toString("hex");
const migrate = spawnSync("node", ["scripts/migrate.mjs", "--local", "--persist-to", persist], {
  cwd: ROOT,
  encoding: "utf8",
});
if (migrate.status !== 0) {
  console.error(migrate.stdout, migrate.stderr);
  process.exit(1);
}

const wrangler = spawn(
  "npx",
  [
    "wrangler",
    "dev",
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--inspector-port",
    String(inspectorPort),
    "--persist-to",
    persist,
    "--var",
    `JWT_SECRET:${jwtSecret}`,
    "--var",
    `PROVIDER_SECRETS_KEY:${randomBytes(32).toString("base64")}`,
    "--show-interactive-dev-session=false",
  ],
  { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], detached: true, env: { ...process.env, CI: "true" } },
);
let wranglerLog = "";
wrangler.stdout.on("data", (d) => {
  wranglerLog += d;
});
wrangler.stderr.on("data", (d) => {
  wranglerLog += d;
});

let browser;
let failed = false;
try {
  await waitFor(`${base}/docs`, wrangler);
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1440, height: 1000 },
    args: CHROMIUM_ARGS,
  });
  const page = browser.pages()[0] ?? (await browser.newPage());
  const blocked = [];
  const consoleErrors = [];
  page.on("console", (msg) => {
    if (msg.type() === "error") consoleErrors.push(msg.text());
  });
  page.on("pageerror", (err) => consoleErrors.push(String(err)));
  await browser.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === "127.0.0.1" || url.protocol === "data:" || url.protocol === "blob:") return route.continue();
    blocked.push(url.href);
    return route.abort();
  });

  const response = await page.goto(`${base}/docs`, { waitUntil: "load" });
  if (response?.status() !== 200) throw new Error(`/docs answered ${response?.status()}`);
  for (const name of OPERATIONS) {
    await page.getByText(name, { exact: true }).first().waitFor({ state: "visible", timeout: 60_000 });
  }
  await page.waitForLoadState("networkidle");
  // biome-ignore lint/performance/useDomNodeTextContent: the rendered text is what a reader sees
  const text = await page.evaluate(() => document.body.innerText);
  const missing = OPERATIONS.filter((name) => !text.includes(name));

  mkdirSync(OUT_DIR, { recursive: true });
  const file = join(OUT_DIR, "docs.png");
  await page.screenshot({ path: file });
  const full = join(OUT_DIR, "docs-full.png");
  await page.screenshot({ path: full, fullPage: true });
  console.log(`saved ${file} and ${full}`);
  // The list operation itself: parameters and responses.
  const heading = page.getByRole("heading", { name: OPERATIONS[0] }).first();
  if ((await heading.count()) > 0) {
    await heading.scrollIntoViewIfNeeded();
    const list = join(OUT_DIR, "docs-list.png");
    await page.screenshot({ path: list });
    console.log(`saved ${list}`);
  }

  if (consoleErrors.length) console.log(`console errors:\n  ${consoleErrors.join("\n  ")}`);
  if (missing.length) {
    failed = true;
    console.error(`missing on the page: ${missing.join(", ")}`);
  } else {
    console.log(`on the page: ${OPERATIONS.join(", ")}`);
  }
  const shots = await consoleScreenshots(browser, base, jwtSecret, join(ROOT, "docs", "screenshots"));
  console.log(`saved ${shots.length} console screenshots in docs/screenshots/`);
  if (blocked.length) {
    failed = true;
    console.error(`the page tried to reach the internet (blocked):\n  ${blocked.join("\n  ")}`);
  } else {
    console.log("network: only 127.0.0.1 was requested");
  }
} catch (err) {
  failed = true;
  console.error(String(err?.stack ?? err));
  console.error(`wrangler dev output:\n${wranglerLog.slice(-3000)}`);
} finally {
  await browser?.close().catch(() => {});
  try {
    process.kill(-wrangler.pid, "SIGTERM");
  } catch {
    // already gone
  }
  rmSync(profile, { recursive: true, force: true });
  if (!process.env.PERSIST_TO) rmSync(persist, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
