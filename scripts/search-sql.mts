#!/usr/bin/env node
/**
 * Prints the normalisation SQL of the search index's view
 * (migrations/0007_search.sql) from the maps of src/search/normalise.ts, the
 * one description of those rules:
 *   node --experimental-strip-types scripts/search-sql.mts
 * A migration is never edited once applied: a change of the rules is a new
 * migration that recreates the view and rebuilds the index.
 * test/search/normalise.test.ts checks the migrated SQL against the
 * TypeScript functions, character by character.
 */
import { arabicDigits, EMAIL_TRIMMED, PHONE_IGNORED, TEXT_FOLDED, TEXT_REMOVED } from "../src/search/normalise.ts";

const sqlChar = (c: number) => (c > 0x20 && c < 0x7f && c !== 0x27 ? `'${String.fromCharCode(c)}'` : `char(${c})`);
const label = (c: number) => `U+${c.toString(16).toUpperCase().padStart(4, "0")}`;

/** `replace(replace(expr, a, x), b, y)...`, one pair per line with the code point it names. */
function replaceChain(expr: string, pairs: [number, string][], indent: string): string {
  const open = "replace(".repeat(pairs.length);
  const lines = pairs.map(
    ([from, to], i) =>
      `${indent}  ${sqlChar(from)}, ${to === "" ? "''" : `'${to}'`})${i === pairs.length - 1 ? "" : ","} -- ${label(from)}${to ? ` -> ${to}` : ""}`,
  );
  // The first pair's comma follows expr; later ones follow the closing parenthesis.
  return `${open}${expr},\n${lines.map((l) => l.replace(/\),( -- )/, "),$1")).join("\n")}`;
}

const field = (path: string) =>
  `CASE WHEN json_type(communication_details, '${path}') = 'text' THEN json_extract(communication_details, '${path}') END`;

const text = replaceChain(
  "content",
  [...TEXT_REMOVED.map((c) => [c, ""] as [number, string]), ...[...TEXT_FOLDED].sort(([a], [b]) => a - b)],
  "    ",
);
const phone = (path: string) =>
  replaceChain(field(path), [...PHONE_IGNORED.map((c) => [c, ""] as [number, string]), ...arabicDigits()], "    ");
const email = (path: string) => `lower(trim(${field(path)}, ${EMAIL_TRIMMED.map((c) => `char(${c})`).join(" || ")}))`;

console.log(`-- body:\n${text}`);
console.log(`-- sender_phone:\n${phone("$.sender.phone")}`);
console.log(`-- recipient_phone:\n${phone("$.recipient.phone")}`);
console.log(`-- sender_email:\n${email("$.sender.email")}`);
console.log(`-- recipient_email:\n${email("$.recipient.email")}`);
