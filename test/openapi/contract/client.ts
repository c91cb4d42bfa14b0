/**
 * A program written as a developer on another team would: against types
 * that `openapi-typescript` generated from the served /openapi.json
 * (./generated/api.ts, written by ./run.mjs), with `openapi-fetch`.
 * ./run.mjs typechecks it (tsconfig.json beside it), then runs it through
 * Prism's validating proxy: it pages with `cursor`, passes a language
 * outside the four, connects each provider and reads the archive's NDJSON.
 * `refusedAtCompileTime` is never run: each of its calls must be a type
 * error, or tsc fails on the unused `@ts-expect-error`.
 */
import createClient from "openapi-fetch";
import type { paths } from "./generated/api";

const BASE = "/delivery/customer-communications";

export interface ClientRun {
  /** Prism's origin, in front of the Worker. */
  baseUrl: string;
  adminToken: string;
  /** The fetch every request goes through (./run.mjs records status and Prism's verdict). */
  fetch: typeof globalThis.fetch;
  /** A day the harness stored an archive for, and how many lines it holds. */
  archive: { day: string; lines: number };
  keys: { twilio: string; sendgrid: string; standard: string };
}

function check(condition: unknown, what: string): asserts condition {
  if (!condition) throw new Error(`generated client: ${what}`);
}

export async function clientRun(run: ClientRun) {
  const client = createClient<paths>({
    baseUrl: run.baseUrl,
    headers: { authorization: `Bearer ${run.adminToken}` },
    fetch: run.fetch,
  });

  // A language outside the four: accepted by the types and the service, answered in English.
  const customer = crypto.randomUUID();
  for (const n of [1, 2, 3]) {
    const created = await client.POST(BASE, {
      params: { query: { language: "de" } },
      body: { customer_id: customer, type: "sms", content: `Delivery #${n} is on its way` },
    });
    check(created.response.status === 201, `create answered ${created.response.status}`);
    check(created.data?.message === "Customer communication created successfully", "create in English");
  }

  // Paging with cursor, page after page, until next_cursor is null.
  const seen: string[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 10; pages++) {
    const page = await client.GET(BASE, { params: { query: { customer_id: customer, limit: 1, cursor } } });
    check(page.data, `list answered ${page.response.status}`);
    seen.push(...page.data.communications.map((c) => c.id));
    if (!page.data.next_cursor) break;
    cursor = page.data.next_cursor;
  }
  check(seen.length === 3 && new Set(seen).size === 3, `cursor walk saw ${seen.length} communications`);

  // Each provider through its own operation and body.
  const urls = [
    await client.PUT(`${BASE}/providers/twilio`, { body: { auth_token: run.keys.twilio } }),
    await client.PUT(`${BASE}/providers/sendgrid`, { body: { public_key: run.keys.sendgrid } }),
    await client.PUT(`${BASE}/providers/standard`, { body: { secret: run.keys.standard } }),
  ].map((put) => {
    check(put.data, `connect answered ${put.response.status}`);
    return put.data.provider.webhook_url;
  });

  // A streamed body: read as text (the default JSON parse would fail on the second line).
  const archive = await client.GET(`${BASE}/archive/{date}`, {
    params: { path: { date: run.archive.day } },
    parseAs: "text",
  });
  check(typeof archive.data === "string", `archive answered ${archive.response.status}`);
  const lines = archive.data.split("\n").filter(Boolean);
  check(lines.length === run.archive.lines, `archive has ${lines.length} lines`);
  for (const line of lines) check(typeof JSON.parse(line).id === "string", "an archive line is a communication");

  return { webhookUrls: urls };
}

/** Never called: each call is something the service refuses, and the generated types must refuse it too. */
export function refusedAtCompileTime(client: ReturnType<typeof createClient<paths>>) {
  // @ts-expect-error Twilio's body is { auth_token }: a Standard Webhooks secret is refused
  client.PUT(`${BASE}/providers/twilio`, { body: { secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" } });
  // @ts-expect-error an empty body is refused: auth_token is required
  client.PUT(`${BASE}/providers/twilio`, { body: {} });
  // @ts-expect-error SendGrid's body is { public_key }
  client.PUT(`${BASE}/providers/sendgrid`, { body: { auth_token: "0123456789abcdef0123456789abcdef" } });
  // @ts-expect-error there is no PUT on /providers/{provider}: each provider has its own operation
  client.PUT(`${BASE}/providers/{provider}`, { params: { path: { provider: "twilio" } }, body: {} });
  // @ts-expect-error "fax" is not a communication type
  client.POST(BASE, { body: { customer_id: crypto.randomUUID(), type: "fax" } });
}
