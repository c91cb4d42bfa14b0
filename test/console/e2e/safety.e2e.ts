/**
 * Nothing in a message runs. Content, addresses, details, provider ids and
 * event details holding HTML, script and `javascript:` links are shown as
 * the text they are; no element, handler or link comes out of them; and
 * every console answer carries the Content-Security-Policy (no inline
 * script or style, no eval, no framing; Trusted Types, so that a string can
 * never become markup through a DOM sink).
 */
import { randomUUID } from "node:crypto";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../../../scripts/lib/chromium.mjs";
import { CONSOLE_CSP } from "../../../src/console/policy";
import { apiCall, create, loaded, ORIGIN, openPage, signIn, token } from "./support";

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(() => browser?.close());

/** Each payload, if it ever ran, would set window.__pwned (or open a dialog, which the watcher records). */
const PAYLOADS = [
  `<img src=x onerror="window.__pwned='img'">`,
  `<script>window.__pwned='script'</script>`,
  `<a href="javascript:window.__pwned='link'">open</a>`,
  `javascript:window.__pwned='url'`,
  `<svg onload="window.__pwned='svg'"></svg>`,
  `"><iframe src="javascript:alert(1)"></iframe>`,
  `<style>body{display:none}</style>`,
] as const;
const ALL = PAYLOADS.join(" ");

async function assertNothingRan(page: Page, dialogs: string[]) {
  expect(await page.evaluate(() => (globalThis as any).__pwned)).toBeUndefined();
  expect(dialogs).toEqual([]);
  const main = page.locator("#main");
  for (const tag of ["img", "script", "svg", "iframe", "style", "object", "embed"]) {
    expect(await main.locator(tag).count(), `<${tag}> in the page`).toBe(0);
  }
  const hrefs = await page.locator("a[href]").evaluateAll((links) => links.map((a) => a.getAttribute("href") ?? ""));
  for (const href of hrefs) expect(href, "a link the console did not make").toMatch(/^(\/console[/?]|#main$)/);
  const handlers = await page.evaluate(() =>
    [...document.querySelectorAll("*")].flatMap((node) =>
      [...node.attributes].filter((a) => a.name.startsWith("on")).map((a) => `${node.tagName} ${a.name}`),
    ),
  );
  expect(handlers).toEqual([]);
  // The styles were not replaced by a message's <style>.
  expect(await page.locator("body").isVisible()).toBe(true);
}

describe("hostile messages", () => {
  const tenant = randomUUID();
  let admin: string;
  let id: string;

  beforeAll(async () => {
    admin = await token("admin", tenant);
    const c = await create(admin, {
      customer_id: randomUUID(),
      content: `${PAYLOADS[0]}\n${ALL}`,
      provider: "evil",
      provider_message_id: ALL.slice(0, 255),
      communication_details: {
        sender: { phone: PAYLOADS[0].slice(0, 64), email: PAYLOADS[1] },
        recipient: { phone: PAYLOADS[3].slice(0, 64), email: PAYLOADS[2], name: PAYLOADS[4] },
        [PAYLOADS[1]]: PAYLOADS[5],
        nested: { [PAYLOADS[2]]: [PAYLOADS[0], { deeper: PAYLOADS[6] }] },
      },
    });
    id = c.id;
    await apiCall(`/${id}`, {
      token: admin,
      method: "PATCH",
      body: {
        status: "failed",
        occurred_at: new Date().toISOString(),
        details: { error: ALL, [PAYLOADS[0]]: PAYLOADS[3] },
      },
    });
    // An inbound one: its sender is the address a row shows.
    await create(admin, {
      customer_id: randomUUID(),
      direction: "inbound",
      content: PAYLOADS[2],
      communication_details: { sender: { email: PAYLOADS[1] } },
    });
  });

  it("the list shows content and addresses as text, and runs nothing", async () => {
    const { page, context, dialogs, errors } = await openPage(browser);
    await signIn(page, admin);
    await loaded(page);
    const rows = page.locator("#messages tbody tr");
    expect(await rows.count()).toBe(2);
    expect(await page.locator(`tr[data-id="${id}"] td.content`).textContent()).toBe(PAYLOADS[0]);
    expect(await page.locator(`tr[data-id="${id}"]`).textContent()).toContain(PAYLOADS[3].slice(0, 64));
    expect(await rows.nth(0).textContent()).toContain(PAYLOADS[1]);
    expect(await rows.nth(0).textContent()).toContain(PAYLOADS[2]);
    await assertNothingRan(page, dialogs);
    expect(errors).toEqual([]);
    await context.close();
  });

  it("a message shows every field, detail and event detail as text, and runs nothing", async () => {
    const { page, context, dialogs, errors } = await openPage(browser);
    await signIn(page, admin, `/console/messages/${id}`);
    await loaded(page, "#message");
    const shown = await page.locator("#message").textContent();
    for (const payload of PAYLOADS) expect(shown).toContain(payload);
    expect(await page.locator(".message-content").textContent()).toBe(`${PAYLOADS[0]}\n${ALL}`);
    await assertNothingRan(page, dialogs);
    expect(errors).toEqual([]);
    await context.close();
  });

  it("a hostile id or filter in the console's own address is escaped", async () => {
    const { page, context, dialogs } = await openPage(browser);
    await signIn(page, admin, `/console/messages/${encodeURIComponent(PAYLOADS[0])}`);
    await loaded(page, "#message");
    await assertNothingRan(page, dialogs);
    await page.goto(`${ORIGIN}/console?language=en&provider=${encodeURIComponent(PAYLOADS[5])}`);
    await loaded(page);
    expect(await page.locator("#f-provider").inputValue()).toBe(PAYLOADS[5]);
    await assertNothingRan(page, dialogs);
    await context.close();
  });

  it("Trusted Types are enforced: no string becomes markup, even from the page's own code", async () => {
    const { page, context } = await openPage(browser);
    await signIn(page, admin);
    const outcome = await page.evaluate(() => {
      try {
        document.body.insertAdjacentHTML("beforeend", "<b id=injected>x</b>");
        return "parsed";
      } catch (e) {
        return (e as Error).name;
      }
    });
    expect(outcome).toBe("TypeError");
    expect(await page.locator("#injected").count()).toBe(0);
    await context.close();
  });
});

describe("the Content-Security-Policy", () => {
  it.each([
    "/console",
    "/console?language=ar",
    "/console/messages/0195f3c2-6d1e-7b4a-9c3e-1a2b3c4d5e6f",
    "/console/providers",
    "/console/console.js",
    "/console/console.css",
    "/console/favicon.svg",
    "/console/no-such-page",
  ])("is on %s", async (path) => {
    const res = await fetch(`${ORIGIN}${path}`);
    const csp = res.headers.get("content-security-policy");
    expect(csp).toBe(CONSOLE_CSP);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("unsafe-inline");
    expect(csp).not.toContain("unsafe-eval");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("no console page holds an inline script, style or handler", async () => {
    for (const path of ["/console", "/console/providers", "/console/messages/x"]) {
      const html = await (await fetch(`${ORIGIN}${path}`)).text();
      const scripts = [...html.matchAll(/<script\b([^>]*)>/g)].map((m) => m[1] ?? "");
      for (const attrs of scripts) expect(attrs, path).toMatch(/\bsrc="\/console\/|type="application\/json"/);
      expect(html, path).not.toMatch(/<style\b|\sstyle=|\son[a-z]+=/i);
    }
  });

  it("a page in the browser reports no policy violation while it works", async () => {
    const admin = await token("admin", randomUUID());
    await create(admin, { customer_id: randomUUID(), content: ALL });
    const { page, context } = await openPage(browser);
    await page.addInitScript(() => {
      (globalThis as any).__violations = [];
      document.addEventListener("securitypolicyviolation", (e) =>
        (globalThis as any).__violations.push(`${e.violatedDirective} ${e.blockedURI}`),
      );
    });
    await signIn(page, admin);
    await loaded(page);
    await page.locator("#messages tbody a").first().click();
    await loaded(page, "#message");
    expect(await page.evaluate(() => (globalThis as any).__violations)).toEqual([]);
    await context.close();
  });
});
