/**
 * Live: the switch on the Messages view streams the list's filters through a
 * ticket and EventSource; a create or a status change made elsewhere appears
 * at the top without a reload; the user's visibility holds (a customer sees
 * only their own); after a drop the stream resumes from the last event seen
 * with a new ticket, so an event sent meanwhile is not missed; off stops it.
 */
import { randomUUID } from "node:crypto";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../../../scripts/lib/chromium.mjs";
import { apiCall, create, loaded, openPage, shownIds, signIn, text, token } from "./support";

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(() => browser?.close());

const tenant = randomUUID();
const customer = randomUUID();
let admin: string;
beforeAll(async () => {
  admin = await token("admin", tenant);
  await create(admin, { customer_id: customer, content: "before live" });
});

/** Turns Live on and waits until the stream is open. */
async function liveOn(page: Page) {
  await page.locator("#live-toggle").click();
  await page.locator('#live-status[data-state="open"]').waitFor({ state: "attached" });
  expect(await page.locator("#live-toggle").getAttribute("aria-pressed")).toBe("true");
}

/** Marks the document: a reload would lose the mark. */
const mark = (page: Page) => page.evaluate(() => Object.assign(window, { __notReloaded: true }));
const stillSamePage = (page: Page) => page.evaluate(() => (window as any).__notReloaded === true);

describe("Live", () => {
  it("a create and a status change made elsewhere appear at the top, without a reload", async () => {
    const { page, context, errors, requests } = await openPage(browser);
    await signIn(page, admin);
    await loaded(page);
    await mark(page);
    await liveOn(page);
    expect(new URL(page.url()).searchParams.get("live")).toBe("1");

    const hostile = 'made elsewhere <img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';
    const made = await create(admin, {
      customer_id: customer,
      content: hostile,
      communication_details: { recipient: { phone: "<b>+1</b>" } },
    });
    await expect.poll(async () => (await shownIds(page))[0], { timeout: 20_000 }).toBe(made.id);
    const first = page.locator("#messages tbody tr").first();
    // Nothing in a message runs, live either: text only.
    expect(await first.locator("td.content").textContent()).toBe(hostile);
    expect(await first.locator("img, script, b").count()).toBe(0);
    expect(await page.evaluate(() => "__pwned" in window)).toBe(false);
    expect(await first.getAttribute("class")).toBe("fresh");

    const old = (await shownIds(page))[1] as string;
    await apiCall(`/${old}`, {
      token: admin,
      method: "PATCH",
      body: { status: "delivered", occurred_at: new Date().toISOString() },
    });
    await expect.poll(async () => (await shownIds(page))[0], { timeout: 20_000 }).toBe(old);
    expect(await first.locator(".badge").textContent()).toBe(text("en", "status_delivered"));
    // Each message once, however often it changed.
    const ids = await shownIds(page);
    expect(new Set(ids).size).toBe(ids.length);
    expect(await page.locator("#live-status").textContent()).toBe(text("en", "live_arrived", { count: "2" }));

    expect(await stillSamePage(page)).toBe(true);
    // The token never went into a URL: the stream was opened with a ticket.
    const streams = requests.filter((u) => u.includes("/stream?"));
    expect(streams.length).toBeGreaterThan(0);
    for (const u of streams) expect(u).toMatch(/ticket=st_/);
    for (const u of requests) expect(u).not.toContain(admin);
    expect(errors).toEqual([]);
    await context.close();
  });

  it("streams with the list's filters: a message the filters exclude does not appear", async () => {
    const { page, context } = await openPage(browser);
    await signIn(page, admin, "/console", "en", { type: "email" });
    await loaded(page);
    await liveOn(page);
    const sms = await create(admin, { customer_id: customer, content: "an sms" });
    const email = await create(admin, { customer_id: customer, type: "email", content: "an email" });
    await expect.poll(async () => (await shownIds(page))[0], { timeout: 20_000 }).toBe(email.id);
    expect(await shownIds(page)).not.toContain(sms.id);
    await context.close();
  });

  it("a customer sees their own new messages only", async () => {
    const { page, context } = await openPage(browser);
    await signIn(page, await token("customer", tenant, { customer }));
    await loaded(page);
    await liveOn(page);
    const theirs = await create(admin, { customer_id: randomUUID(), content: "someone else's" });
    const mine = await create(admin, { customer_id: customer, content: "mine" });
    await expect.poll(async () => (await shownIds(page))[0], { timeout: 20_000 }).toBe(mine.id);
    expect(await shownIds(page)).not.toContain(theirs.id);
    await context.close();
  });

  it("after a drop it resumes from the last event seen with a new ticket, and misses nothing", async () => {
    const { page, context, requests } = await openPage(browser);
    // The drop: the stream's EventSource closed as the browser closes it when a reconnection is
    // refused (a ticket works once), then its error event; what follows is the console's own.
    await page.addInitScript(() => {
      const Real = EventSource;
      const sources: EventSource[] = [];
      Object.assign(window, {
        __sources: sources,
        EventSource: class extends Real {
          constructor(url: string | URL, init?: EventSourceInit) {
            super(url, init);
            sources.push(this);
          }
        },
      });
    });
    await signIn(page, admin, "/console", "en", { live: "1" });
    await loaded(page);
    // live=1 in the address turns it on by itself (a reload or a language change keeps it).
    await page.locator('#live-status[data-state="open"]').waitFor({ state: "attached" });
    const seen = await create(admin, { customer_id: customer, content: "seen before the drop" });
    await expect.poll(async () => (await shownIds(page))[0], { timeout: 20_000 }).toBe(seen.id);

    await page.evaluate(() => {
      const source = (window as any).__sources.at(-1) as EventSource;
      source.close();
      source.dispatchEvent(new Event("error"));
    });
    await page.locator('#live-status[data-state="reconnecting"]').waitFor({ state: "attached" });
    const missed = await create(admin, { customer_id: customer, content: "sent during the drop" });
    await expect.poll(async () => (await shownIds(page))[0], { timeout: 30_000 }).toBe(missed.id);
    const resumed = requests.filter((u) => u.includes("/stream?") && u.includes("last_event_id=evt_"));
    expect(resumed.length).toBeGreaterThan(0);
    await context.close();
  });

  it("off stops the stream", async () => {
    const { page, context } = await openPage(browser);
    await signIn(page, admin, "/console", "en", { live: "1" });
    await loaded(page);
    await page.locator('#live-status[data-state="open"]').waitFor({ state: "attached" });
    await page.locator("#live-toggle").click();
    await page.locator('#live-status[data-state="closed"]').waitFor({ state: "attached" });
    expect(new URL(page.url()).searchParams.get("live")).toBeNull();
    const made = await create(admin, { customer_id: customer, content: "after off" });
    // The list as it was: a fresh list has the new one, this page does not.
    const fresh = await apiCall("?limit=1", { token: admin });
    expect(fresh.communications[0].id).toBe(made.id);
    await page.waitForTimeout(1500);
    expect(await shownIds(page)).not.toContain(made.id);
    await context.close();
  });
});
