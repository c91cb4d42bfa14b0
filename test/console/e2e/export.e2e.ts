/**
 * Export: the Messages view's current filters (address and q included)
 * downloaded as CSV and as NDJSON: the file is the API's export of the same
 * filters, byte for byte; the token travels in a header, never in a URL; a
 * filter the API refuses is said in the page, and nothing is saved.
 */
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../../../scripts/lib/chromium.mjs";
import { API, create, loaded, openPage, signIn, text, token } from "./support";

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(() => browser?.close());

const tenant = randomUUID();
let admin: string;
beforeAll(async () => {
  admin = await token("admin", tenant);
  const customer = randomUUID();
  await create(admin, {
    customer_id: customer,
    content: 'Parcel "A", on its way\nsecond line, <script>alert(1)</script>',
    communication_details: { recipient: { phone: "+9647501112233" } },
  });
  await create(admin, { customer_id: customer, type: "email", content: "Parcel B delivered" });
  await create(admin, { customer_id: randomUUID(), content: "unrelated" });
});

/** The API's export of `query`, as curl would fetch it: the bytes, a CSV's byte order mark included. */
async function apiExport(query: string) {
  const res = await fetch(`${API}/export?${query}`, { headers: { authorization: `Bearer ${admin}` } });
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

describe("Export", () => {
  it.each([
    ["csv", "#export-csv"],
    ["ndjson", "#export-ndjson"],
  ])("%s: the current filters' rows, as the API exports them", async (format, button) => {
    const { page, context, requests, errors } = await openPage(browser);
    await signIn(page, admin, "/console", "en", { q: "parcel", limit: "10" });
    await loaded(page);
    const [download] = await Promise.all([page.waitForEvent("download"), page.locator(button).click()]);
    expect(download.suggestedFilename()).toMatch(new RegExp(`^communications-[0-9T-]+\\.${format}$`));
    const bytes = await readFile((await download.path()) as string);
    expect(bytes.equals(await apiExport(`q=parcel&format=${format}`))).toBe(true);
    const saved = bytes.toString("utf8");
    // Both parcel messages, the unrelated one not.
    const rows = format === "ndjson" ? saved.trim().split("\n") : [];
    if (format === "ndjson") expect(rows).toHaveLength(2);
    else expect(saved).toContain('"Parcel ""A"", on its way\nsecond line, <script>alert(1)</script>"');
    expect(saved).not.toContain("unrelated");
    await expect.poll(() => page.locator("#notice").textContent()).toContain(download.suggestedFilename());
    for (const u of requests) expect(u).not.toContain(admin);
    expect(requests.some((u) => u.includes("/export?") && u.includes(`format=${format}`))).toBe(true);
    expect(errors).toEqual([]);
    await context.close();
  });

  it("exports by address too", async () => {
    const { page, context } = await openPage(browser);
    await signIn(page, admin, "/console", "en", { address: "+9647501112233" });
    await loaded(page);
    const [download] = await Promise.all([page.waitForEvent("download"), page.locator("#export-ndjson").click()]);
    const bytes = await readFile((await download.path()) as string);
    expect(bytes.equals(await apiExport("address=%2B9647501112233&format=ndjson"))).toBe(true);
    const saved = bytes.toString("utf8");
    expect(saved.trim().split("\n")).toHaveLength(1);
    await context.close();
  });

  it("a filter the API refuses: its error in the page's language, no file", async () => {
    const { page, context } = await openPage(browser);
    let downloads = 0;
    page.on("download", () => downloads++);
    await signIn(page, admin, "/console", "ar", { customer_id: "not-a-uuid" });
    await loaded(page);
    await page.locator("#export-csv").click();
    const refused = await fetch(`${API}/export?customer_id=not-a-uuid&format=csv&language=ar`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    const body = await refused.json();
    await expect.poll(() => page.locator("#alert p").textContent()).toBe(body.message);
    expect(await page.locator("#alert").textContent()).toContain(body.errors[0].message);
    expect(downloads).toBe(0);
    expect(await page.locator("#alert p").textContent()).not.toBe(text("en", "error_network"));
    await context.close();
  });
});
