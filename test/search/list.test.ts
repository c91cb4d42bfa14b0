/**
 * `address` and `q` on the list (search.md): what they find, in every
 * language the service answers in, combined with every other filter, the
 * cursor and pages, under the list's visibility rules. The expected sets
 * come from the pure matchers of src/search/match.ts and the filters'
 * meaning, so the SQL and the stream's semantics are checked together.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { Communication } from "../../src/communications/schemas";
import { matchesAddress, matchesQuery, parseAddress, parseQuery } from "../../src/search/match";
import { call, callers, communicationBody, newTenant, qs, seed, walkIds } from "../support/helpers";

const phone = (p: string) => ({ phone: p });
const email = (e: string) => ({ email: e });

/** The corpus: two customers of one tenant, every language, addresses written as people write them. */
function corpus(a: string, b: string) {
  const row = (
    customer: string,
    content: string | null,
    details: Record<string, unknown>,
    extra: Record<string, unknown> = {},
  ) => communicationBody({ customer_id: customer, content, communication_details: details, ...extra });
  return [
    row(
      a,
      "Your delivery #1234 is on its way and will arrive between 2-4pm today.",
      { sender: phone("+15551234567"), recipient: phone("+964 750 123 4567") },
      { provider: "twilio", provider_message_id: "SM1234" },
    ),
    row(
      a,
      "Where is my delivery?",
      { sender: phone("+964.750.123.4567"), recipient: phone("+15551234567") },
      { direction: "inbound", status: "delivered" },
    ),
    row(
      a,
      "Erbil depot closure: deliveries resume on Monday.",
      { recipient: email(" User@Example.COM ") },
      { type: "email", status: "read" },
    ),
    row(a, null, { recipient: phone("+9647501234567") }, { type: "call", status: "failed" }),
    row(b, "مَرْحَبًا، طلبك في الطريق إلى أربيل", { recipient: phone("+9647509999999") }),
    row(
      b,
      "گەیاندنەکەت لە ڕێگادایە بۆ هەولێر",
      { recipient: phone("+٩٦٤ ٧٥٠ ٩٩٩ ٩٩٩٩") },
      { type: "push_notification" },
    ),
    row(b, "می‌خواهم بسته را تحویل بگیرم", { sender: phone("+9647509999999") }, { direction: "inbound" }),
    row(b, "كتاب يوم الاثنين: توصيل", { recipient: email("b@example.com") }, { type: "email" }),
    row(
      a,
      "Your delivery #5678 was delivered. Thank you!",
      { recipient: phone("+9647501234567") },
      { status: "delivered", provider: "twilio", provider_message_id: "SM5678" },
    ),
    row(a, '=HYPERLINK("http://x") formula-looking text, on its way', { recipient: phone("+9647501234567") }),
  ];
}

describe("address and q on the list", () => {
  const tenant = newTenant();
  const other = newTenant();
  const who = callers(tenant);
  const otherWho = callers(other);
  const customerA = crypto.randomUUID();
  const customerB = crypto.randomUUID();
  let rows: Communication[] = [];

  beforeAll(async () => {
    rows = await seed(await who.admin(), corpus(customerA, customerB));
    // Another tenant with the same addresses and the same words: never found.
    await seed(await otherWho.admin(), corpus(customerA, customerB));
  });

  /** Ids newest first, of the rows that match, per the pure matchers. */
  const expected = (pick: (c: Communication) => boolean) =>
    rows
      .filter(pick)
      .map((c) => c.id)
      .sort()
      .reverse();
  const byAddress = (raw: string) => (c: Communication) => matchesAddress(c, parseAddress(raw));
  const byQuery = (raw: string) => (c: Communication) => matchesQuery(c, parseQuery(raw));

  describe("address", () => {
    it.each([
      ["+964 (750) 123-4567", 5],
      ["+964.750.123.4567", 5],
      ["+9647501234567", 5],
      ["+٩٦٤٧٥٠١٢٣٤٥٦٧", 5],
      ["+9647509999999", 3],
      ["User@Example.COM ", 1],
      ["user@example.com", 1],
      ["+15551234567", 2],
    ])("%j finds every communication from or to it, however it was written (%i)", async (address, n) => {
      const ids = await walkIds(await who.viewer(), { address });
      expect(ids).toEqual(expected(byAddress(address)));
      expect(ids).toHaveLength(n);
      const page = await call(qs({ address, limit: 2 }), { token: await who.viewer() });
      expect(page.json).toMatchObject({ total: n, total_relation: "eq" });
    });

    it("a phone number nobody used, or another tenant's, finds nothing", async () => {
      expect(await walkIds(await who.viewer(), { address: "+12025550123" })).toEqual([]);
      const foreign = await walkIds(await otherWho.viewer(), { address: "+9647501234567" });
      expect(foreign.some((id) => rows.some((r) => r.id === id))).toBe(false);
    });
  });

  describe("q, in every language", () => {
    it.each([
      ["en: a word", "closure", 1],
      ["en: every word must occur", "way today delivery", 1],
      ["en: a prefix", "deliv*", 4],
      ["en: a phrase", '"on its way"', 2],
      ["en: a phrase in another order finds nothing", '"its on way"', 0],
      ["en: case and punctuation", "ERBIL, Depot!", 1],
      ["en: a word made of parts (2-4pm)", "2-4pm", 1],
      ["ar: without harakat and hamza, Arabic yeh", "مرحبا اربيل", 1],
      ["ar: a phrase, إلى written الى", '"الطريق الى"', 1],
      ["ar: Arabic kaf and yeh match the Persian forms", "كتاب يوم", 1],
      ["ku: Sorani", "هەولێر", 1],
      ["ku: a prefix", "گەیاندن*", 1],
      ["fa: with ZWNJ", "می‌خواهم", 1],
      ["fa: without ZWNJ", "میخواهم", 1],
      ["fa: Arabic yeh for Persian yeh", "تحويل", 1],
      ["fa: Persian kaf for Arabic kaf", "کتاب", 1],
    ])("%s: %s", async (_name, q, n) => {
      const ids = await walkIds(await who.viewer(), { q });
      expect(ids).toEqual(expected(byQuery(q)));
      expect(ids).toHaveLength(n);
    });

    it("formula-looking content is found by its words, never run", async () => {
      const ids = await walkIds(await who.viewer(), { q: "hyperlink" });
      expect(ids).toHaveLength(1);
    });
  });

  describe("combined with every other filter, the cursor, pages and the order", () => {
    type Filter = [string, Record<string, string>, (c: Communication) => boolean];
    /** Every other list filter, with a value from the corpus. */
    const filters = (): Filter[] => {
      const mid = rows[Math.floor(rows.length / 2)] as Communication;
      const first = rows[0] as Communication;
      return [
        ["type", { type: "sms" }, (c) => c.type === "sms"],
        ["status", { status: "delivered" }, (c) => c.status === "delivered"],
        ["direction", { direction: "inbound" }, (c) => c.direction === "inbound"],
        ["customer_id", { customer_id: customerA }, (c) => c.customer_id === customerA],
        ["delivery_id", { delivery_id: first.delivery_id as string }, (c) => c.delivery_id === first.delivery_id],
        ["created_after", { created_after: mid.created_at }, (c) => c.created_at >= mid.created_at],
        ["created_before", { created_before: mid.created_at }, (c) => c.created_at < mid.created_at],
        ["provider", { provider: "twilio" }, (c) => c.provider === "twilio"],
        ["provider_message_id", { provider_message_id: "SM5678" }, (c) => c.provider_message_id === "SM5678"],
      ];
    };
    const searches: Filter[] = [
      ["address", { address: "+964 750 123 4567" }, byAddress("+964 750 123 4567")],
      ["q", { q: "deliv*" }, byQuery("deliv*")],
      [
        "address + q",
        { address: "+9647501234567", q: "delivery" },
        (c) => byAddress("+9647501234567")(c) && byQuery("delivery")(c),
      ],
    ];

    it("each search with each filter finds exactly the communications both select, newest first", async () => {
      const viewer = await who.viewer();
      for (const [sName, sParams, sPick] of searches) {
        for (const [fName, fParams, fPick] of filters()) {
          const want = expected((c) => sPick(c) && fPick(c));
          expect(await walkIds(viewer, { ...sParams, ...fParams, limit: 1 }), `${sName} + ${fName}`).toEqual(want);
          const res = await call(qs({ ...sParams, ...fParams, limit: 1 }), { token: viewer });
          expect(res.json.total, `${sName} + ${fName}: total`).toBe(want.length);
        }
      }
    });

    it("pages by cursor (limit 1, 2, 3) and by page return every match once, in order; asc reverses it", async () => {
      const viewer = await who.viewer();
      const all = expected(byQuery("deliv*"));
      for (const limit of [1, 2, 3]) {
        expect(await walkIds(viewer, { q: "deliv*", limit }), `limit ${limit}`).toEqual(all);
      }
      const byPage: string[] = [];
      const pages = Math.ceil(all.length / 2);
      for (let page = 1; page <= pages; page++) {
        const res = await call(qs({ q: "deliv*", limit: 2, page }), { token: viewer });
        expect(res.status).toBe(200);
        expect(res.json).toMatchObject({ total: all.length, total_relation: "eq", page, total_pages: pages });
        byPage.push(...res.json.communications.map((c: Communication) => c.id));
      }
      expect(byPage).toEqual(all);
      expect(await walkIds(viewer, { q: "deliv*", sort_order: "asc", limit: 2 })).toEqual([...all].reverse());
    });

    it("a cursor whose row is gone still goes on from its time", async () => {
      const viewer = await who.viewer();
      const all = expected(byQuery("deliv*"));
      const res = await call(qs({ q: "deliv*", limit: 2 }), { token: viewer });
      const cursor = res.json.next_cursor as string;
      const lastId = res.json.communications[1].id as string;
      // The cursor names a row; a cursor naming an id that never existed, in that millisecond, behaves alike.
      const forged = Buffer.from(`d:${lastId.slice(0, 24)}ffffffffffff`).toString("base64url");
      const next = await call(qs({ q: "deliv*", limit: 10, cursor: forged }), { token: viewer });
      expect(next.status).toBe(200);
      expect(next.json.communications.map((c: Communication) => c.id)).toEqual(all.slice(2));
      expect(cursor).toBeTruthy();
    });
  });

  describe("visibility", () => {
    it("a customer's search finds only their own messages", async () => {
      const token = await who.customer(customerA);
      for (const params of [
        { q: "deliv*" },
        { address: "+9647509999999" },
        { q: "اربيل" },
        { address: "+9647501234567" },
      ]) {
        const ids = await walkIds(token, params);
        for (const id of ids)
          expect(rows.find((r) => r.id === id)?.customer_id, JSON.stringify(params)).toBe(customerA);
        const pick = params.q !== undefined ? byQuery(params.q) : byAddress(params.address as string);
        expect(ids, JSON.stringify(params)).toEqual(expected((c) => c.customer_id === customerA && pick(c)));
      }
      const b = await walkIds(await who.customer(customerB), { q: "deliv*" });
      expect(b).toEqual([]);
    });

    it("a customer naming another customer is refused; a driver is refused", async () => {
      const res = await call(qs({ q: "delivery", customer_id: customerB }), { token: await who.customer(customerA) });
      expect(res.status).toBe(403);
      expect((await call(qs({ q: "delivery" }), { token: await who.driver() })).status).toBe(403);
    });

    it("another tenant's staff never see these rows, whatever they search for", async () => {
      const token = await otherWho.viewer();
      for (const params of [{ q: "deliv*" }, { q: "closure" }, { address: "+9647501234567" }, { q: "اربيل" }]) {
        const ids = await walkIds(token, params);
        expect(ids.length, JSON.stringify(params)).toBeGreaterThan(0);
        expect(
          ids.some((id) => rows.some((r) => r.id === id)),
          JSON.stringify(params),
        ).toBe(false);
      }
    });

    it("a system administrator searches the tenant it names", async () => {
      const ids = await walkIds(await who.systemAdmin(), { tenant_id: tenant, q: "closure" });
      expect(ids).toEqual(expected(byQuery("closure")));
    });
  });
});
