/**
 * The pure matchers (src/search/match.ts), which the live stream uses to
 * filter events by `address` and `q`, find exactly what the list finds
 * through FTS5: a random corpus in every script the service answers in,
 * with the spellings people mix (harakat, tatweel, ZWNJ, Arabic and Persian
 * letter forms, Arabic-Indic digits, Latin case and accents, punctuation),
 * and random queries (words, phrases, prefixes) and addresses against it.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import type { Communication } from "../../src/communications/schemas";
import { parseSearch } from "../../src/search";
import { matchesAddress, matchesQuery, matchesSearch, parseAddress, parseQuery } from "../../src/search/match";
import { words } from "../../src/search/normalise";
import { callers, communicationBody, newTenant, seed, walkIds } from "../support/helpers";

const VOCABULARY = [
  "delivery",
  "Deliveries",
  "DELIVERED",
  "erbil",
  "Erbil",
  "closure",
  "café",
  "CAFE",
  "naïve",
  "مرحبا",
  "مَرْحَبًا",
  "مـــرحبا",
  "أربيل",
  "اربيل",
  "إلى",
  "كتاب",
  "کتاب",
  "يوم",
  "می‌خواهم",
  "میخواهم",
  "هەولێر",
  "گەیاندن",
  "گەیاندنەکەت",
  "١٢٣٤",
  "۱۲۳۴",
  "1234",
  "2-4pm",
  "on",
  "its",
  "way",
  "x\u0301y",
];
const SEPARATORS = [" ", "  ", ", ", ". ", "\n", " - ", "، ", "؛ ", "(", ") ", '"', "!", "\u200b"];
const PHONES = [
  ["+9647501234567", "+964 750 123 4567", "+964.750.123.4567", "+964 (750) 123-4567", "+٩٦٤٧٥٠١٢٣٤٥٦٧"],
  ["+15551234567", "+1 555 123 4567", "+1-555-123-4567"],
  ["+447700900123", "+44 7700 900123"],
];
const EMAILS = [["user@example.com", "User@Example.COM", " USER@example.com "], ["b@example.org"]];

const text = fc
  .array(fc.tuple(fc.constantFrom(...VOCABULARY), fc.constantFrom(...SEPARATORS)), { minLength: 1, maxLength: 8 })
  .map((parts) => parts.map(([w, s]) => w + s).join(""));
const party = fc.record(
  { phone: fc.constantFrom(...PHONES.flat()), email: fc.constantFrom(...EMAILS.flat()) },
  { requiredKeys: [] },
);

describe("the pure matchers find what the list finds", () => {
  const tenant = newTenant();
  const who = callers(tenant);
  let rows: Communication[] = [];

  beforeAll(async () => {
    const bodies = fc
      .sample(
        fc.record({ content: fc.option(text, { freq: 8 }), sender: party, recipient: party }, { requiredKeys: [] }),
        { numRuns: 60, seed: 20 },
      )
      .map((r) =>
        communicationBody({
          content: r.content ?? null,
          communication_details: {
            ...(r.sender ? { sender: r.sender } : {}),
            ...(r.recipient ? { recipient: r.recipient } : {}),
          },
        }),
      );
    rows = await seed(await who.admin(), bodies);
  }, 60_000);

  const expected = (pick: (c: Communication) => boolean) =>
    rows
      .filter(pick)
      .map((c) => c.id)
      .sort()
      .reverse();

  /** Queries: one to three terms, each a word, a two-word phrase, or a prefix of at least two characters. */
  const term = fc.oneof(
    fc.constantFrom(...VOCABULARY),
    fc.tuple(fc.constantFrom(...VOCABULARY), fc.constantFrom(...VOCABULARY)).map(([a, b]) => `"${a} ${b}"`),
    fc
      .tuple(fc.constantFrom(...VOCABULARY), fc.integer({ min: 2, max: 6 }))
      .filter(([w, n]) => (words(w).at(-1)?.length ?? 0) >= n && words(w).length === 1)
      .map(([w, n]) => `${[...(words(w)[0] as string)].slice(0, n).join("")}*`),
  );

  it("q: 120 random queries", async () => {
    const queries = fc.sample(
      fc.array(term, { minLength: 1, maxLength: 3 }).map((t) => t.join(" ")),
      { numRuns: 120, seed: 20 },
    );
    let found = 0;
    for (const q of queries) {
      const parsed = parseQuery(q);
      const want = expected((c) => matchesQuery(c, parsed));
      found += want.length;
      // A user (token) per query: one user's rate limit is 300 requests per 10 s.
      const ids = await walkIds(await who.viewer(), { q, limit: 100 });
      expect(ids, q).toEqual(want);
    }
    // The corpus and the queries are such that most queries find something.
    expect(found).toBeGreaterThan(queries.length);
  });

  it("both: matchesSearch() is the two filters together, as parseSearch() reads them from a request", async () => {
    const pairs = fc.sample(fc.tuple(fc.constantFrom(...PHONES.flat(), ...EMAILS.flat()), term), {
      numRuns: 20,
      seed: 20,
    });
    for (const [address, q] of pairs) {
      const search = parseSearch({ address, q });
      const want = expected((c) => matchesSearch(c, search));
      expect(await walkIds(await who.viewer(), { address, q }), `${address} ${q}`).toEqual(want);
    }
    expect(matchesSearch(rows[0] as Communication, undefined)).toBe(true);
  });

  it("address: every spelling of every number and email", async () => {
    for (const spelling of [...PHONES.flat(), ...EMAILS.flat()]) {
      const parsed = parseAddress(spelling);
      const want = expected((c) => matchesAddress(c, parsed));
      expect(want.length, spelling).toBeGreaterThan(0);
      expect(await walkIds(await who.viewer(), { address: spelling }), spelling).toEqual(want);
    }
  });
});
