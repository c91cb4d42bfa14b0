/**
 * The masking rules of redaction (privacy.md, "Redaction"), as pure
 * functions: the route, the scheduled job and the archive rewrite all call
 * these, so a communication is redacted the same way wherever it is kept.
 *
 *  - phone numbers keep their first 4 and last 2 digits (`+9647501234567`
 *    becomes `+9647*******67`), emails their first letter and domain
 *    (`a***@example.com`): the value of every `phone` and `email` key, at
 *    any depth, and any other string that is a phone number in
 *    international form or an email address, or contains one (a SendGrid
 *    bounce `reason` quotes the address);
 *  - `template_variables` and the `url` of every attachment are removed;
 *  - every other key is kept.
 * Masking a masked value changes nothing (a `*` marks it), so redacting
 * twice is redacting once.
 */
import type { JsonObject } from "../db/schema";

const MASK = "*";
const DIGITS = /\d/g;
/** An email inside any text. */
const EMAIL_IN_TEXT = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+/g;
/** A phone number in international form inside any text (7 to 15 digits, with the usual punctuation). */
const PHONE_IN_TEXT = /\+\d[\d ().-]{5,22}\d/g;

/** `+9647501234567` -> `+9647*******67`; punctuation dropped; a masked value is returned as it is. */
export function maskPhone(value: string): string {
  if (value.includes(MASK)) return value;
  const digits = value.match(DIGITS)?.join("") ?? "";
  const plus = value.trim().startsWith("+") ? "+" : "";
  if (digits.length <= 6) return plus + MASK.repeat(Math.max(digits.length, 1));
  return `${plus}${digits.slice(0, 4)}${MASK.repeat(digits.length - 6)}${digits.slice(-2)}`;
}

/** `alice@example.com` -> `a***@example.com`; something that is not an email becomes `***`. */
export function maskEmail(value: string): string {
  const text = value.trim();
  const at = text.lastIndexOf("@");
  if (at < 1) return MASK.repeat(3);
  const local = text.slice(0, at);
  if (local.includes(MASK)) return text;
  return `${local.slice(0, 1)}${MASK.repeat(3)}@${text.slice(at + 1)}`;
}

const digitCount = (s: string) => s.match(DIGITS)?.length ?? 0;

/** Emails and international phone numbers inside free text, masked in place. */
export function maskText(text: string): string {
  return text
    .replace(EMAIL_IN_TEXT, (m) => maskEmail(m))
    .replace(PHONE_IN_TEXT, (m) => {
      const n = digitCount(m);
      return n >= 7 && n <= 15 ? maskPhone(m) : m;
    });
}

function maskValue(key: string | undefined, value: unknown): unknown {
  if (typeof value === "string") {
    if (key === "phone") return maskPhone(value);
    if (key === "email") return maskEmail(value);
    return maskText(value);
  }
  if (Array.isArray(value)) {
    const attachments = key === "attachments";
    return value.map((item) =>
      attachments && item && typeof item === "object" && !Array.isArray(item)
        ? maskObject(item as JsonObject, true)
        : maskValue(undefined, item),
    );
  }
  if (value && typeof value === "object") return maskObject(value as JsonObject, false);
  return value;
}

/** An object's keys, masked; an attachment also loses its `url`. */
function maskObject(object: JsonObject, attachment: boolean): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(object)) {
    if (key === "template_variables" || (attachment && key === "url")) continue;
    out[key] = maskValue(key, value);
  }
  return out;
}

/** A communication's `communication_details`, or a provider event's `details`, redacted. */
export function redactDetails(details: JsonObject): JsonObject {
  return maskObject(details, false);
}
