/**
 * How text and addresses are normalised for search, in one place. The same
 * rules run twice: in SQL, in the view that feeds the search index
 * (migrations/0007_search.sql, generated from the maps below by
 * scripts/search-sql.mts), and here in TypeScript, on
 * what a caller searches for and in the matchers of ./match.ts.
 * test/search/normalise.test.ts checks that both sides agree on every
 * character of the maps, and on random text.
 *
 * Text (what `q` searches): FTS5's unicode61 tokenizer folds case and Latin
 * diacritics, but takes Arabic harakat for word breaks ("مَرْحَبًا" becomes
 * five one-letter words), keeps the tatweel inside words, and tells the
 * Arabic and Persian forms of the same letters apart. So before it sees
 * the text:
 *  - harakat (U+064B-U+065F, U+0670), the tatweel, and the invisible
 *    joiners and direction marks are removed. ZWNJ is among them: it sits
 *    inside one Persian or Kurdish word ("می‌خواهم"), so that word and the
 *    same word typed without it ("میخواهم") are one word;
 *  - letters written two ways are folded to one: أ إ آ ٱ to ا, Arabic ي and
 *    ى to Persian ی, Arabic ك to Persian ک, ة ۀ ھ to ه; Kurdish ە stays;
 *  - Arabic-Indic and Persian digits become 0-9.
 *
 * Addresses (what `address` matches, search.md): phones compare in E.164,
 * spaces, dashes, dots and parentheses (and the invisible marks a phone
 * number copied from right-to-left text carries) ignored, Arabic-Indic and
 * Persian digits read as digits; emails compare trimmed and with A-Z in
 * lower case (SQLite's lower() folds ASCII only, so both sides do).
 */

/** Characters removed from text before it is indexed or searched for. */
export const TEXT_REMOVED: readonly number[] = [
  0x00ad, // soft hyphen
  0x0640, // tatweel
  ...range(0x064b, 0x065f), // harakat: fathatan .. wavy hamza below
  0x0670, // superscript alef
  0x061c, // Arabic letter mark
  0x200c, // zero-width non-joiner
  0x200d, // zero-width joiner
  0x200e, // left-to-right mark
  0x200f, // right-to-left mark
];

/** Characters replaced by another before text is indexed or searched for. */
export const TEXT_FOLDED: ReadonlyMap<number, string> = new Map<number, string>([
  [0x0622, "ا"], // آ
  [0x0623, "ا"], // أ
  [0x0625, "ا"], // إ
  [0x0671, "ا"], // ٱ
  [0x064a, "ی"], // Arabic yeh -> Persian yeh
  [0x0649, "ی"], // alef maksura -> Persian yeh
  [0x0643, "ک"], // Arabic kaf -> keheh
  [0x0629, "ه"], // teh marbuta
  [0x06c0, "ه"], // heh with yeh above
  [0x06be, "ه"], // heh doachashmee
  ...arabicDigits(),
]);

/** Characters a phone number may carry that are not part of it. */
export const PHONE_IGNORED: readonly number[] = [
  0x0009, // tab
  0x0020, // space
  0x00a0, // no-break space
  0x2007, // figure space
  0x2009, // thin space
  0x202f, // narrow no-break space
  0x002d, // -
  0x2010, // hyphen
  0x2011, // non-breaking hyphen
  0x2012, // figure dash
  0x2013, // en dash
  0x2014, // em dash
  0x2212, // minus sign
  0x002e, // .
  0x0028, // (
  0x0029, // )
  0x061c, // Arabic letter mark
  0x200e, // left-to-right mark
  0x200f, // right-to-left mark
];

/** Characters trimmed from both ends of an email address. */
export const EMAIL_TRIMMED: readonly number[] = [0x0009, 0x000a, 0x000d, 0x0020, 0x00a0];

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** Arabic-Indic and Persian digits, each to its ASCII digit. */
export function arabicDigits(): [number, string][] {
  return range(0, 9).flatMap((d) => [
    [0x0660 + d, String(d)] as [number, string], // ٠-٩
    [0x06f0 + d, String(d)] as [number, string], // ۰-۹
  ]);
}

const TEXT_MAP = new Map<string, string>([
  ...TEXT_REMOVED.map((c) => [String.fromCodePoint(c), ""] as [string, string]),
  ...[...TEXT_FOLDED].map(([c, to]) => [String.fromCodePoint(c), to] as [string, string]),
]);
/** A character class of code points, each escaped (a "-" or ")" among them stays literal). */
const charClass = (codes: readonly number[]) => `[${codes.map((c) => `\\u{${c.toString(16)}}`).join("")}]`;
const TEXT_PATTERN = new RegExp(charClass([...TEXT_MAP.keys()].map((c) => c.codePointAt(0) ?? 0)), "gu");

/** Text as the index sees it before tokenizing (the SQL of textSql() does the same). */
export const normaliseText = (text: string): string => text.replace(TEXT_PATTERN, (c) => TEXT_MAP.get(c) ?? c);

const DIGIT_MAP = new Map(arabicDigits().map(([c, d]) => [String.fromCodePoint(c), d]));
const PHONE_PATTERN = new RegExp(charClass(PHONE_IGNORED), "gu");
const DIGIT_PATTERN = /[\u0660-\u0669\u06f0-\u06f9]/gu;

/** A phone number with its separators dropped and its digits in ASCII ("+964 (750) 123-4567" -> "+9647501234567"). */
export const normalisePhone = (phone: string): string =>
  phone.replace(PHONE_PATTERN, "").replace(DIGIT_PATTERN, (c) => DIGIT_MAP.get(c) ?? c);

const EMAIL_EDGES = new RegExp(`^${charClass(EMAIL_TRIMMED)}+|${charClass(EMAIL_TRIMMED)}+$`, "gu");

/** An email address trimmed, with A-Z in lower case (" User@Example.COM " -> "user@example.com"). */
export const normaliseEmail = (email: string): string =>
  email.replace(EMAIL_EDGES, "").replace(/[A-Z]/g, (c) => c.toLowerCase());

/** A stored phone is indexed when, normalised, it is "+" and digits only. */
export const isIndexablePhone = (phone: string) => /^\+[0-9]+$/.test(phone);
/** A stored email is indexed when, normalised, it has an "@" after at least one character. */
export const isIndexableEmail = (email: string) => email.indexOf("@") > 0;

const utf8Hex = (text: string) =>
  Array.from(new TextEncoder().encode(text), (b) => b.toString(16).padStart(2, "0")).join("");

/**
 * The index's token for an address: "p" and the digits of a phone, "e" and
 * the hex of an email's UTF-8 bytes (one unicode61 token either way; hex(),
 * in SQL, writes the same digits in upper case, which the tokenizer folds).
 */
export const phoneToken = (phone: string) => `p${phone.slice(1)}`;
export const emailToken = (email: string) => `e${utf8Hex(email)}`;

/** The index's tokens for the tenant and the customer of a communication: injective, one token each. */
export const tenantToken = (tenantId: string) => `t${utf8Hex(tenantId)}`;
export const customerToken = (customerId: string) => `c${utf8Hex(customerId)}`;
/** Facet tokens (migrations/0007_search.sql): the delivery, the provider, the provider's message id. */
export const deliveryToken = (deliveryId: string) => `d${utf8Hex(deliveryId)}`;
export const providerToken = (provider: string) => `v${utf8Hex(provider)}`;
export const providerMessageToken = (id: string) => `m${utf8Hex(id)}`;

/**
 * Diacritics unicode61 (remove_diacritics 2) drops inside a word: some of
 * U+0300-U+0331 (SQLite's sqlite3Fts5UnicodeIsdiacritic). Other combining
 * marks break words.
 */
function isDroppedDiacritic(c: number): boolean {
  if (c < 0x300 || c > 0x331) return false;
  return c < 0x320 ? ((0x08029fdf >>> (c - 0x300)) & 1) === 1 : ((0x000361f8 >>> (c - 0x320)) & 1) === 1;
}

/** Letters unicode61 folds that decomposition alone does not explain, or keeps although they decompose. */
const UNICODE61_FOLDS = new Map<string, string>([
  ["ſ", "s"],
  ["ẛ", "s"],
  ["ς", "σ"],
  ["ϐ", "β"],
  ["ϑ", "θ"],
  ["ϕ", "φ"],
  ["ϖ", "π"],
  ["ϰ", "κ"],
  ["ϱ", "ρ"],
  ["ϵ", "ε"],
]);
const UNICODE61_KEPT = new Set([..."ǠǡǢǣǮǯǼǽǾǿ"].map((c) => c.toLowerCase()));

/** One character as unicode61 with remove_diacritics 2 folds it ("" when it is dropped). */
function foldChar(c: string): string {
  const lower = c.toLowerCase();
  const special = UNICODE61_FOLDS.get(lower);
  if (special) return special;
  const code = lower.codePointAt(0) ?? 0;
  // Latin letters lose their diacritics (é -> e); other scripts keep theirs.
  if (((code >= 0xc0 && code <= 0x24f) || (code >= 0x1e00 && code <= 0x1eff)) && !UNICODE61_KEPT.has(lower)) {
    const base = lower.normalize("NFD");
    return [...base].filter((d) => !isDroppedDiacritic(d.codePointAt(0) ?? 0)).join("");
  }
  return isDroppedDiacritic(code) ? "" : lower;
}

const TOKEN_CHAR = /[\p{L}\p{N}\p{Co}]/u;

/**
 * The words of a text as the search index sees them: normalised as above,
 * then split and folded the way FTS5's unicode61 tokenizer does
 * (remove_diacritics 2): letters, digits and private-use characters make
 * words, anything else separates them, case and Latin diacritics fold.
 * test/search/match.test.ts compares it with FTS5 itself.
 */
export function words(text: string): string[] {
  const out: string[] = [];
  let current = "";
  for (const c of normaliseText(text)) {
    const folded = foldChar(c);
    if (folded === "" && isDroppedDiacritic(c.codePointAt(0) ?? 0)) continue;
    if (folded !== "" && TOKEN_CHAR.test(c)) {
      current += folded;
    } else if (current) {
      out.push(current);
      current = "";
    }
  }
  if (current) out.push(current);
  return out;
}
