/**
 * Keyboard and screen-reader use: axe-core finds no serious or critical
 * violation on any view, in a left-to-right and a right-to-left language, at
 * a phone's width (375 px) and a desktop's (1280 px), and no view scrolls
 * sideways on the phone; a keyboard alone signs in, reaches a message and
 * sets its status.
 */
import { randomUUID } from "node:crypto";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../../../scripts/lib/chromium.mjs";
import type { Language } from "../../../src/i18n/messages";
import {
  API,
  apiCall,
  axeViolations,
  consolePath,
  create,
  loaded,
  openPage,
  signIn,
  token,
  unmatchedEvent,
} from "./support";

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(() => browser?.close());

const tenant = randomUUID();
let admin: string;
let messageId: string;

beforeAll(async () => {
  admin = await token("admin", tenant);
  for (let i = 0; i < 3; i++) {
    await create(admin, {
      customer_id: randomUUID(),
      content: `سلام، گەیاندنەکەت لە ڕێگادایە ${i}\nsecond line`,
      communication_details: { recipient: { phone: "+9647501234567", name: "Rezan" }, template_variables: { a: "1" } },
    });
  }
  const last = await create(admin, {
    customer_id: randomUUID(),
    type: "email",
    direction: "inbound",
    content: "Hello",
  });
  messageId = last.id;
  await apiCall(`/${messageId}`, {
    token: admin,
    method: "PATCH",
    body: { status: "delivered", occurred_at: new Date().toISOString(), details: { provider: "sendgrid" } },
  });
  await fetch(`${API}/providers/twilio`, {
    method: "PUT",
    headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
    body: JSON.stringify({ auth_token: "0123456789abcdef0123456789abcdef" }),
  });
  await unmatchedEvent(admin, tenant, "SM-matches-nothing");
  await apiCall("/erasures", {
    token: admin,
    method: "POST",
    body: { customer_id: randomUUID(), reference: "DSR-1" },
    expect: 202,
  });
  await apiCall("/settings", { token: admin, method: "PUT", body: { redact_after_days: 90 } });
  await apiCall("/subscriptions", {
    token: admin,
    method: "POST",
    body: { url: "https://crm.example.com/hooks/communications", events: ["communication.status_changed"] },
  });
});

type Open = (page: Page, lang: Language) => Promise<void>;
const VIEWS: Record<string, Open> = {
  "sign-in": async (page, lang) => {
    await page.goto(consolePath("/console", lang));
    await page.locator("#sign-in").waitFor();
  },
  messages: async (page, lang) => {
    await signIn(page, admin, "/console", lang);
    await loaded(page);
  },
  message: async (page, lang) => {
    await signIn(page, admin, `/console/messages/${messageId}`, lang);
    await loaded(page, "#message");
    await page.locator("#status-change").waitFor();
    await page.locator("#redact").waitFor();
  },
  "messages (live on, with filters)": async (page, lang) => {
    await signIn(page, admin, "/console", lang, { live: "1", q: "second", address: "+9647501234567" });
    await loaded(page);
    await page.locator('#live-status[data-state="open"]').waitFor({ state: "attached" });
    await create(admin, {
      customer_id: randomUUID(),
      content: "second, live",
      communication_details: { recipient: { phone: "+9647501234567" } },
    });
    await page.locator("#messages tr.fresh").first().waitFor();
  },
  providers: async (page, lang) => {
    await signIn(page, admin, "/console/providers", lang);
    await loaded(page, "#providers");
    await loaded(page, "#unmatched");
  },
  "providers (view:tenant: unmatched events only)": async (page, lang) => {
    await signIn(page, await token("viewer", tenant), "/console/providers", lang);
    await loaded(page, "#unmatched");
  },
  "subscriptions (secret shown, delivery log open)": async (page, lang) => {
    await signIn(page, admin, "/console/subscriptions", lang);
    await loaded(page, "#subscriptions");
    await page.locator("#subscriptions tbody tr button").nth(2).click(); // a new secret
    await page.locator("#secret-once").waitFor();
    await page.locator("#subscriptions tbody tr button").nth(1).click(); // the delivery log
    await loaded(page, "#delivery-log");
  },
  "privacy (an erasure, the setting, the audit log)": async (page, lang) => {
    await signIn(page, admin, "/console/privacy", lang);
    await loaded(page, "#erasures");
    await loaded(page, "#audit");
    await page.locator("#erasures tbody tr").first().waitFor();
  },
  "no access (driver)": async (page, lang) => {
    await signIn(page, await token("driver", tenant), "/console", lang);
  },
};

const RUNS: [string, Language, number][] = [];
for (const view of Object.keys(VIEWS)) {
  for (const lang of ["en", "ar"] as const) for (const width of [375, 1280]) RUNS.push([view, lang, width]);
}
for (const lang of ["ku", "fa"] as const) for (const width of [375, 1280]) RUNS.push(["messages", lang, width]);

describe("axe-core and widths", () => {
  it.each(RUNS)("%s (%s, %i px): no serious or critical violation, no sideways scroll", async (view, lang, width) => {
    const { page, context, errors } = await openPage(browser, { width, height: 800, acceptDialogs: true });
    await (VIEWS[view] as Open)(page, lang);
    const violations = await axeViolations(page);
    expect(violations, JSON.stringify(violations, null, 2)).toEqual([]);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow, "page wider than the window").toBeLessThanOrEqual(0);
    expect(errors).toEqual([]);
    await context.close();
  });
});

describe("the check itself", () => {
  it("axe-core runs under the console's policy and finds a violation when there is one", async () => {
    const { page, context } = await openPage(browser);
    await VIEWS.messages?.(page, "en");
    await page.evaluate(() => {
      const field = document.createElement("input");
      field.type = "text";
      document.getElementById("main")?.append(field);
    });
    const violations = await axeViolations(page);
    expect(violations.map((v) => v.id)).toContain("label");
    await context.close();
  });
});

describe("keyboard only", () => {
  /** Presses Tab until `selector` has focus (at most 80 times). */
  async function tabTo(page: Page, selector: string) {
    for (let i = 0; i < 80; i++) {
      if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return;
      await page.keyboard.press("Tab");
    }
    throw new Error(`Tab never reached ${selector}`);
  }

  it("signs in, opens a message and sets its status without a pointer", async () => {
    const { page, context } = await openPage(browser);
    await page.goto(consolePath());
    // The token field has the focus when the page opens.
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe("token-input");
    await page.keyboard.insertText(admin);
    await page.keyboard.press("Enter");
    await loaded(page);
    await tabTo(page, "#messages tbody a");
    await page.keyboard.press("Enter");
    await loaded(page, "#message");
    await tabTo(page, "#sc-status");
    await page.keyboard.press("End"); // the last status: failed
    await tabTo(page, "#status-form button");
    await page.keyboard.press("Enter");
    await expect.poll(() => page.locator("#notice").textContent()).toContain("successfully");
    await context.close();
  });

  it("the first Tab reaches the skip link, which moves the focus to the main content", async () => {
    const { page, context } = await openPage(browser);
    await signIn(page, admin);
    await loaded(page);
    await page.reload();
    await loaded(page);
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.className)).toBe("skip");
    await page.keyboard.press("Enter");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("main");
    await context.close();
  });
});
