/**
 * Whether one communication, as the API returns it, matches a parsed
 * `address` or `q`: the list's semantics without the database, for the live
 * stream (events.md), which filters events as they happen. The SQL side is
 * the search index (migrations/0007_search.sql); test/search/match.test.ts
 * checks, against FTS5 itself, that both find the same communications.
 */
import type { Communication } from "../communications/schemas";
import { addressTokens, type ParsedAddress } from "./address";
import type { Search } from "./index";
import { words } from "./normalise";
import type { ParsedQuery, QueryTerm } from "./query";

export { type ParsedAddress, parseAddress } from "./address";
export { type ParsedQuery, parseQuery } from "./query";

type Matchable = Pick<Communication, "content" | "communication_details">;

/** The sender or the recipient has this phone or email (search.md's comparison rules). */
export const matchesAddress = (communication: Matchable, address: ParsedAddress): boolean =>
  addressTokens(communication.communication_details).has(address.token);

/** Whether `term` occurs in `text` (a phrase: its words in a row; a prefix: the last one starts so). */
function occurs(text: string[], term: QueryTerm): boolean {
  const n = term.words.length;
  for (let start = 0; start + n <= text.length; start++) {
    let all = true;
    for (let k = 0; k < n && all; k++) {
      const word = text[start + k] as string;
      const wanted = term.words[k] as string;
      all = term.prefix && k === n - 1 ? word.startsWith(wanted) : word === wanted;
    }
    if (all) return true;
  }
  return false;
}

/** Every term of the query occurs in the content (a communication without content matches no query). */
export function matchesQuery(communication: Matchable, query: ParsedQuery): boolean {
  if (communication.content === null) return false;
  const text = words(communication.content);
  return query.terms.every((term) => occurs(text, term));
}

/**
 * Both filters of a parsed search (src/search/index.ts parseSearch(), from
 * the request's `address` and `q`): what the stream keeps of each event's
 * `data.communication`, besides its own visibility and other filters.
 */
export const matchesSearch = (communication: Matchable, search: Search | undefined): boolean =>
  (!search?.address || matchesAddress(communication, search.address)) &&
  (!search?.query || matchesQuery(communication, search.query));
