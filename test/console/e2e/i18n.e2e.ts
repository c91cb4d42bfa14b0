/**
 * Four languages: the page in the chosen one (or the browser's), right to
 * left for ar, ku and fa, every label from the console's catalogue, the
 * API's messages in the same language, dates and numbers through Intl.
 */
import { randomUUID } from "node:crypto";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../../../scripts/lib/chromium.mjs";
import { catalogue, LANGUAGES } from "../../../src/i18n/messages";
import { consolePath, create, loaded, openPage, signIn, text, token } from "./support";

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(() => browser?.close());

/** Intl's locale of each language, as the console uses it (Sorani Kurdish is ckb). */
const LOCALE = { en: "en", ar: "ar", ku: "ckb", fa: "fa" } as const;

describe("languages", () => {
  const tenant = randomUUID();
  let admin: string;
  let createdAt: string;

  beforeAll(async () => {
    admin = await token("admin", tenant);
    for (let i = 0; i < 12; i++)
      createdAt = (await create(admin, { customer_id: randomUUID(), content: `m${i}` })).created_at;
  });

  it.each(LANGUAGES)("%s: direction, labels, Intl dates and numbers", async (lang) => {
    const { page, context, errors } = await openPage(browser);
    await signIn(page, admin, "/console", lang, { limit: "10" });
    await loaded(page);
    expect(await page.locator("html").getAttribute("lang")).toBe(lang);
    expect(await page.locator("html").getAttribute("dir")).toBe(lang === "en" ? "ltr" : "rtl");
    expect(await page.title()).toBe(text(lang, "page_title", { view: text(lang, "nav_messages") }));
    expect(await page.locator("h1#view-heading").textContent()).toBe(text(lang, "messages_heading"));
    expect(await page.locator("#messages thead th").allTextContents()).toEqual(
      (["col_time", "col_channel", "col_direction", "col_status", "col_address", "col_content"] as const).map((k) =>
        text(lang, k),
      ),
    );
    const first = page.locator("#messages tbody tr").first();
    expect(await first.locator("td").nth(1).textContent()).toBe(text(lang, "type_sms"));
    expect(await first.locator("td").nth(3).textContent()).toBe(text(lang, "status_sent"));
    // The date as Intl writes it in this language and the browser's time zone.
    const expected = await page.evaluate(
      ([iso, locale]) =>
        new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "medium" }).format(new Date(iso as string)),
      [createdAt, LOCALE[lang]],
    );
    expect(await first.locator("time").textContent()).toBe(expected);
    const twelve = await page.evaluate((locale) => new Intl.NumberFormat(locale).format(12), LOCALE[lang]);
    expect(await page.locator("#summary").textContent()).toContain(text(lang, "messages_total", { count: twelve }));
    // Persian digits in Farsi (Arabic, in current CLDR, writes Latin digits by default).
    if (lang === "fa") expect(twelve).toBe("۱۲");
    expect(errors).toEqual([]);
    await context.close();
  });

  it.each(LANGUAGES)("%s: the API's own messages come back in the page's language", async (lang) => {
    const { page, context } = await openPage(browser);
    await signIn(page, admin, "/console", lang, { customer_id: "not-a-uuid" });
    await loaded(page);
    await expect.poll(() => page.locator("#alert p").textContent()).toBe(catalogue[lang].validation_failed);
    await context.close();
  });

  it.each([
    ["fa-IR", "fa"],
    ["ar-IQ", "ar"],
    ["ckb-IQ", "ku"],
    ["de-DE", "en"],
  ] as const)("without a choice, the browser's language %s gives %s", async (locale, lang) => {
    const { page, context } = await openPage(browser, { locale });
    await page.goto(consolePath().replace(/\?.*/, ""));
    expect(await page.locator("html").getAttribute("lang")).toBe(lang);
    expect(await page.locator("#sign-in-heading").textContent()).toBe(text(lang, "sign_in_heading"));
    await context.close();
  });

  it("the language picker changes the language and keeps the filters", async () => {
    const { page, context } = await openPage(browser);
    await signIn(page, admin, "/console", "en", { type: "sms", limit: "10" });
    await loaded(page);
    await page.locator("#language-select").selectOption("ku");
    await page.locator("form.language button").click();
    await loaded(page);
    const url = new URL(page.url());
    expect(url.searchParams.get("language")).toBe("ku");
    expect(url.searchParams.get("type")).toBe("sms");
    expect(url.searchParams.get("limit")).toBe("10");
    expect(await page.locator("html").getAttribute("dir")).toBe("rtl");
    expect(await page.locator("#f-type").inputValue()).toBe("sms");
    // Still signed in: the session belongs to the tab, not to the page's language.
    expect(await page.locator("#messages tbody tr").count()).toBe(10);
    await context.close();
  });
});
