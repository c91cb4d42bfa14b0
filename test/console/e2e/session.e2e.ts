/**
 * Signing in and out: the pasted token lives in the tab's sessionStorage
 * only (never a URL, a cookie, localStorage), is dropped on sign-out and on
 * expiry, and a token the API refuses ends the session.
 */
import { randomUUID } from "node:crypto";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../../../scripts/lib/chromium.mjs";
import { create, openPage, signIn, submitToken, text, token } from "./support";

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(() => browser?.close());

describe("signing in", () => {
  const tenant = randomUUID();

  it("keeps the token in this tab's sessionStorage only, and sends it only in the Authorization header", async () => {
    const admin = await token("admin", tenant);
    await create(admin, { customer_id: randomUUID(), content: "hello" });
    const { page, context, requests, errors } = await openPage(browser);
    const authorizations: string[] = [];
    page.on("request", (r) => {
      const header = r.headers().authorization;
      if (header) authorizations.push(r.url());
    });
    await signIn(page, admin);
    await page.locator("#messages tbody tr").first().waitFor();

    expect(await page.evaluate(() => sessionStorage.getItem("cc.token"))).toBe(admin);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
    expect(await page.evaluate(() => document.cookie)).toBe("");
    expect(await context.cookies()).toEqual([]);
    expect(page.url()).not.toContain(admin);
    for (const url of requests) expect(url).not.toContain(admin);
    expect(authorizations.length).toBeGreaterThan(0);
    for (const url of authorizations) expect(url).toContain("/delivery/customer-communications");
    // The token field has no name: a form submitted without the script would carry nothing.
    expect(await page.locator("#token-input").getAttribute("name")).toBeNull();
    expect(errors).toEqual([]);
    await context.close();
  });

  it("keeps the session across a reload of the tab, not into another tab", async () => {
    const viewer = await token("viewer", tenant);
    const { page, context } = await openPage(browser);
    await signIn(page, viewer);
    await page.reload();
    await page.locator("#view").waitFor();
    expect(await page.locator("#sign-in").isHidden()).toBe(true);
    const other = await context.newPage();
    await other.goto(page.url());
    await other.locator("#sign-in").waitFor();
    expect(await other.evaluate(() => sessionStorage.length)).toBe(0);
    await context.close();
  });

  it("accepts a pasted 'Bearer <token>' as the token", async () => {
    const { page, context } = await openPage(browser);
    await signIn(page, `Bearer ${await token("viewer", tenant)}`);
    await page.locator("#view").waitFor();
    await context.close();
  });

  it("signing out drops the token and everything the view showed", async () => {
    const admin = await token("admin", tenant);
    const { page, context } = await openPage(browser);
    await signIn(page, admin);
    await page.locator("#messages tbody tr").first().waitFor();
    await page.locator("#sign-out").click();
    await page.locator("#sign-in").waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem("cc.token"))).toBeNull();
    expect(await page.locator("#messages tbody tr").count()).toBe(0);
    await expect.poll(() => page.locator("#notice").textContent()).toBe(text("en", "signed_out"));
    await context.close();
  });

  it.each([
    ["not-a-token", "token_malformed"],
    ["a.b.c", "token_malformed"],
  ] as const)("refuses %j at sign-in (%s)", async (value, key) => {
    const { page, context } = await openPage(browser);
    await submitToken(page, value);
    await expect.poll(() => page.locator("#alert").textContent()).toBe(text("en", key));
    expect(await page.evaluate(() => sessionStorage.getItem("cc.token"))).toBeNull();
    await context.close();
  });

  it("refuses an expired token at sign-in", async () => {
    const { page, context } = await openPage(browser);
    await submitToken(page, await token("admin", tenant, { ttl: -60 }));
    await expect.poll(() => page.locator("#alert").textContent()).toBe(text("en", "token_expired"));
    expect(await page.evaluate(() => sessionStorage.getItem("cc.token"))).toBeNull();
    await context.close();
  });

  it("ends the session when the token expires while the page is open", async () => {
    const { page, context } = await openPage(browser);
    await signIn(page, await token("viewer", tenant, { ttl: 12 }));
    await page.locator("#sign-in").waitFor({ timeout: 45_000 });
    await expect.poll(() => page.locator("#alert").textContent()).toBe(text("en", "session_expired"));
    expect(await page.evaluate(() => sessionStorage.getItem("cc.token"))).toBeNull();
    await context.close();
  });

  it("a token the API refuses (another key) returns to sign-in", async () => {
    const forged = await token("admin", tenant, { secret: "another-key-that-this-server-does-not-know-0123" });
    const { page, context } = await openPage(browser);
    // Not signIn(): the view may be gone again (the API's 401 ends the session) before it is seen.
    await submitToken(page, forged);
    await page.locator("#sign-in").waitFor();
    await expect.poll(() => page.locator("#alert").textContent()).toBe(text("en", "token_refused"));
    expect(await page.evaluate(() => sessionStorage.getItem("cc.token"))).toBeNull();
    await context.close();
  });
});
