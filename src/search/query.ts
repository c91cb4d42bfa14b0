/**
 * The `q` filter (search.md): words in `content`. A caller's query is
 * parsed here into terms, and the full-text expression FTS5 runs is built
 * from them: never the caller's text itself, so FTS5's own syntax (NEAR,
 * column filters, ^, AND/OR/NOT, parentheses) in a query is only ever
 * searched for as words.
 *
 * The language, all of it:
 *  - words separated by spaces: every one must occur (`closure erbil`);
 *  - `"..."`: the words inside occur in that order, next to each other;
 *  - a `*` right after a word or a closing quote: the last word is a prefix
 *    (`deliv*`, `"erbil dep"*`), of at least MIN_PREFIX characters.
 * AND, OR, NOT and NEAR are words like any other. Punctuation inside a word
 * joins its parts into a phrase (`2-4pm` is "2 4pm"), as in the content.
 * A quote left open, a `*` anywhere else, a too-short prefix and a query
 * without any word are 400s.
 */
import { badRequest, type FieldError } from "../lib/errors";
import { normaliseText, words } from "./normalise";

/** At most this many characters (search.md). */
export const MAX_QUERY_LENGTH = 200;
/**
 * Characters a prefix needs before its `*`: FTS5 expands a prefix into every
 * word of the shard that starts with it, so "a*" would cost more than it
 * finds.
 */
export const MIN_PREFIX = 2;

export interface QueryTerm {
  /** The term's text, normalised (./normalise.ts), as FTS5 is given it. */
  text: string;
  /** Its words, as the index splits and folds them. */
  words: string[];
  /** The last word is a prefix. */
  prefix: boolean;
}

export interface ParsedQuery {
  terms: QueryTerm[];
  /** The FTS5 expression for the `body` column: every term, quoted, ANDed. */
  expression: string;
}

const fail = (field: string, message: FieldError["message"], params?: FieldError["params"]): never => {
  throw badRequest([{ field, message, ...(params ? { params } : {}) }]);
};

/** A caller's query, parsed; a 400 naming `field` when it is malformed (see the module comment). */
export function parseQuery(raw: string, field = "q"): ParsedQuery {
  // Control characters (a NUL included) separate words like spaces do.
  const input = raw.replace(/\p{Cc}/gu, " ");
  const terms: QueryTerm[] = [];
  let i = 0;
  const add = (text: string, prefix: boolean) => {
    const normalised = normaliseText(text);
    const found = words(normalised);
    if (found.length === 0) {
      // Only punctuation: nothing to search for, unless it claimed a prefix.
      if (prefix) fail(field, "field_query_star");
      return;
    }
    if (prefix && [...(found.at(-1) ?? "")].length < MIN_PREFIX) {
      fail(field, "field_query_prefix", { min: String(MIN_PREFIX) });
    }
    terms.push({ text: normalised, words: found, prefix });
  };
  while (i < input.length) {
    const c = input[i] as string;
    if (/\s/u.test(c)) {
      i++;
    } else if (c === '"') {
      const end = input.indexOf('"', i + 1);
      if (end < 0) fail(field, "field_query_quote");
      const prefix = input[end + 1] === "*";
      if (prefix && input[end + 2] === "*") fail(field, "field_query_star");
      add(input.slice(i + 1, end), prefix);
      i = end + (prefix ? 2 : 1);
    } else {
      let end = i;
      while (end < input.length && !/\s/u.test(input[end] as string) && input[end] !== '"') end++;
      const word = input.slice(i, end);
      const star = word.indexOf("*");
      // A star only at the very end, once, after something.
      if (star >= 0 && (star !== word.length - 1 || star === 0)) fail(field, "field_query_star");
      add(star >= 0 ? word.slice(0, -1) : word, star >= 0);
      i = end;
    }
  }
  if (terms.length === 0) fail(field, "field_query_empty");
  // A term's text never holds a '"' (quotes delimit terms), so quoting it is
  // enough for FTS5 to read it as one string, whatever else it contains.
  const expression = terms.map((t) => `"${t.text}"${t.prefix ? " *" : ""}`).join(" AND ");
  return { terms, expression };
}
