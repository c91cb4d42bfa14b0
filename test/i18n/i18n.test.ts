/**
 * The message catalogue (and the console's, src/i18n/console.ts) is
 * complete in every language, and each route answers in the caller's
 * language: `language` first, then Accept-Language, then English.
 */
import { describe, expect, it } from "vitest";
import { consoleCatalogue, consoleText } from "../../src/i18n/console";
import { catalogue, LANGUAGES, type Language, resolveLanguage, translate } from "../../src/i18n/messages";
import { call, callers, communicationBody, newTenant } from "../support/helpers";

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
const OTHER_LANGUAGES = LANGUAGES.filter((l) => l !== "en");

// The API's messages and the console's texts (src/i18n/console.ts) obey the same rules.
describe.each([
  ["the API's catalogue", catalogue as Record<Language, Record<string, string>>],
  ["the console's catalogue", consoleCatalogue as Record<Language, Record<string, string>>],
])("%s", (_name, texts) => {
  const KEYS = Object.keys(texts.en);

  it("has the four platform languages", () => {
    expect(Object.keys(texts).sort()).toEqual(["ar", "en", "fa", "ku"]);
  });

  it.each(LANGUAGES)("%s has exactly the English keys", (lang) => {
    expect(Object.keys(texts[lang]).sort()).toEqual([...KEYS].sort());
  });

  it.each(LANGUAGES)("%s: every message is non-empty with the same {placeholders} as English", (lang) => {
    for (const key of KEYS) {
      const text = texts[lang][key];
      expect(typeof text, `${lang}.${key}`).toBe("string");
      expect(text?.trim().length, `${lang}.${key} is empty`).toBeGreaterThan(0);
      expect(placeholders(text ?? ""), `${lang}.${key} placeholders`).toEqual(placeholders(texts.en[key] ?? ""));
    }
  });

  it.each(OTHER_LANGUAGES)("%s is translated: no message is left in English", (lang) => {
    for (const key of KEYS) expect(texts[lang][key], key).not.toBe(texts.en[key]);
  });

  it.each(OTHER_LANGUAGES)("%s is written in Arabic script", (lang) => {
    for (const key of KEYS) expect(texts[lang][key], key).toMatch(/[\u0600-\u06FF]/);
  });
});

describe("translate", () => {
  it("translate() fills every placeholder", () => {
    expect(translate("en", "field_too_big", { field: "limit", max: 100 })).toBe("limit must be at most 100");
    expect(translate("ar", "field_required", { field: "type" })).toBe("الحقل type مطلوب");
    expect(consoleText("fa", "messages_total", { count: "۱۲" })).toBe("پیام‌های منطبق: ۱۲");
  });
});

describe("resolveLanguage", () => {
  it.each([
    ["en", undefined, "en"],
    ["ar", undefined, "ar"],
    ["ku", undefined, "ku"],
    ["fa", undefined, "fa"],
    ["AR", undefined, "ar"],
    [" fa ", undefined, "fa"],
    ["de", undefined, "en"],
    ["xx", "ar", "en"],
    ["", "fa", "fa"],
    [undefined, "ar", "ar"],
    [undefined, "fr-FR, fa;q=0.8, en;q=0.5", "fa"],
    [undefined, "ckb-IQ", "ku"],
    [undefined, "ku", "ku"],
    [undefined, "ar-IQ,ar;q=0.9", "ar"],
    [undefined, "de, fr", "en"],
    [undefined, "*", "en"],
    [undefined, undefined, "en"],
  ])("language=%j, Accept-Language=%j -> %s", (query, header, expected) => {
    expect(resolveLanguage(query, header)).toBe(expected);
  });
});

describe("answers in the caller's language", () => {
  const tenant = newTenant();
  const who = callers(tenant);

  it.each(LANGUAGES)("%s: list success message", async (lang) => {
    const res = await call(`?language=${lang}`, { token: await who.viewer() });
    expect(res.status).toBe(200);
    expect(res.json.message).toBe(catalogue[lang].list_ok);
  });

  it.each(LANGUAGES)("%s: create success message", async (lang) => {
    const res = await call(`?language=${lang}`, {
      method: "POST",
      token: await who.admin(),
      body: communicationBody(),
    });
    expect(res.status).toBe(201);
    expect(res.json.message).toBe(catalogue[lang].create_ok);
  });

  it.each(LANGUAGES)("%s: 403 message", async (lang) => {
    const res = await call(`?language=${lang}`, { token: await who.driver() });
    expect(res.status).toBe(403);
    expect(res.json.message).toBe(catalogue[lang].forbidden);
  });

  it.each(LANGUAGES)("%s: 400 message and each field message", async (lang) => {
    const res = await call(`?language=${lang}&limit=0&type=fax`, { token: await who.viewer() });
    expect(res.status).toBe(400);
    expect(res.json.message).toBe(catalogue[lang].validation_failed);
    expect(res.json.errors).toEqual([
      { field: "limit", message: translate(lang, "field_too_small", { field: "limit", min: 1 }) },
      {
        field: "type",
        message: translate(lang, "field_invalid_value", {
          field: "type",
          values: "sms, email, push_notification, call",
        }),
      },
    ]);
  });

  it.each(LANGUAGES)("%s: 401 message, before any token is read", async (lang) => {
    const res = await call(`?language=${lang}`);
    expect(res.status).toBe(401);
    expect(res.json.message).toBe(catalogue[lang].unauthorized);
  });

  it.each(LANGUAGES)("%s: 404 and 405 messages", async (lang) => {
    const notFound = await call(`http://api.test/nowhere?language=${lang}`);
    expect(notFound.json.message).toBe(catalogue[lang].route_not_found);
    const wrongMethod = await call(`?language=${lang}`, { method: "DELETE" });
    expect(wrongMethod.json.message).toBe(catalogue[lang].method_not_allowed);
  });

  it.each(["de", "EN-us", "klingon", "x".repeat(40)])("unknown language %s falls back to English", async (lang) => {
    const ok = await call(`?language=${encodeURIComponent(lang)}`, { token: await who.viewer() });
    expect(ok.status).toBe(200);
    expect(ok.json.message).toBe(catalogue.en.list_ok);
    const denied = await call(`?language=${encodeURIComponent(lang)}`, { token: await who.driver() });
    expect(denied.json.message).toBe(catalogue.en.forbidden);
  });

  it.each([
    ["ar", "ar"],
    ["fa-IR, en;q=0.5", "fa"],
    ["ckb", "ku"],
    ["de-DE, ku;q=0.7", "ku"],
    ["de-DE", "en"],
  ] as const)("without language, Accept-Language %s answers in %s", async (header, lang) => {
    const ok = await call("", { token: await who.viewer(), headers: { "accept-language": header } });
    expect(ok.json.message).toBe(catalogue[lang].list_ok);
    const bad = await call("?limit=500", { token: await who.viewer(), headers: { "accept-language": header } });
    expect(bad.json.message).toBe(catalogue[lang].validation_failed);
    expect(bad.json.errors[0].message).toBe(translate(lang, "field_too_big", { field: "limit", max: 100 }));
  });

  it("an empty language means not given: Accept-Language is used", async () => {
    const res = await call("?language=", { token: await who.viewer(), headers: { "accept-language": "fa" } });
    expect(res.json.message).toBe(catalogue.fa.list_ok);
  });

  it("a repeated language: the first one counts, never a 400", async () => {
    const res = await call("?language=ar&language=en", { token: await who.viewer() });
    expect(res.status).toBe(200);
    expect(res.json.message).toBe(catalogue.ar.list_ok);
  });

  it("language wins over Accept-Language", async () => {
    const res = await call("?language=ku", { token: await who.driver(), headers: { "accept-language": "ar" } });
    expect(res.json.message).toBe(catalogue.ku.forbidden);
  });
});
