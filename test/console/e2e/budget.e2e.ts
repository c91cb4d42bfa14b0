/**
 * Light: the JavaScript a browser downloads for the console, on every view,
 * is under 60 KB gzip in all (../shared/spec/console.md, Rules), and the
 * Messages view shows its first rows after one API call.
 */
import { randomUUID } from "node:crypto";
import { gzipSync } from "node:zlib";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../../../scripts/lib/chromium.mjs";
import { create, loaded, openPage, signIn, token } from "./support";

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(() => browser?.close());

const BUDGET = 60 * 1024;

describe("weight", () => {
  it("every script the console loads, on every view, is under 60 KB gzip in all", async () => {
    const admin = await token("admin", randomUUID());
    const { id } = await create(admin, { customer_id: randomUUID(), content: "hello" });
    const { page, context } = await openPage(browser);
    const scripts = new Map<string, number>();
    page.on("response", async (res) => {
      // Later pages revalidate the cached file (304, no body): the first download counts.
      if (res.request().resourceType() !== "script" || res.status() !== 200) return;
      scripts.set(res.url(), gzipSync(await res.body(), { level: 9 }).length);
    });
    await signIn(page, admin);
    await loaded(page);
    for (const path of [`/console/messages/${id}`, "/console/providers", "/console/subscriptions", "/console?live=1"]) {
      await page.goto(page.url().replace(/\/console.*/, `${path}${path.includes("?") ? "&" : "?"}language=en`));
      await page.locator("#view:visible").waitFor();
    }
    await expect.poll(() => scripts.size).toBeGreaterThan(0);
    const total = [...scripts.values()].reduce((a, b) => a + b, 0);
    console.log(`console JavaScript: ${[...scripts].map(([u, n]) => `${new URL(u).pathname} ${n} B gzip`).join(", ")}`);
    expect([...scripts.keys()].map((u) => new URL(u).pathname)).toEqual(["/console/console.js"]);
    expect(total).toBeLessThan(BUDGET);
    await context.close();
  });

  it("the Messages view asks the API once for its rows", async () => {
    const admin = await token("admin", randomUUID());
    await create(admin, { customer_id: randomUUID(), content: "hello" });
    const { page, context, requests } = await openPage(browser);
    await signIn(page, admin);
    await loaded(page);
    const calls = requests.filter((u) => new URL(u).pathname.startsWith("/delivery/customer-communications"));
    expect(calls).toHaveLength(1);
    await context.close();
  });
});
