/**
 * Providers: the tenant's connections, each webhook URL with a copy button,
 * connect (the secret goes to the API once, never into a URL or storage) and
 * remove; the provider events that matched no message (any tenant staff),
 * hostile values shown as text.
 */
import { randomUUID } from "node:crypto";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../../../scripts/lib/chromium.mjs";
import { API, loaded, ORIGIN, openPage, signIn, text, token, unmatchedEvent } from "./support";

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(() => browser?.close());

describe("Providers", () => {
  const tenant = randomUUID();
  const secret = "0123456789abcdef0123456789abcdef";

  it("connects a provider, shows its webhook URL, copies it, and removes it", async () => {
    const { page, context, requests } = await openPage(browser, { acceptDialogs: true });
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: ORIGIN });
    await signIn(page, await token("admin", tenant), "/console/providers");
    await loaded(page, "#providers");
    expect(await page.locator("#providers-none").isVisible()).toBe(true);

    // The secret field says what each provider's secret is.
    const secretLabel = page.locator('label[for="cp-secret"]');
    expect(await secretLabel.textContent()).toBe(text("en", "secret_twilio"));
    await page.locator("#cp-provider").selectOption("standard");
    expect(await secretLabel.textContent()).toBe(text("en", "secret_standard"));
    await page.locator("#cp-provider").selectOption("twilio");

    await page.locator("#cp-secret").fill(secret);
    await page.locator("#connect-form button").click();
    await expect.poll(() => page.locator("#notice").textContent()).toBe("Provider connection saved successfully");
    const url = `${API}/webhooks/twilio/${tenant}`;
    const field = page.locator('tr[data-provider="twilio"] input.url');
    expect(await field.inputValue()).toBe(url);
    expect(await page.locator("#cp-secret").inputValue()).toBe("");
    expect(await page.locator("#providers-none").isHidden()).toBe(true);

    await page.locator('tr[data-provider="twilio"] button', { hasText: text("en", "copy") }).click();
    await expect.poll(() => page.locator("#notice").textContent()).toBe(text("en", "copied"));
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(url);

    // The secret went in the request body only: no URL, no storage.
    for (const u of requests) expect(u).not.toContain(secret);
    const stored = await page.evaluate(() => JSON.stringify({ ...sessionStorage, ...localStorage }));
    expect(stored).not.toContain(secret);

    await page.locator('tr[data-provider="twilio"] button.danger').click();
    await expect.poll(() => page.locator("#notice").textContent()).toBe("Provider connection deleted successfully");
    expect(await page.locator('tr[data-provider="twilio"]').count()).toBe(0);
    expect(await page.locator("#providers-none").isVisible()).toBe(true);
    await context.close();
  });

  it("shows the API's field error for a bad secret, and keeps nothing", async () => {
    const { page, context } = await openPage(browser);
    await signIn(page, await token("admin", tenant), "/console/providers");
    await loaded(page, "#providers");
    await page.locator("#cp-provider").selectOption("standard");
    await page.locator("#cp-secret").fill("not-a-whsec-secret");
    await page.locator("#connect-form button").click();
    await expect.poll(() => page.locator("#alert").textContent()).toContain("Invalid request parameters");
    expect(await page.locator("#alert li").count()).toBeGreaterThan(0);
    expect(await page.locator('tr[data-provider="standard"]').count()).toBe(0);
    await context.close();
  });

  it("a cancelled removal removes nothing", async () => {
    const admin = await token("admin", tenant);
    await fetch(`${API}/providers/twilio`, {
      method: "PUT",
      headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
      body: JSON.stringify({ auth_token: secret }),
    });
    const { page, context, dialogs } = await openPage(browser);
    await signIn(page, admin, "/console/providers");
    await loaded(page, "#providers");
    await page.locator('tr[data-provider="twilio"] button.danger').click();
    await expect.poll(() => dialogs.length).toBe(1);
    expect(dialogs[0]).toBe(text("en", "remove_confirm", { provider: "Twilio" }));
    expect(await page.locator('tr[data-provider="twilio"]').count()).toBe(1);
    await context.close();
  });
});

describe("Unmatched provider events", () => {
  const tenant = randomUUID();
  const hostile = '<img src=x onerror="window.__pwned=1">';

  it("lists them newest first, every value as text, for managers and viewers alike", async () => {
    const admin = await token("admin", tenant);
    await unmatchedEvent(admin, tenant, "SM-nobody-has-this");
    await unmatchedEvent(admin, tenant, hostile);
    for (const role of ["admin", "viewer"] as const) {
      const { page, context, errors } = await openPage(browser);
      await signIn(page, await token(role, tenant), "/console/providers");
      await loaded(page, "#unmatched");
      const rows = page.locator("#unmatched tbody tr");
      expect(await rows.count()).toBe(2);
      expect(await rows.nth(0).locator("td").nth(1).textContent()).toBe(hostile);
      expect(await rows.nth(0).locator("td").nth(0).textContent()).toBe("acme");
      expect(await rows.nth(1).locator("td").nth(1).textContent()).toBe("SM-nobody-has-this");
      expect(await rows.nth(1).locator(".badge").textContent()).toBe(text("en", "status_delivered"));
      expect(await page.locator("#unmatched-none").isHidden()).toBe(true);
      expect(await page.locator("#unmatched img").count()).toBe(0);
      expect(await page.evaluate(() => "__pwned" in window)).toBe(false);
      expect(await page.locator("#connections").isVisible()).toBe(role === "admin");
      expect(errors).toEqual([]);
      await context.close();
    }
  });

  it("says when there is none", async () => {
    const { page, context } = await openPage(browser);
    await signIn(page, await token("viewer", randomUUID()), "/console/providers");
    await loaded(page, "#unmatched");
    expect(await page.locator("#unmatched-none").isVisible()).toBe(true);
    expect(await page.locator("#unmatched-more").isHidden()).toBe(true);
    await context.close();
  });
});
