/**
 * How a phone number or an email address is compared (search.md, `address`):
 * phones in E.164 (`+9647501234567`; spaces, dashes, dots and parentheses
 * are ignored; a number without `+` is refused), emails trimmed and in lower
 * case. The one place that says it: the stored `address` column, the
 * erasure's `addresses`, and the matching of archived lines and idempotency
 * records all go through here. (Issue 20's search brings the `address`
 * filter; it should use, or replace, this module.)
 */

export type Address = { kind: "phone" | "email"; value: string };
/** Why an input is not an address: a phone without `+`, or neither a phone nor an email. */
export type AddressProblem = "phone_without_plus" | "invalid";

/** At most 15 digits (E.164), at least 7 (the shortest numbers in use, with their country code). */
const E164 = /^\+[1-9]\d{6,14}$/;
const PHONE_PUNCTUATION = /[\s().-]/g;
/** Local part, @, a domain with a dot; no spaces or angle brackets. Deliberately loose: providers decide deliverability. */
const EMAIL = /^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/;
const MAX_EMAIL = 320;

export function normaliseAddress(input: string): Address | { problem: AddressProblem } {
  const text = input.trim();
  if (text.includes("@")) {
    const email = text.toLowerCase();
    return email.length <= MAX_EMAIL && EMAIL.test(email) ? { kind: "email", value: email } : { problem: "invalid" };
  }
  const phone = text.replace(PHONE_PUNCTUATION, "");
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
  if (text.includes("@")) return text.toLowerCase();
  const address = normaliseAddress(text);
  return "value" in address ? address.value : text;
}
