/**
 * Exactly what the token may see: staff see the tenant, a customer their own
 * messages, a driver is told they have no access, a system administrator
 * picks a tenant; views the permissions do not allow are not offered.
 */
import { randomUUID } from "node:crypto";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../../../scripts/lib/chromium.mjs";
import { create, loaded, openPage, shownIds, signIn, text, token } from "./support";

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(() => browser?.close());

describe("what each kind of user is offered", () => {
  const tenant = randomUUID();
  const own = randomUUID();
  const other = randomUUID();
  let mine: string[] = [];
  let theirs: string[] = [];

  beforeAll(async () => {
    const admin = await token("admin", tenant);
    mine = [
      (await create(admin, { customer_id: own, content: "mine 1" })).id,
      (await create(admin, { customer_id: own, content: "mine 2" })).id,
    ];
    theirs = [(await create(admin, { customer_id: other, content: "someone else's" })).id];
  });

  const navLinks = async (page: import("playwright-core").Page) =>
    page.locator("#nav a:visible").evaluateAll((links) => links.map((a) => a.textContent));

  it("staff with manage:operations:tenant: every message of the tenant, Messages, Providers and Subscriptions", async () => {
    const { page, context } = await openPage(browser);
    await signIn(page, await token("admin", tenant));
    expect((await shownIds(page)).sort()).toEqual([...mine, ...theirs].sort());
    expect(await navLinks(page)).toEqual([
      text("en", "nav_messages"),
      text("en", "nav_providers"),
      text("en", "nav_subscriptions"),
      text("en", "nav_privacy"),
    ]);
    expect(await page.locator("#f-customer").isVisible()).toBe(true);
    expect(await page.locator("#who").textContent()).toBe(text("en", "signed_in_as", { who: "tenant_admin" }));
    await context.close();
  });

  it("staff with view:tenant: the tenant's messages and the unmatched provider events; no connections, no Subscriptions, no status change", async () => {
    const { page, context, requests } = await openPage(browser);
    await signIn(page, await token("viewer", tenant));
    expect((await shownIds(page)).sort()).toEqual([...mine, ...theirs].sort());
    expect(await navLinks(page)).toEqual([text("en", "nav_messages"), text("en", "nav_providers")]);
    await page.locator("#messages tbody a").first().click();
    await loaded(page, "#message");
    expect(await page.locator("#status-change").isHidden()).toBe(true);
    // Providers: the unmatched events only (the connections need manage:operations:tenant).
    await page.locator("#nav a", { hasText: text("en", "nav_providers") }).click();
    await loaded(page, "#unmatched");
    expect(await page.locator("#connections").isHidden()).toBe(true);
    expect(requests.filter((u) => /customer-communications\/providers\?/.test(u))).toEqual([]);
    // Typed by hand, the Subscriptions address says the view is not theirs.
    await page.goto(page.url().replace(/\/console\/providers/, "/console/subscriptions"));
    await page.locator("#no-access").waitFor();
    expect(await page.locator("#no-access-text").textContent()).toBe(text("en", "view_not_allowed"));
    expect(await page.locator("#view").isHidden()).toBe(true);
    await context.close();
  });

  it("a customer: only their own messages, without the customer filter", async () => {
    const { page, context, requests } = await openPage(browser);
    await signIn(page, await token("customer", tenant, { customer: own }));
    expect((await shownIds(page)).sort()).toEqual([...mine].sort());
    expect(await page.locator("#own-note").isVisible()).toBe(true);
    expect(await page.locator("#f-customer").isVisible()).toBe(false);
    expect(await navLinks(page)).toEqual([text("en", "nav_messages")]);
    // A customer filter in the address is not sent for a customer (the API would refuse another's).
    await page.goto(`${page.url()}&customer_id=${other}`);
    expect((await shownIds(page)).sort()).toEqual([...mine].sort());
    expect(requests.filter((u) => u.includes(other))).toEqual([page.url()]);
    // Another customer's message by its address: the API's 404, said in words.
    await page.goto(page.url().replace(/\/console\?.*/, `/console/messages/${theirs[0]}?language=en`));
    await loaded(page, "#message");
    expect(await page.locator("#alert").textContent()).toBe(text("en", "message_not_found"));
    expect(await page.locator("#message").isHidden()).toBe(true);
    await context.close();
  });

  it("a driver is told they have no access, and offered nothing", async () => {
    const { page, context, requests } = await openPage(browser);
    await signIn(page, await token("driver", tenant));
    expect(await page.locator("#no-access-text").textContent()).toBe(text("en", "no_access"));
    expect(await navLinks(page)).toEqual([]);
    expect(await page.locator("#view").isHidden()).toBe(true);
    expect(requests.filter((u) => u.includes("/delivery/customer-communications"))).toEqual([]);
    await context.close();
  });

  it("a system administrator chooses the tenant first", async () => {
    const { page, context } = await openPage(browser);
    await signIn(page, await token("systemAdmin", tenant));
    expect(await page.locator("#no-access-text").textContent()).toBe(text("en", "tenant_needed"));
    await page.locator("#tenant-input").fill(tenant);
    await page.locator("#tenant-form button").click();
    expect((await shownIds(page)).sort()).toEqual([...mine, ...theirs].sort());
    expect(await navLinks(page)).toEqual([
      text("en", "nav_messages"),
      text("en", "nav_providers"),
      text("en", "nav_subscriptions"),
      text("en", "nav_privacy"),
    ]);
    await context.close();
  });
});
