/**
 * Privacy (issue 21's API): an erasure requested (after a confirmation) and
 * followed until done, its messages gone from the list; the redaction setting
 * set and cleared; the audit log with its action filter; Redact on a message;
 * a refused request said in the page's language; none of it offered to a
 * viewer.
 */
import { randomUUID } from "node:crypto";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../../../scripts/lib/chromium.mjs";
import { API, apiCall, create, loaded, openPage, signIn, text, token } from "./support";

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(() => browser?.close());

const tenant = randomUUID();
let admin: string;
beforeAll(async () => {
  admin = await token("admin", tenant);
});

describe("Privacy", () => {
  it("requests an erasure after a confirmation and follows it until done", async () => {
    const customer = randomUUID();
    const kept = randomUUID();
    await create(admin, { customer_id: customer, content: "to be erased 1" });
    await create(admin, { customer_id: customer, content: "to be erased 2" });
    const other = await create(admin, {
      customer_id: kept,
      content: "from the erased address",
      communication_details: { recipient: { phone: "+9647507778899" } },
    });
    const stays = await create(admin, { customer_id: kept, content: "stays" });

    const { page, context, dialogs, requests, errors } = await openPage(browser, { acceptDialogs: true });
    await signIn(page, admin, "/console/privacy");
    await loaded(page, "#erasures");
    expect(await page.locator("#erasures-none").isVisible()).toBe(true);
    await page.locator("#er-customer").fill(customer);
    await page.locator("#er-addresses").fill("+964 750 777 8899\n");
    await page.locator("#er-reference").fill("DSR-42");
    await page.locator("#erasure-form button[type=submit]").click();
    await expect.poll(() => dialogs.length).toBe(1);
    expect(dialogs[0]).toBe(text("en", "erasure_confirm", { customer }));
    const row = page.locator("#erasures tbody tr").first();
    await row.waitFor();
    expect(await row.locator("td").nth(1).textContent()).toBe(customer);
    expect(await row.locator("td").nth(2).textContent()).toBe("DSR-42");
    // The list is read again while the erasure runs, until it is done.
    await expect
      .poll(() => row.locator(".badge").textContent(), { timeout: 60_000 })
      .toBe(text("en", "erasure_status_done"));
    expect(await row.locator("td").nth(4).textContent()).toBe(
      text("en", "erased_counts", { communications: "3", events: "0", archived_days: "0" }),
    );
    const left = await apiCall("?limit=100", { token: admin });
    const ids = left.communications.map((c: { id: string }) => c.id);
    expect(ids).toContain(stays.id);
    expect(ids).not.toContain(other.id);
    // The addresses went in the request body only.
    for (const u of requests) expect(u).not.toContain("7778899");
    expect(errors).toEqual([]);
    await context.close();
  });

  it("a cancelled erasure sends nothing", async () => {
    const { page, context, requests } = await openPage(browser, { acceptDialogs: false });
    await signIn(page, admin, "/console/privacy");
    await loaded(page, "#erasures");
    const before = requests.length;
    await page.locator("#er-customer").fill(randomUUID());
    await page.locator("#erasure-form button[type=submit]").click();
    await page.waitForTimeout(500);
    expect(requests.slice(before).filter((u) => u.includes("/erasures"))).toEqual([]);
    await context.close();
  });

  it("sets and clears the redaction setting; the audit log lists and filters what was done", async () => {
    const { page, context } = await openPage(browser);
    await signIn(page, admin, "/console/privacy");
    await expect.poll(() => page.locator("#settings-now").textContent()).toBe(text("en", "settings_keep"));
    await page.locator("#st-days").fill("90");
    await page.locator("#settings-form button[type=submit]").click();
    await expect
      .poll(() => page.locator("#settings-now").textContent())
      .toContain(text("en", "settings_days_now", { days: "90" }));
    expect((await apiCall("/settings", { token: admin })).settings.redact_after_days).toBe(90);
    await page.locator("#st-days").fill("");
    await page.locator("#settings-form button[type=submit]").click();
    await expect.poll(() => page.locator("#settings-now").textContent()).toContain(text("en", "settings_keep"));
    expect((await apiCall("/settings", { token: admin })).settings.redact_after_days).toBeNull();

    // The audit log: the page's own rows are the API's, then the action filter.
    await page.reload();
    await loaded(page, "#audit");
    const api = await apiCall("/audit?limit=25", { token: admin });
    const shown = await page
      .locator("#audit tbody tr")
      .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-id")));
    expect(shown).toEqual(api.entries.map((e: { id: string }) => e.id));
    expect(shown.length).toBeGreaterThan(0);
    await page.locator("#au-action").selectOption("settings.updated");
    await page.locator("#audit-form button[type=submit]").click();
    await expect
      .poll(() => page.locator("#audit tbody tr td:nth-child(2)").allTextContents())
      .toEqual([text("en", "audit_settings.updated"), text("en", "audit_settings.updated")]);
    await page.locator("#au-action").selectOption("tenant.move_started");
    await page.locator("#audit-form button[type=submit]").click();
    await page.locator("#audit-none").waitFor();
    await context.close();
  });

  it("a refused request: the API's answer in the page's language", async () => {
    const { page, context } = await openPage(browser, { acceptDialogs: true });
    await signIn(page, admin, "/console/privacy", "ar");
    await loaded(page, "#erasures");
    await page.locator("#er-customer").fill("not-a-uuid");
    await page.locator("#erasure-form button[type=submit]").click();
    const res = await fetch(`${API}/erasures?language=ar`, {
      method: "POST",
      headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
      body: JSON.stringify({ customer_id: "not-a-uuid" }),
    });
    expect(res.status).toBe(400);
    const body = await res.json();
    await expect.poll(() => page.locator("#alert p").textContent()).toBe(body.message);
    await context.close();
  });

  it("Redact on a message: content removed, addresses masked, after a confirmation", async () => {
    const m = await create(admin, {
      customer_id: randomUUID(),
      content: "secret content",
      communication_details: { recipient: { phone: "+9647501234567" } },
    });
    const { page, context, dialogs } = await openPage(browser, { acceptDialogs: true });
    await signIn(page, admin, `/console/messages/${m.id}`);
    await loaded(page, "#message");
    await page.locator("#redact").waitFor();
    await page.locator("#redact-button").click();
    await expect.poll(() => dialogs).toEqual([text("en", "redact_confirm")]);
    await expect.poll(() => page.locator("#fields").textContent()).not.toContain("secret content");
    expect(await page.locator("#fields").textContent()).toContain(text("en", "no_content"));
    expect(await page.locator("#comm-details").textContent()).not.toContain("+9647501234567");
    const after = await apiCall(`/${m.id}`, { token: admin });
    expect(after.communication.content).toBeNull();
    await context.close();
  });

  it("a viewer is offered neither Privacy nor Redact", async () => {
    const m = await create(admin, { customer_id: randomUUID(), content: "hello" });
    const { page, context } = await openPage(browser);
    await signIn(page, await token("viewer", tenant), `/console/messages/${m.id}`);
    await loaded(page, "#message");
    expect(await page.locator("#redact").isHidden()).toBe(true);
    expect(await page.locator("#nav a:visible", { hasText: text("en", "nav_privacy") }).count()).toBe(0);
    await page.goto(page.url().replace(/\/console\/messages\/[^?]+/, "/console/privacy"));
    await page.locator("#no-access").waitFor();
    expect(await page.locator("#no-access-text").textContent()).toBe(text("en", "view_not_allowed"));
    await context.close();
  });
});
