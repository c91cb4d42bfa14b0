/**
 * The console's pages as the Worker serves them (GET /console...): HTML in
 * the reader's language and direction, the console's texts handed to the
 * client as inert JSON, the Content-Security-Policy on every answer (the
 * same value as public/_headers gives the static files), and whatever the
 * address carries escaped.
 */
import { exports } from "cloudflare:workers";
import { describe, expect, expectTypeOf, it } from "vitest";
import type { z } from "zod";
import HEADERS from "../../public/_headers?raw";
import type { AuditEntry } from "../../src/audit/schemas";
import type {
  AuditEntry as ClientAuditEntry,
  Connection as ClientConnection,
  Erasure as ClientErasure,
  PrivacySettings as ClientPrivacySettings,
  UnmatchedEvent as ClientUnmatchedEvent,
} from "../../src/console/client/shared-types";
import { CONSOLE_CSP } from "../../src/console/policy";
import { STREAM_FILTERS as CONSOLE_STREAM_FILTERS } from "../../src/console/shared";
import { consoleCatalogue } from "../../src/i18n/console";
import { LANGUAGES } from "../../src/i18n/messages";
import type { Erasure, Settings } from "../../src/privacy/schemas";
import type { Connection } from "../../src/providers/routes";
import { STREAM_FILTERS } from "../../src/stream/filters";
import type { UnmatchedEvent as UnmatchedProviderEvent } from "../../src/webhooks/unmatched";

const ORIGIN = "http://api.test";
const get = (path: string, headers: Record<string, string> = {}) =>
  exports.default.fetch(new Request(`${ORIGIN}${path}`, { headers }));

/** The JSON the page hands to the client code. */
const texts = (html: string) => {
  const json = /<script type="application\/json" id="cc-texts">([^<]*)<\/script>/.exec(html)?.[1];
  if (!json) throw new Error("no texts in the page");
  return JSON.parse(json);
};

describe("GET /console", () => {
  it.each([
    "/console",
    "/console/providers",
    "/console/subscriptions",
    "/console/privacy",
    "/console/messages/0195f3c2-6d1e-7b4a-9c3e-1a2b3c4d5e6f",
  ])("%s: HTML with the console's policy, never cached stale", async (path) => {
    const res = await get(path);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(res.headers.get("content-security-policy")).toBe(CONSOLE_CSP);
    expect(res.headers.get("cache-control")).toBe("no-cache");
    expect(res.headers.get("vary")).toContain("Accept-Language");
    expect(res.headers.get("x-frame-options")).toBeTruthy();
    const html = await res.text();
    expect(html.startsWith("<!doctype html>")).toBe(true);
    expect(html).toContain('<script type="module" src="/console/console.js"></script>');
    expect(html).not.toMatch(/https?:\/\//);
  });

  it("the policy: same origin only, no inline script or style, no eval, no framing, Trusted Types", () => {
    expect(CONSOLE_CSP).toContain("default-src 'self'");
    expect(CONSOLE_CSP).toContain("frame-ancestors 'none'");
    expect(CONSOLE_CSP).toContain("require-trusted-types-for 'script'");
    expect(CONSOLE_CSP).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
  });

  it("public/_headers gives the console's static files the same policy", () => {
    const rule = HEADERS.split(/\n(?=\S)/).find((block) => block.startsWith("/console/*"));
    expect(rule).toBeDefined();
    expect(rule).toContain(`Content-Security-Policy: ${CONSOLE_CSP}\n`);
  });

  it("an unknown console path is the API's 404, with the policy", async () => {
    const res = await get("/console/nowhere");
    expect(res.status).toBe(404);
    expect(res.headers.get("content-security-policy")).toBe(CONSOLE_CSP);
    expect(await res.json()).toMatchObject({ success: false, message: "Route not found" });
  });

  it.each(LANGUAGES)("%s: lang, direction and the console's texts in that language", async (lang) => {
    const html = await (await get(`/console?language=${lang}`)).text();
    expect(html).toContain(`<html lang="${lang}" dir="${lang === "en" ? "ltr" : "rtl"}">`);
    expect(texts(html)).toEqual(consoleCatalogue[lang]);
    expect(html).toContain(`<title>${consoleCatalogue[lang].nav_messages} · `);
  });

  it.each([
    ["fa-IR,fa;q=0.9", "fa"],
    ["ckb", "ku"],
    ["de", "en"],
  ])("without ?language, Accept-Language %s gives %s", async (header, lang) => {
    const html = await (await get("/console", { "accept-language": header })).text();
    expect(html).toContain(`<html lang="${lang}"`);
  });

  it("what the address carries is escaped, in attributes and in the texts' JSON", async () => {
    const hostile = `"><script>alert(1)</script><img src=x onerror=alert(2)>`;
    const res = await get(
      `/console/messages/${encodeURIComponent(hostile)}?provider=${encodeURIComponent(hostile)}&cursor=${encodeURIComponent(hostile)}`,
    );
    const html = await res.text();
    expect(html).not.toContain("<script>alert");
    expect(html).not.toContain("<img");
    expect(html).toContain("&quot;&gt;&lt;script&gt;");
    // Every script element is the console's file or inert JSON.
    for (const [, attrs] of html.matchAll(/<script\b([^>]*)>/g)) {
      expect(attrs).toMatch(/^ (type="module" src="\/console\/console\.js"|type="application\/json" id="cc-texts")$/);
    }
    // No attribute outside a quoted value is a style or a handler (JSX quotes every value and escapes its quotes).
    expect(html.replace(/"[^"]*"/g, '""')).not.toMatch(/\sstyle=|\son[a-z]+=/i);
  });

  it("the texts' JSON cannot close its script element", async () => {
    const html = await (await get("/console?language=ar")).text();
    const json = /id="cc-texts">([^<]*)<\/script>/.exec(html)?.[1] ?? "";
    expect(json).not.toMatch(/[<>&\u2028\u2029]/);
  });

  it("parameters that are not the console's are not echoed", async () => {
    const html = await (await get("/console?secret=abc123&token=xyz&type=sms")).text();
    expect(html).not.toContain("abc123");
    expect(html).not.toContain("xyz");
    expect(html).toContain('name="type" value="sms"');
  });
});

describe("types the client shares with the API", () => {
  it("the client's copies of the API's shapes are the API's", () => {
    expectTypeOf<ClientConnection>().toEqualTypeOf<z.infer<typeof Connection>>();
    expectTypeOf<ClientUnmatchedEvent>().toEqualTypeOf<z.infer<typeof UnmatchedProviderEvent>>();
    expectTypeOf<ClientAuditEntry>().toEqualTypeOf<z.infer<typeof AuditEntry>>();
    expectTypeOf<ClientErasure>().toEqualTypeOf<z.infer<typeof Erasure>>();
    expectTypeOf<ClientPrivacySettings>().toEqualTypeOf<z.infer<typeof Settings>>();
  });

  it("the Live switch passes the stream the filters it takes", () => {
    expect([...CONSOLE_STREAM_FILTERS]).toEqual([...STREAM_FILTERS]);
  });
});
