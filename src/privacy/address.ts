/**
 * The addresses an erasure names and the stored `address` column
 * (communications.address, the customer's end of a conversation), compared
 * by search.md's rules: the normalisation is src/search/normalise.ts's, the
 * one place that says how a phone or an email compares (the search index,
 * the `address` filter and the live stream use it too). This module adds
 * only what erasure and storage need: telling a phone typed without `+`
 * apart (its own message), and the stored form.
 */
import { normaliseEmail, normalisePhone } from "../search/normalise";

export type Address = { kind: "phone" | "email"; value: string };
/** Why an input is not an address: a phone without `+`, or neither a phone nor an email. */
export type AddressProblem = "phone_without_plus" | "invalid";

/** At most 15 digits (E.164), at least 7 (the shortest numbers in use, with their country code). */
const E164 = /^\+[1-9]\d{6,14}$/;
/** Local part, @, a domain with a dot; no spaces or angle brackets. Deliberately loose: providers decide deliverability. */
const EMAIL = /^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/;
const MAX_EMAIL = 320;

export function normaliseAddress(input: string): Address | { problem: AddressProblem } {
  if (input.includes("@")) {
    const email = normaliseEmail(input);
    return email.length <= MAX_EMAIL && EMAIL.test(email) ? { kind: "email", value: email } : { problem: "invalid" };
  }
  const phone = normalisePhone(input.trim());
  if (E164.test(phone)) return { kind: "phone", value: phone };
  if (/^\d{7,15}$/.test(phone)) return { problem: "phone_without_plus" };
  return { problem: "invalid" };
}

/**
 * The form an address is stored in (communications.address): emails
 * trimmed and in lower case (as before), phones in E.164 when they are
 * valid, anything else as given, trimmed (still matched exactly, as before;
 * migrations/0008_privacy.sql brought older rows to this form).
 */
export function storedAddress(input: string): string {
  const text = input.trim();
  if (text.includes("@")) return normaliseEmail(text);
  const address = normaliseAddress(text);
  return "value" in address ? address.value : text;
}
