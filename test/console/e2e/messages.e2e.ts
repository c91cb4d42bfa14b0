/**
 * The Messages view against the API: every filter (address and q included)
 * gives the rows the API gives for it, the total, "older" and "newer" by cursor; a message with its
 * fields, details and timeline; the status change for staff.
 */
import { randomUUID } from "node:crypto";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../../../scripts/lib/chromium.mjs";
import { apiCall, consolePath, create, loaded, openPage, shownIds, signIn, text, token } from "./support";

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(() => browser?.close());

const ids = (json: any): string[] => json.communications.map((c: { id: string }) => c.id);

describe("Messages: filters, total, cursor pages", () => {
  const tenant = randomUUID();
  const [alice, bob] = [randomUUID(), randomUUID()];
  const delivery = randomUUID();
  let admin: string;

  beforeAll(async () => {
    admin = await token("admin", tenant);
    await create(admin, {
      customer_id: alice,
      delivery_id: delivery,
      content: "Your parcel is on its way",
      provider: "twilio",
      provider_message_id: "SM-console-1",
      communication_details: { recipient: { phone: "+9647501234567" } },
    });
    await create(admin, {
      customer_id: bob,
      type: "email",
      direction: "inbound",
      content: "Where is my parcel?",
      communication_details: { sender: { email: "bob@example.com" } },
    });
    const push = await create(admin, { customer_id: alice, type: "push_notification", delivery_id: delivery });
    const call = await create(admin, { customer_id: bob, type: "call", provider: "twilio" });
    const now = new Date().toISOString();
    await apiCall(`/${push.id}`, { token: admin, method: "PATCH", body: { status: "delivered", occurred_at: now } });
    await apiCall(`/${call.id}`, { token: admin, method: "PATCH", body: { status: "failed", occurred_at: now } });
  });

  /** Fills the filter form as a user would, submits it, and returns the rows shown. */
  async function filter(page: Page, set: (page: Page) => Promise<void>) {
    await page.locator("#filters a").click(); // clear
    await loaded(page);
    await set(page);
    await page.locator("#filters button[type=submit]").click();
    await page.waitForURL(/\/console\?/);
    return shownIds(page);
  }

  const cases: [string, string, (page: Page) => Promise<void>][] = [
    ["customer_id", `customer_id=${alice}`, (p) => p.locator("#f-customer").fill(alice)],
    ["delivery_id", `delivery_id=${delivery}`, (p) => p.locator("#f-delivery").fill(delivery)],
    [
      "type",
      "type=email",
      (p) =>
        p
          .locator("#f-type")
          .selectOption("email")
          .then(() => {}),
    ],
    [
      "status",
      "status=delivered",
      (p) =>
        p
          .locator("#f-status")
          .selectOption("delivered")
          .then(() => {}),
    ],
    [
      "status failed",
      "status=failed",
      (p) =>
        p
          .locator("#f-status")
          .selectOption("failed")
          .then(() => {}),
    ],
    [
      "direction",
      "direction=inbound",
      (p) =>
        p
          .locator("#f-direction")
          .selectOption("inbound")
          .then(() => {}),
    ],
    ["provider", "provider=twilio", (p) => p.locator("#f-provider").fill("twilio")],
    [
      "provider_message_id",
      "provider_message_id=SM-console-1",
      (p) => p.locator("#f-provider-id").fill("SM-console-1"),
    ],
    ["address (phone)", "address=%2B9647501234567", (p) => p.locator("#f-address").fill("+9647501234567")],
    ["address (email)", "address=bob%40example.com", (p) => p.locator("#f-address").fill("bob@example.com")],
    ["q (words in the content)", "q=parcel", (p) => p.locator("#f-q").fill("parcel")],
    [
      "q and type",
      "q=parcel&type=email",
      async (p) => {
        await p.locator("#f-q").fill("parcel");
        await p.locator("#f-type").selectOption("email");
      },
    ],
    [
      "created_after (future)",
      "created_after=2099-01-01T00:00:00Z",
      (p) => p.locator("#f-after").fill("2099-01-01T00:00"),
    ],
    [
      "created_before (future)",
      "created_before=2099-01-01T00:00:00Z",
      (p) => p.locator("#f-before").fill("2099-01-01T00:00"),
    ],
    [
      "several at once",
      `customer_id=${bob}&type=call&status=failed`,
      async (p) => {
        await p.locator("#f-customer").fill(bob);
        await p.locator("#f-type").selectOption("call");
        await p.locator("#f-status").selectOption("failed");
      },
    ],
  ];

  it("every filter shows the rows the API returns for it, newest first", async () => {
    const { page, context, errors } = await openPage(browser);
    await signIn(page, admin);
    const all = await apiCall("?limit=100", { token: admin });
    expect(await shownIds(page)).toEqual(ids(all));
    for (const [name, query, set] of cases) {
      const expected = ids(await apiCall(`?${query}&limit=25`, { token: admin }));
      expect(await filter(page, set), name).toEqual(expected);
      if (name !== "created_after (future)") expect(expected.length, name).toBeGreaterThan(0);
      // The form shows what is applied, after the reload.
      expect(new URL(page.url()).searchParams.get("language")).toBe("en");
    }
    expect(errors).toEqual([]);
    await context.close();
  });

  it("says the total, and shows the API's own error for a filter it refuses", async () => {
    const { page, context } = await openPage(browser);
    await signIn(page, admin, "/console", "en", { type: "sms" });
    const api = await apiCall("?type=sms", { token: admin });
    await loaded(page);
    expect(await page.locator("#summary").textContent()).toContain(
      text("en", "messages_total", { count: String(api.total) }),
    );
    await page.goto(consolePath("/console", "en", { customer_id: "not-a-uuid" }));
    await loaded(page);
    const refused = await fetch(
      `${consolePath("/delivery/customer-communications", "en", { customer_id: "not-a-uuid" })}`,
      { headers: { authorization: `Bearer ${admin}` } },
    ).then((r) => r.json());
    const alert = await page.locator("#alert").textContent();
    expect(alert).toContain(refused.message);
    expect(alert).toContain(refused.errors[0].message);
    await context.close();
  });
});

describe("Messages: older and newer", () => {
  const tenant = randomUUID();

  it("walks the pages by cursor both ways, with the rows the API's cursor pages hold", async () => {
    const admin = await token("admin", tenant);
    for (let i = 0; i < 23; i++) await create(admin, { customer_id: randomUUID(), content: `message ${i}` });
    const first = await apiCall("?limit=10", { token: admin });
    const second = await apiCall(`?limit=10&cursor=${first.next_cursor}`, { token: admin });
    const third = await apiCall(`?limit=10&cursor=${second.next_cursor}`, { token: admin });
    expect(third.communications).toHaveLength(3);

    const { page, context } = await openPage(browser);
    await signIn(page, admin, "/console", "en", { limit: "10" });
    const summary = () => page.locator("#summary").textContent();
    expect(await shownIds(page)).toEqual(ids(first));
    expect(await page.locator("#page-newer").isHidden()).toBe(true);
    expect(await summary()).toContain(text("en", "messages_range", { from: "1", to: "10" }));

    await page.locator("#page-older").click();
    expect(await shownIds(page)).toEqual(ids(second));
    expect(await summary()).toContain(text("en", "messages_range", { from: "11", to: "20" }));
    await page.locator("#page-older").click();
    expect(await shownIds(page)).toEqual(ids(third));
    expect(await summary()).toContain(text("en", "messages_range", { from: "21", to: "23" }));
    expect(await page.locator("#page-older").isHidden()).toBe(true);
    expect(await summary()).toContain(text("en", "messages_total", { count: "23" }));

    await page.locator("#page-newer").click();
    expect(await shownIds(page)).toEqual(ids(second));
    await page.locator("#page-newer").click();
    expect(await shownIds(page)).toEqual(ids(first));
    expect(await page.locator("#page-newer").isHidden()).toBe(true);
    await context.close();
  });
});

describe("A message", () => {
  const tenant = randomUUID();

  it("shows every field, the details laid out and the timeline; staff set a status", async () => {
    const admin = await token("admin", tenant);
    const c = await create(admin, {
      customer_id: randomUUID(),
      type: "sms",
      content: "Line one\nLine two",
      provider: "twilio",
      provider_message_id: "SM-detail-1",
      communication_details: {
        recipient: { phone: "+9647501234567", name: "Rezan" },
        template_id: "delivery-on-way",
        template_variables: { window: "2-4pm" },
      },
    });
    await apiCall(`/${c.id}`, {
      token: admin,
      method: "PATCH",
      body: { status: "delivered", occurred_at: new Date().toISOString(), details: { provider: "twilio", code: 0 } },
    });

    const { page, context, errors } = await openPage(browser);
    await signIn(page, admin, "/console", "en", { type: "sms" });
    await loaded(page);
    await page.locator(`#messages tr[data-id="${c.id}"] a`).click();
    await loaded(page, "#message");
    const fields = await page.locator("#fields").textContent();
    for (const value of [c.id, "Line one\nLine two", "SM-detail-1", "twilio", text("en", "status_delivered")]) {
      expect(fields).toContain(value);
    }
    const details = await page.locator("#comm-details").textContent();
    for (const value of ["recipient", "+9647501234567", "Rezan", "template_variables", "2-4pm"]) {
      expect(details).toContain(value);
    }
    const timeline = page.locator("#timeline > li");
    expect(await timeline.count()).toBe(2);
    expect(await timeline.nth(0).textContent()).toContain(
      text("en", "timeline_created", { status: text("en", "status_sent") }),
    );
    expect(await timeline.nth(1).textContent()).toContain(
      text("en", "timeline_change", { from: text("en", "status_sent"), to: text("en", "status_delivered") }),
    );
    expect(await timeline.nth(1).textContent()).toContain("provider");

    // Forward: changed, and the timeline grows.
    await page.locator("#sc-status").selectOption("read");
    await page.locator("#status-form button").click();
    await expect
      .poll(() => page.locator("#notice").textContent())
      .toBe("Customer communication status updated successfully");
    expect(await timeline.count()).toBe(3);
    expect(await page.locator("#fields").textContent()).toContain(text("en", "status_read"));
    // Backwards: the API changes nothing and says so.
    await page.locator("#sc-status").selectOption("sent");
    await page.locator("#status-form button").click();
    await expect.poll(() => page.locator("#notice").textContent()).toContain("Status unchanged");
    expect(await timeline.count()).toBe(3);

    // Back to the list, with the filter it came from.
    await page.locator("#back").click();
    await loaded(page);
    expect(new URL(page.url()).searchParams.get("type")).toBe("sms");
    expect(errors).toEqual([]);
    await context.close();
  });
});
