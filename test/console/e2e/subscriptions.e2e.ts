/**
 * Subscriptions: create (the signing secret shown once, copied, never kept
 * in storage or a URL, gone after a reload), pause and resume, the delivery
 * log with its counts, replay, a new secret, delete; the API's refusal of a
 * URL in the page's language; a hostile description shown as text.
 */
import { randomUUID } from "node:crypto";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../../../scripts/lib/chromium.mjs";
import { API, apiCall, loaded, ORIGIN, openPage, signIn, text, token } from "./support";

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(() => browser?.close());

const row = (page: Page, url: string) => page.locator("#subscriptions tbody tr", { hasText: url });

describe("Subscriptions", () => {
  const tenant = randomUUID();
  let admin: string;
  beforeAll(async () => {
    admin = await token("admin", tenant);
  });

  it("creates one and shows its secret once; pause, resume, delivery log, replay, new secret, delete", async () => {
    const { page, context, requests, errors } = await openPage(browser, { acceptDialogs: true });
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: ORIGIN });
    await signIn(page, admin, "/console/subscriptions");
    await loaded(page, "#subscriptions");
    expect(await page.locator("#subscriptions-none").isVisible()).toBe(true);

    const url = "https://crm.example.com/hooks/communications";
    await page.locator("#sb-url").fill(url);
    await page.locator('input[name="events"][value="communication.created"]').uncheck();
    await page.locator("#sb-description").fill('CRM <img src=x onerror="window.__pwned=1">');
    await page.locator("#sub-form button[type=submit]").click();
    await page.locator("#secret-once").waitFor();
    const secret = await page.locator("#secret-value").inputValue();
    expect(secret).toMatch(/^whsec_/);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("secret-once");
    await page.locator("#secret-copy").click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);

    // The list, as the API has it; the description as text.
    const { subscriptions } = await apiCall("/subscriptions", { token: admin });
    expect(subscriptions).toHaveLength(1);
    expect(subscriptions[0].events).toEqual(["communication.status_changed"]);
    const r = row(page, url);
    expect(await r.locator("td").nth(2).textContent()).toBe('CRM <img src=x onerror="window.__pwned=1">');
    expect(await r.locator("td").nth(1).textContent()).toBe(text("en", "event_communication.status_changed"));
    expect(await r.locator(".badge").textContent()).toBe(text("en", "sub_status_active"));
    expect(await page.evaluate(() => "__pwned" in window)).toBe(false);

    // The secret is nowhere but that field: not in a URL or storage, and gone once stored.
    for (const u of requests) expect(u).not.toContain(secret);
    expect(await page.evaluate(() => JSON.stringify({ ...sessionStorage, ...localStorage }))).not.toContain(secret);
    await page.locator("#secret-done").click();
    expect(await page.locator("#secret-once").isHidden()).toBe(true);
    expect(await page.locator("#secret-value").inputValue()).toBe("");

    // Pause and resume.
    await r.getByRole("button", { name: text("en", "sub_pause_label", { url }) }).click();
    await expect.poll(() => r.locator(".badge").textContent()).toBe(text("en", "sub_status_paused"));
    expect((await apiCall("/subscriptions", { token: admin })).subscriptions[0].status).toBe("paused");
    await r.getByRole("button", { name: text("en", "sub_resume_label", { url }) }).click();
    await expect.poll(() => r.locator(".badge").textContent()).toBe(text("en", "sub_status_active"));

    // The delivery log and replay.
    await r.getByRole("button", { name: text("en", "sub_deliveries_label", { url }) }).click();
    await loaded(page, "#delivery-log");
    expect(await page.locator("#deliveries-heading").textContent()).toBe(text("en", "deliveries_heading", { url }));
    await expect
      .poll(() => page.locator("#delivery-counts").textContent())
      .toBe(text("en", "deliveries_counts", { succeeded: "0", failed: "0", pending: "0" }));
    expect(await page.locator("#deliveries-none").isVisible()).toBe(true);
    await page.locator("#rp-since").fill("2000-01-01T00:00:00");
    await page.locator("#replay-form button[type=submit]").click();
    await expect.poll(() => page.locator("#alert").textContent()).not.toBe("");
    const hourAgo = new Date(Date.now() - 3600_000);
    const local = new Date(hourAgo.getTime() - hourAgo.getTimezoneOffset() * 60_000).toISOString().slice(0, 19);
    await page.locator("#rp-since").fill(local);
    await page.locator("#replay-form button[type=submit]").click();
    await expect
      .poll(() => page.locator("#notice").textContent())
      .toBe("Replay accepted: the events will be sent again");
    await page.locator("#deliveries-close").click();
    expect(await page.locator("#deliveries").isHidden()).toBe(true);

    // A new secret, shown once again.
    await r.getByRole("button", { name: text("en", "sub_rotate_label", { url }) }).click();
    await page.locator("#secret-once").waitFor();
    const rotated = await page.locator("#secret-value").inputValue();
    expect(rotated).toMatch(/^whsec_/);
    expect(rotated).not.toBe(secret);

    // A reload shows no secret.
    await page.reload();
    await loaded(page, "#subscriptions");
    expect(await page.locator("#secret-once").isHidden()).toBe(true);
    expect(await page.content()).not.toContain(rotated);

    // Delete.
    await row(page, url)
      .getByRole("button", { name: text("en", "sub_delete_label", { url }) })
      .click();
    await expect.poll(() => row(page, url).count()).toBe(0);
    expect(await page.locator("#subscriptions-none").isVisible()).toBe(true);
    expect((await apiCall("/subscriptions", { token: admin })).subscriptions).toEqual([]);
    // The one error the browser logged: the replay the API refused (400), on purpose.
    expect(errors).toEqual(["Failed to load resource: the server responded with a status of 400 (Bad Request)"]);
    await context.close();
  });

  it("a cancelled delete deletes nothing", async () => {
    await apiCall("/subscriptions", {
      token: admin,
      method: "POST",
      body: { url: "https://keep.example.com/hook", events: ["communication.created"] },
    });
    const { page, context, dialogs } = await openPage(browser, { acceptDialogs: false });
    await signIn(page, admin, "/console/subscriptions");
    await loaded(page, "#subscriptions");
    const url = "https://keep.example.com/hook";
    await row(page, url)
      .getByRole("button", { name: text("en", "sub_delete_label", { url }) })
      .click();
    await expect.poll(() => dialogs.length).toBe(1);
    expect(dialogs[0]).toBe(text("en", "sub_delete_confirm", { url }));
    expect(await row(page, url).count()).toBe(1);
    expect((await apiCall("/subscriptions", { token: admin })).subscriptions).toHaveLength(1);
    await context.close();
  });

  it("a URL the API refuses: its answer in the page's language, nothing created", async () => {
    const other = randomUUID();
    const token2 = await token("admin", other);
    const { page, context } = await openPage(browser);
    await signIn(page, token2, "/console/subscriptions", "fa");
    await loaded(page, "#subscriptions");
    // A private address: refused whatever OUTBOUND_ALLOW_LOOPBACK says (npm run dev sets it in
    // .dev.vars, which the local Worker reads, so a loopback URL would be accepted there).
    await page.locator("#sb-url").fill("https://10.0.0.1/hook");
    await page.locator("#sub-form button[type=submit]").click();
    const res = await fetch(`${API}/subscriptions?language=fa`, {
      method: "POST",
      headers: { authorization: `Bearer ${token2}`, "content-type": "application/json" },
      body: JSON.stringify({ url: "https://10.0.0.1/hook", events: ["communication.created"] }),
    });
    expect(res.status).toBe(400);
    const body = await res.json();
    await expect.poll(() => page.locator("#alert p").textContent()).toBe(body.message);
    expect(await page.locator("#secret-once").isHidden()).toBe(true);
    expect((await apiCall("/subscriptions", { token: token2 })).subscriptions).toEqual([]);
    // No event chosen: said before any call.
    await page.locator('input[name="events"]').evaluateAll((boxes) => {
      for (const b of boxes as HTMLInputElement[]) b.checked = false;
    });
    await page.locator("#sb-url").fill("https://crm.example.com/x");
    await page.locator("#sub-form button[type=submit]").click();
    await expect.poll(() => page.locator("#alert p").textContent()).toBe(text("fa", "sub_events_needed"));
    await context.close();
  });
});
