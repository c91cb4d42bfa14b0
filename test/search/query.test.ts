/**
 * The `q` language (src/search/query.ts): what parses, what is a 400 (in
 * the caller's language), and that no query, however it is made of FTS5's
 * own syntax, reaches FTS5 as anything but quoted strings, or answers a 500.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { translate } from "../../src/i18n/messages";
import { ApiError } from "../../src/lib/errors";
import { MAX_QUERY_LENGTH, MIN_PREFIX, parseQuery } from "../../src/search/query";
import { call, callers, communicationBody, newTenant, qs, seed } from "../support/helpers";

/** An expression is quoted terms (a "*" after some), joined by AND: nothing else of the caller's reaches FTS5. */
const SAFE_EXPRESSION = /^"[^"]*"( \*)?( AND "[^"]*"( \*)?)*$/;

describe("parseQuery", () => {
  it.each([
    ["closure erbil", ['"closure"', '"erbil"']],
    ["deliv*", ['"deliv" *']],
    ['"on its way"', ['"on its way"']],
    ['"erbil dep"*', ['"erbil dep" *']],
    ["  spaced   out  ", ['"spaced"', '"out"']],
    ["2-4pm", ['"2-4pm"']],
    ["NEAR(a b)", ['"NEAR(a"', '"b)"']],
    ["a OR b NOT c AND d", ['"a"', '"OR"', '"b"', '"NOT"', '"c"', '"AND"', '"d"']],
    ["body:secret ^start", ['"body:secret"', '"^start"']],
    ["(unbalanced", ['"(unbalanced"']],
    ["tab\there\u0000nul", ['"tab"', '"here"', '"nul"']],
    ["مَرْحَبًا أربيل", ['"مرحبا"', '"اربیل"']],
  ])("%j -> %j", (raw, terms) => {
    const parsed = parseQuery(raw);
    expect(parsed.expression).toBe(terms.join(" AND "));
    expect(parsed.expression).toMatch(SAFE_EXPRESSION);
  });

  it("keeps each term's words as the index splits and folds them", () => {
    expect(parseQuery('Café "Erbil depot" deliv*').terms).toEqual([
      { text: "Café", words: ["cafe"], prefix: false },
      { text: "Erbil depot", words: ["erbil", "depot"], prefix: false },
      { text: "deliv", words: ["deliv"], prefix: true },
    ]);
  });

  it("drops terms that are only punctuation", () => {
    expect(parseQuery("erbil , - ^ ()").terms.map((t) => t.text)).toEqual(["erbil"]);
  });

  it.each([
    ['"unclosed', "field_query_quote"],
    ['erbil "depot', "field_query_quote"],
    ["*", "field_query_star"],
    ["*deliv", "field_query_star"],
    ["de*liv", "field_query_star"],
    ["deliv**", "field_query_star"],
    ['"erbil"**', "field_query_star"],
    ["-*", "field_query_star"],
    ["d*", "field_query_prefix"],
    ["erbil d*", "field_query_prefix"],
    ['"erbil d"*', "field_query_prefix"],
    ["", "field_query_empty"],
    ["   ", "field_query_empty"],
    ["^ : ( ) -", "field_query_empty"],
    ['""', "field_query_empty"],
  ])("%j is a 400: %s", (raw, key) => {
    let caught: unknown;
    try {
      parseQuery(raw);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ApiError);
    expect((caught as ApiError).status).toBe(400);
    expect((caught as ApiError).errors?.[0]).toMatchObject({ field: "q", message: key });
  });

  it(`a prefix of ${MIN_PREFIX} characters is enough`, () => {
    expect(parseQuery("de*").terms[0]).toMatchObject({ prefix: true, words: ["de"] });
  });

  it("whatever it is given, it either refuses with a 400 or builds a safe expression", () => {
    const syntax = [
      ..."\"*^():-+{}[],.;'\\/ \t\n",
      "NEAR",
      "AND",
      "OR",
      "NOT",
      "body:",
      "tenant :",
      "a",
      "b",
      "ب",
      "é",
    ];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...syntax), { maxLength: 60 }), (parts) => {
        const raw = parts.join("");
        try {
          expect(parseQuery(raw).expression).toMatch(SAFE_EXPRESSION);
        } catch (err) {
          if (!(err instanceof ApiError) || err.status !== 400) throw err;
        }
      }),
      { numRuns: 2000, seed: 20 },
    );
  });
});

describe("q through the API", () => {
  const tenant = newTenant();
  const who = callers(tenant);
  let viewer: string;
  beforeAll(async () => {
    viewer = await who.viewer();
    await seed(await who.admin(), [
      communicationBody({ content: 'NEAR(erbil depot) body:closure "quoted" ^caret tenant : x' }),
      communicationBody({ content: "Your delivery is on its way" }),
    ]);
  });

  it.each(["en", "ar", "ku", "fa"] as const)(
    "a malformed query is a 400 in the caller's language (%s)",
    async (lang) => {
      for (const [q, key] of [
        ['"erbil', "field_query_quote"],
        ["*x", "field_query_star"],
        ["^^^", "field_query_empty"],
      ] as const) {
        const res = await call(qs({ q, language: lang }), { token: viewer });
        expect(res.status, q).toBe(400);
        expect(res.json).toEqual({
          success: false,
          message: translate(lang, "validation_failed"),
          errors: [{ field: "q", message: translate(lang, key, { field: "q", min: String(MIN_PREFIX) }) }],
        });
      }
      const res = await call(qs({ q: "d*", language: lang }), { token: viewer });
      expect(res.json.errors).toEqual([
        { field: "q", message: translate(lang, "field_query_prefix", { field: "q", min: String(MIN_PREFIX) }) },
      ]);
    },
  );

  it(`at most ${MAX_QUERY_LENGTH} characters`, async () => {
    const ok = await call(qs({ q: "a".repeat(MAX_QUERY_LENGTH) }), { token: viewer });
    expect(ok.status).toBe(200);
    const long = await call(qs({ q: "a".repeat(MAX_QUERY_LENGTH + 1) }), { token: viewer });
    expect(long.status).toBe(400);
    expect(long.json.errors).toEqual([{ field: "q", message: `q must be at most ${MAX_QUERY_LENGTH} characters` }]);
    const huge = await call(qs({ q: "(".repeat(5000) }), { token: viewer });
    expect(huge.status).toBe(400);
  });

  it("FTS5's own syntax is searched for as words", async () => {
    for (const q of ["NEAR(erbil", "body:closure", "^caret", "tenant : x", '"quoted"', "(near erbil"]) {
      const res = await call(qs({ q }), { token: viewer });
      expect(res.status, q).toBe(200);
      expect(res.json.communications, q).toHaveLength(1);
    }
    // "tenant" is a word of the content, not the index's tenant column.
    const res = await call(qs({ q: "tenant : t0000" }), { token: viewer });
    expect(res.json.communications).toHaveLength(0);
  });

  it("fuzzed with FTS5 syntax, long input and any character: 200 or 400, never a 500, always the envelope", async () => {
    const pieces = [
      ..."\"*^():-+{}[],.;'\\/ \t\n%&=#?",
      "NEAR",
      "NEAR(",
      "AND",
      "OR",
      "NOT",
      "body:",
      "tenant:",
      "{body}:",
      "customer :",
      "\u0000",
      "\u200c",
      "\ud83d\ude00",
      "\ufffd",
      "erbil",
      "deliv",
      "مرحبا",
      "é",
      "a".repeat(150),
    ];
    const samples = fc.sample(
      fc.array(fc.constantFrom(...pieces), { minLength: 1, maxLength: 30 }).map((a) => a.join("")),
      { numRuns: 150, seed: 20 },
    );
    for (const q of samples) {
      // A token (a user) per sample: 300 requests would use up one user's rate limit.
      const token = await who.viewer();
      for (const path of [qs({ q, limit: 5 }), `/export${qs({ q })}`]) {
        const res = await call(path, { token });
        expect([200, 400], `${path}: ${res.text.slice(0, 200)}`).toContain(res.status);
        if (res.status === 400) expect(res.json.errors[0].field, q).toBe("q");
      }
    }
  });
});
