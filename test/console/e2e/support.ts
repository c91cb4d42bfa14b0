/**
 * What the console's browser tests share: the Worker's origin, tokens for
 * each kind of caller (signed with the run's key, claims as contract.md),
 * data created through the API, a watched page (console errors, uncaught
 * errors, dialogs, every URL requested), signing in as a user would, and
 * axe-core.
 */
import { randomUUID } from "node:crypto";
import axe from "axe-core";
import { SignJWT } from "jose";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { Webhook } from "standardwebhooks";
import { expect, inject, vi } from "vitest";
import { consoleCatalogue } from "../../../src/i18n/console";
import type { Language } from "../../../src/i18n/messages";

export const ORIGIN = inject("consoleOrigin");
export const API = `${ORIGIN}/delivery/customer-communications`;
export { consoleCatalogue };

export const ROLES = {
  admin: { role: "tenant_admin", permissions: ["manage:operations:tenant"] },
  viewer: { role: "dispatcher", permissions: ["view:tenant"] },
  driver: { role: "driver", permissions: ["manage:module:delivery"] },
  customer: {},
  systemAdmin: { is_system_admin: true, permissions: [] },
} as const;
export type Role = keyof typeof ROLES;

/** A token for `role` in `tenant` (a customer token names `customer`); `ttl` in seconds. */
export function token(
  role: Role,
  tenant: string,
  opts: { customer?: string; ttl?: number; secret?: string } = {},
): Promise<string> {
  const claims: Record<string, unknown> = { ...ROLES[role] };
  if (role !== "systemAdmin") claims.tenant_id = tenant;
  if (role === "customer") claims.customer_id = opts.customer ?? randomUUID();
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(randomUUID())
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + (opts.ttl ?? 600))
    .sign(new TextEncoder().encode(opts.secret ?? inject("jwtSecret")));
}

/** One API call as a client would make it; fails the test on an unexpected status. */
export async function apiCall(
  path: string,
  opts: { token: string; method?: string; body?: unknown; expect?: number },
): Promise<any> {
  const res = await fetch(`${API}${path}`, {
    method: opts.method ?? "GET",
    headers: { authorization: `Bearer ${opts.token}`, "content-type": "application/json" },
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const json = await res.json();
  expect(res.status, JSON.stringify(json)).toBe(opts.expect ?? (opts.method === "POST" ? 201 : 200));
  return json;
}

/** Creates a communication in the admin token's tenant; returns it. */
export async function create(adminToken: string, body: Record<string, unknown>) {
  const json = await apiCall("", { token: adminToken, method: "POST", body: { type: "sms", ...body } });
  return json.communication as { id: string; created_at: string; [k: string]: unknown };
}

/**
 * A status event a provider sent for a message id no communication has: the
 * tenant's Standard Webhooks connection (made here) receives it signed, and the
 * queue keeps it as an unmatched provider event; resolves once the API lists it.
 */
export async function unmatchedEvent(adminToken: string, tenant: string, providerMessageId: string, provider = "acme") {
  const secret = `whsec_${Buffer.from(randomUUID().replace(/-/g, ""), "hex").toString("base64")}`;
  await apiCall("/providers/standard", { token: adminToken, method: "PUT", body: { secret } });
  const body = JSON.stringify({
    type: "communication.status",
    timestamp: new Date().toISOString(),
    data: {
      provider,
      provider_message_id: providerMessageId,
      status: "delivered",
      occurred_at: new Date().toISOString(),
    },
  });
  const id = `msg_${randomUUID()}`;
  const at = new Date();
  const res = await fetch(`${API}/webhooks/standard/${tenant}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "webhook-id": id,
      "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
      "webhook-signature": new Webhook(secret).sign(id, at, body),
    },
    body,
  });
  expect(res.status, await res.text()).toBe(200);
  // vi.waitFor, not expect.poll: this also runs in beforeAll.
  await vi.waitFor(
    async () => {
      const { events } = await apiCall("/providers/unmatched", { token: adminToken });
      if (!events.some((e: { provider_message_id: string }) => e.provider_message_id === providerMessageId))
        throw new Error(`${providerMessageId} is not listed yet`);
    },
    { timeout: 30_000, interval: 250 },
  );
}

export interface Watched {
  page: Page;
  errors: string[];
  dialogs: string[];
  requests: string[];
}

/** A page in a fresh context, with everything it does recorded. */
export async function openPage(
  browser: Browser,
  opts: { width?: number; height?: number; locale?: string; acceptDialogs?: boolean } = {},
): Promise<Watched & { context: BrowserContext }> {
  const context = await browser.newContext({
    viewport: { width: opts.width ?? 1280, height: opts.height ?? 900 },
    locale: opts.locale ?? "en-US",
  });
  // Waits are for conditions; 20 s bounds each one on a busy machine.
  context.setDefaultTimeout(20_000);
  const page = await context.newPage();
  const watched: Watched = { page, errors: [], dialogs: [], requests: [] };
  page.on("console", (m) => {
    if (m.type() === "error") watched.errors.push(m.text());
  });
  page.on("pageerror", (e) => watched.errors.push(String(e)));
  page.on("dialog", (d) => {
    watched.dialogs.push(d.message());
    void (opts.acceptDialogs ? d.accept() : d.dismiss());
  });
  page.on("request", (r) => watched.requests.push(r.url()));
  return { ...watched, context };
}

export const consolePath = (path = "/console", lang: Language = "en", params: Record<string, string> = {}) =>
  `${ORIGIN}${path}?${new URLSearchParams({ ...params, language: lang })}`;

/**
 * Opens `path`, pastes the token into the sign-in form and submits it, as a
 * user would; resolves when the console shows the view or says it has no
 * access.
 */
export async function signIn(page: Page, tokenValue: string, path = "/console", lang: Language = "en", params = {}) {
  await submitToken(page, tokenValue, path, lang, params);
  await page.locator("#view:visible, #no-access:visible").first().waitFor();
}

/** Opens `path` and submits the token, without waiting for what follows. */
export async function submitToken(
  page: Page,
  tokenValue: string,
  path = "/console",
  lang: Language = "en",
  params = {},
) {
  await page.goto(consolePath(path, lang, params));
  await page.locator("#token-input").fill(tokenValue);
  await page.locator("#sign-in-form button[type=submit]").click();
}

/** axe-core's own script, as its package exports it for injecting into a page. */
const AXE_SOURCE = axe.source;

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/** axe-core's serious and critical violations on the page as it is now (WCAG 2.x A and AA rules, and best practices). */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  if (!(await page.evaluate(() => "axe" in globalThis))) await page.evaluate(AXE_SOURCE);
  const results = await page.evaluate(async () => {
    const axe = (globalThis as any).axe;
    const run = await axe.run(document, { resultTypes: ["violations"] });
    return run.violations.map((v: any) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n: any) => n.target.join(" ")),
    }));
  });
  return (results as AxeViolation[]).filter((v) => v.impact === "serious" || v.impact === "critical");
}

/** The text of `key` in `lang`, with its placeholders filled. */
export function text(lang: Language, key: keyof (typeof consoleCatalogue)["en"], params: Record<string, string> = {}) {
  return consoleCatalogue[lang][key].replace(/\{(\w+)\}/g, (whole, name: string) => params[name] ?? whole);
}

/** Waits until the region `selector` has loaded (the client clears aria-busy when its data is shown). */
export async function loaded(page: Page, selector = "#messages") {
  await page.locator(`${selector}[aria-busy="false"]`).waitFor({ state: "attached" });
}

/** The ids of the rows the Messages view shows, in order. */
export async function shownIds(page: Page): Promise<string[]> {
  await loaded(page);
  return page.locator("#messages tbody tr").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-id") ?? ""));
}
