/**
 * Screenshots of the console (`npm run docs:screenshot`): demo messages are
 * created through the API of the Worker the script started (its own key), then
 * each view (Messages, a message, Providers, search and export, Live,
 * Subscriptions, Privacy) is shown in English (left to right) and Arabic (right to left),
 * at 1280 px, and the Messages view at 375 px too. Saved to docs/screenshots/,
 * which the README links.
 */
import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { Webhook } from "standardwebhooks";
import { DEMO_TENANT, mintToken } from "./local.mjs";

const CUSTOMERS = ["00000000-0000-4000-8000-0000000000c1", "00000000-0000-4000-8000-0000000000c2"];
const DEMO = [
  {
    type: "sms",
    content: "Your delivery #1234 is on its way and will arrive between 2-4pm today.",
    phone: "+9647501234567",
    status: "delivered",
  },
  {
    type: "sms",
    content: "گەیاندنەکەت لە ڕێگادایە و لە نێوان کاتژمێر ٢ بۆ ٤ دەگات.",
    phone: "+9647701112233",
    status: "read",
  },
  {
    type: "email",
    content: "طلبك رقم 5678 في الطريق إليك.\nشكرًا لاختيارك خدماتنا.",
    email: "layla@example.com",
    status: "sent",
  },
  { type: "push_notification", content: "بسته شما تحویل داده شد.", phone: "+989121234567", status: "delivered" },
  { type: "call", content: null, phone: "+9647509876543", status: "failed" },
  { type: "sms", content: "Is my parcel coming today?", phone: "+9647501234567", direction: "inbound" },
  {
    type: "email",
    content: "The Erbil depot is closed on Friday; deliveries resume on Saturday.",
    email: "sara@example.com",
    status: "delivered",
  },
];

async function api(base, token, path, method = "GET", body) {
  const res = await fetch(`${base}/delivery/customer-communications${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

async function seed(base, admin) {
  for (const [i, m] of DEMO.entries()) {
    const inbound = m.direction === "inbound";
    const party = m.phone ? { phone: m.phone } : { email: m.email };
    const { communication } = await api(base, admin, "", "POST", {
      customer_id: CUSTOMERS[i % 2],
      delivery_id: "8e7d6c5b-4a39-4281-9f0e-d1c2b3a4f5e6",
      type: m.type,
      direction: inbound ? "inbound" : "outbound",
      content: m.content,
      provider: m.type === "email" ? "sendgrid" : "twilio",
      provider_message_id: `demo-${i}-${Date.now()}`,
      communication_details: inbound
        ? { sender: party, recipient: { phone: "+15551234567" } }
        : {
            sender: { system_component: "delivery_notifications" },
            recipient: { ...party, name: "Rezan Ahmed" },
            template_id: "delivery-on-way",
            template_variables: { delivery_id: "1234", delivery_window: "2-4pm" },
          },
    });
    const steps = { delivered: ["delivered"], read: ["delivered", "read"], failed: ["failed"] }[m.status] ?? [];
    for (const status of steps) {
      await api(base, admin, `/${communication.id}`, "PATCH", {
        status,
        occurred_at: new Date().toISOString(),
        details: { provider: m.type === "email" ? "sendgrid" : "twilio", event: status },
      });
    }
  }
  await api(base, admin, "/providers/twilio", "PUT", { auth_token: "0123456789abcdef0123456789abcdef" });
  // A status event for a message nobody logged: the Providers view's unmatched events.
  const secret = `whsec_${Buffer.from(randomUUID().replace(/-/g, ""), "hex").toString("base64")}`;
  await api(base, admin, "/providers/standard", "PUT", { secret });
  const body = JSON.stringify({
    type: "communication.status",
    timestamp: new Date().toISOString(),
    data: {
      provider: "acme",
      provider_message_id: "acme-7f3a9c",
      status: "delivered",
      occurred_at: new Date().toISOString(),
    },
  });
  const id = `msg_${randomUUID()}`;
  const at = new Date();
  const res = await fetch(`${base}/delivery/customer-communications/webhooks/standard/${DEMO_TENANT}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "webhook-id": id,
      "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
      "webhook-signature": new Webhook(secret).sign(id, at, body),
    },
    body,
  });
  if (!res.ok) throw new Error(`standard webhook: ${res.status} ${await res.text()}`);
  for (let i = 0; i < 120; i++) {
    const { events } = await api(base, admin, "/providers/unmatched");
    if (events.length > 0) break;
    await new Promise((ok) => setTimeout(ok, 250));
  }
  // Privacy: an erasure of a customer with no message left (it finishes at once), a redaction setting.
  const { erasures } = await api(base, admin, "/erasures");
  if (erasures.length === 0) {
    await api(base, admin, "/erasures", "POST", { customer_id: randomUUID(), reference: "DSR-2026-0142" });
    await api(base, admin, "/settings", "PUT", { redact_after_days: 90 });
  }
  const { subscriptions } = await api(base, admin, "/subscriptions");
  if (subscriptions.length === 0) {
    await api(base, admin, "/subscriptions", "POST", {
      url: "https://crm.example.com/hooks/communications",
      events: ["communication.status_changed"],
      description: "CRM: delivery outcomes",
    });
  }
}

async function signIn(page, base, token, path, lang) {
  await page.goto(`${base}${path}?language=${lang}`);
  await page.locator("#token-input").fill(token);
  await page.locator("#sign-in-form button[type=submit]").click();
  await page.locator("#view:visible").waitFor();
}

/** Saves the screenshots; returns their paths. `context` is a Playwright browser context. */
export async function consoleScreenshots(context, base, secret, outDir) {
  mkdirSync(outDir, { recursive: true });
  const admin = await mintToken({ role: "admin", tenant: DEMO_TENANT, secret });
  await seed(base, admin);
  const saved = [];
  const shot = async (page, name, fullPage = false) => {
    const path = join(outDir, `${name}.png`);
    await page.screenshot({ path, fullPage });
    saved.push(path);
  };
  for (const lang of ["en", "ar"]) {
    const page = await context.newPage();
    await page.setViewportSize({ width: 1280, height: 860 });
    await page.goto(`${base}/console?language=${lang}`);
    await page.locator("#sign-in").waitFor();
    await shot(page, `console-sign-in-${lang}`);
    await signIn(page, base, admin, "/console", lang);
    await page.locator('#messages[aria-busy="false"]').waitFor({ state: "attached" });
    await shot(page, `console-messages-${lang}`, true);
    await page.locator("#messages tbody tr:nth-child(2) a").click();
    await page.locator('#message[aria-busy="false"]').waitFor({ state: "attached" });
    await shot(page, `console-message-${lang}`, true);
    await page.goto(`${base}/console/providers?language=${lang}`);
    await page.locator('#providers[aria-busy="false"]').waitFor({ state: "attached" });
    await page.locator('#unmatched[aria-busy="false"]').waitFor({ state: "attached" });
    await shot(page, `console-providers-${lang}`, true);

    // Search and export: the q filter, then a CSV of it downloaded (its notice on screen).
    await page.goto(`${base}/console?language=${lang}&q=delivery`);
    await page.locator('#messages[aria-busy="false"]').waitFor({ state: "attached" });
    const [download] = await Promise.all([page.waitForEvent("download"), page.locator("#export-csv").click()]);
    await download.path();
    await page.locator("#notice p").waitFor();
    await shot(page, `console-export-${lang}`, true);

    // Live: a message logged elsewhere appears at the top.
    await page.goto(`${base}/console?language=${lang}&live=1`);
    await page.locator('#live-status[data-state="open"]').waitFor({ state: "attached" });
    await api(base, admin, "", "POST", {
      customer_id: CUSTOMERS[0],
      type: "sms",
      content: lang === "ar" ? "السائق وصل إلى العنوان." : "Your driver has arrived.",
      communication_details: { recipient: { phone: "+9647501234567" } },
    });
    await page.locator("#messages tr.fresh").first().waitFor();
    await shot(page, `console-live-${lang}`, true);

    // Subscriptions: a new secret shown once, and the delivery log.
    page.once("dialog", (d) => void d.accept());
    await page.goto(`${base}/console/subscriptions?language=${lang}`);
    await page.locator('#subscriptions[aria-busy="false"]').waitFor({ state: "attached" });
    await page.locator("#subscriptions tbody tr button").nth(2).click();
    await page.locator("#secret-once").waitFor();
    await page.locator("#subscriptions tbody tr button").nth(1).click();
    await page.locator('#delivery-log[aria-busy="false"]').waitFor({ state: "attached" });
    await shot(page, `console-subscriptions-${lang}`, true);

    // Privacy: erasures, the redaction setting, the audit log.
    await page.goto(`${base}/console/privacy?language=${lang}`);
    await page.locator('#erasures[aria-busy="false"]').waitFor({ state: "attached" });
    await page.locator('#audit[aria-busy="false"]').waitFor({ state: "attached" });
    await page.locator("#settings-now:not(:empty)").waitFor();
    await shot(page, `console-privacy-${lang}`, true);
    await page.setViewportSize({ width: 375, height: 812 });
    await page.goto(`${base}/console?language=${lang}`);
    await page.locator('#messages[aria-busy="false"]').waitFor({ state: "attached" });
    await shot(page, `console-messages-${lang}-375`);
    await page.close();
  }
  return saved;
}
