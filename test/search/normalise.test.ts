/**
 * The search index's normalisation runs twice: in SQL, in the view that
 * feeds the index (migrations/0007_search.sql), and in TypeScript, on what
 * a caller searches for (src/search/normalise.ts). Both must agree on every
 * character: these tests index communications through the real triggers
 * and compare what the view computes with what the TypeScript computes.
 */
import { env } from "cloudflare:test";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { uuidv7 } from "../../src/lib/uuid";
import { parseAddress } from "../../src/search/address";
import {
  EMAIL_TRIMMED,
  emailToken,
  isIndexableEmail,
  isIndexablePhone,
  normaliseEmail,
  normalisePhone,
  normaliseText,
  PHONE_IGNORED,
  phoneToken,
  TEXT_FOLDED,
  TEXT_REMOVED,
} from "../../src/search/normalise";
import { newTenant, placeTenant } from "../support/helpers";

const chars = (codes: Iterable<number>) => [...codes].map((c) => String.fromCodePoint(c));

/** Inserts communications with these contents and details (the triggers index them); returns their ids. */
async function insert(db: D1Database, tenant: string, rows: { content: string | null; details?: unknown }[]) {
  const ids = rows.map(() => uuidv7());
  const stmt = db.prepare(
    `INSERT INTO communications (tenant_id, id, customer_id, type, direction, status, content, communication_details, created_by, created_at, updated_at)
     VALUES (?, ?, ?, 'sms', 'outbound', 'sent', ?, ?, 'test', ?, ?)`,
  );
  const at = new Date().toISOString();
  for (let i = 0; i < rows.length; i += 50) {
    await db.batch(
      rows
        .slice(i, i + 50)
        .map((r, k) =>
          stmt.bind(tenant, ids[i + k], crypto.randomUUID(), r.content, JSON.stringify(r.details ?? {}), at, at),
        ),
    );
  }
  return ids;
}

/** What the index's view computes for these rows, by id. */
async function viewOf(db: D1Database, tenant: string, ids: string[]) {
  const out = new Map<string, { body: string | null; addresses: string }>();
  for (let i = 0; i < ids.length; i += 90) {
    const chunk = ids.slice(i, i + 90);
    const { results } = await db
      .prepare(
        `SELECT id, body, addresses FROM communication_search_source WHERE tenant_id = ? AND id IN (${chunk.map(() => "?").join(",")})`,
      )
      .bind(tenant, ...chunk)
      .all<{ id: string; body: string | null; addresses: string }>();
    for (const r of results) out.set(r.id, { body: r.body, addresses: r.addresses });
  }
  return out;
}

describe("text: the SQL of the index and normaliseText() agree", () => {
  const tenant = newTenant();
  let db: D1Database;
  beforeAll(async () => {
    db = await placeTenant(tenant);
  });

  it("on every character of the maps, alone and inside a word", async () => {
    const mapped = [...TEXT_REMOVED, ...TEXT_FOLDED.keys()];
    const contents = chars(mapped).flatMap((c) => [c, `مر${c}حبا`, `a${c}b`]);
    const ids = await insert(
      db,
      tenant,
      contents.map((content) => ({ content })),
    );
    const view = await viewOf(db, tenant, ids);
    contents.forEach((content, i) => {
      const code = content.codePointAt(content.length > 1 ? 2 : 0)?.toString(16);
      expect(view.get(ids[i] as string)?.body, `U+${code} in ${JSON.stringify(content)}`).toBe(normaliseText(content));
    });
  });

  it("on random text of Arabic, Persian, Kurdish and Latin letters, marks, digits and joiners", async () => {
    const alphabet = [
      ...chars([...TEXT_REMOVED, ...TEXT_FOLDED.keys()]),
      ..."ابتثجحخدذرزسشصضطظعغفقلمنوهیکگچپژڵڕۆێەئؤء",
      ..."aAzZéÉ 0123456789-.,\"'\n",
    ];
    const text = fc.array(fc.constantFrom(...alphabet), { maxLength: 40 }).map((a) => a.join(""));
    const samples = fc.sample(text, { numRuns: 300, seed: 20 });
    const ids = await insert(
      db,
      tenant,
      samples.map((content) => ({ content })),
    );
    const view = await viewOf(db, tenant, ids);
    samples.forEach((content, i) => {
      expect(view.get(ids[i] as string)?.body, JSON.stringify(content)).toBe(normaliseText(content));
    });
  });

  it("null content stays null (nothing to index)", async () => {
    const [id] = await insert(db, tenant, [{ content: null }]);
    expect((await viewOf(db, tenant, [id as string])).get(id as string)?.body).toBeNull();
  });
});

describe("addresses: the SQL of the index and the TypeScript agree", () => {
  const tenant = newTenant();
  let db: D1Database;
  beforeAll(async () => {
    db = await placeTenant(tenant);
  });

  /** The index's address tokens of a row, per the TypeScript rules. */
  const expected = (details: { sender?: Record<string, unknown>; recipient?: Record<string, unknown> }) => {
    const tokens: string[] = [];
    for (const party of [details.sender, details.recipient]) {
      const phone = party?.phone;
      if (typeof phone === "string" && isIndexablePhone(normalisePhone(phone)))
        tokens.push(phoneToken(normalisePhone(phone)));
    }
    for (const party of [details.sender, details.recipient]) {
      const email = party?.email;
      if (typeof email === "string" && isIndexableEmail(normaliseEmail(email)))
        tokens.push(emailToken(normaliseEmail(email)));
    }
    return tokens.join(" ");
  };

  it("on every ignored character, digit and trimmed character, and on random phones and emails", async () => {
    const phoneChars = [...chars(PHONE_IGNORED), ..."0123456789٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹+x"];
    const phone = fc.array(fc.constantFrom(...phoneChars), { maxLength: 20 }).map((a) => a.join(""));
    const emailChars = [...chars(EMAIL_TRIMMED), ..."aZ@.-_Ü"];
    const email = fc.array(fc.constantFrom(...emailChars), { maxLength: 16 }).map((a) => a.join(""));
    const details = fc.record(
      {
        sender: fc.record({ phone: fc.oneof(phone, fc.constant(42)), email }, { requiredKeys: [] }),
        recipient: fc.record({ phone, email: fc.oneof(email, fc.constant(null)) }, { requiredKeys: [] }),
      },
      { requiredKeys: [] },
    );
    const samples = [
      { sender: { phone: "+964 (750) 123-4567" }, recipient: { email: " User@Example.COM " } },
      { sender: { phone: "+964.750.123.4567" }, recipient: { phone: "\u200f+٩٦٤ ٧٥٠ ١٢٣ ٤٥٦٧" } },
      { recipient: { phone: "07501234567", email: "no-at-sign" } },
      ...fc.sample(details, { numRuns: 300, seed: 20 }),
    ];
    const ids = await insert(
      db,
      tenant,
      samples.map((d) => ({ content: "x", details: d })),
    );
    const view = await viewOf(db, tenant, ids);
    samples.forEach((d, i) => {
      expect(view.get(ids[i] as string)?.addresses.toLowerCase(), JSON.stringify(d)).toBe(
        expected(d as Parameters<typeof expected>[0]),
      );
    });
  });
});

describe("addresses as people paste them", () => {
  it.each([
    ["+964 (750) 123-4567", "+9647501234567"],
    ["+964.750.123.4567", "+9647501234567"],
    ["+964-750-123-4567", "+9647501234567"],
    [" +964 750 123 4567 ", "+9647501234567"],
    ["\u200f+٩٦٤ ٧٥٠ ١٢٣ ٤٥٦٧", "+9647501234567"],
    ["+1 (555) 123–4567", "+15551234567"],
  ])("phone %j is %s", (raw, e164) => {
    expect(parseAddress(raw)).toEqual({ kind: "phone", value: e164, token: `p${e164.slice(1)}` });
  });

  it.each([
    ["User@Example.COM ", "user@example.com"],
    ["\tuser@example.com\n", "user@example.com"],
    ["ÜSER@EXAMPLE.COM", "Üser@example.com"],
  ])("email %j is %s", (raw, folded) => {
    expect(parseAddress(raw)).toMatchObject({ kind: "email", value: folded });
  });

  it.each([
    "07501234567",
    "9647501234567",
    "+",
    "+0750",
    "+96475012345678901",
    "+964 750 abc",
    "user@",
    "@example.com",
    "a b@c",
  ])("%j is refused", (raw) => {
    expect(() => parseAddress(raw)).toThrow(expect.objectContaining({ status: 400 }));
  });

  it("the email token is the hex of its UTF-8 bytes, as SQL's hex() writes it (case aside)", async () => {
    const row = await env.SHARD_0.prepare("SELECT 'e' || hex(?) AS token")
      .bind("Üser@example.com")
      .first<{ token: string }>();
    expect(row?.token.toLowerCase()).toBe(emailToken("Üser@example.com"));
  });
});
