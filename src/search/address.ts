/**
 * The `address` filter (search.md): a phone number or an email address that
 * sent or received a communication. What a caller types is parsed here; the
 * communication's side is normalised by the same rules (./normalise.ts), in
 * SQL for the index and in ./match.ts for the live stream.
 */
import { badRequest } from "../lib/errors";
import {
  emailToken,
  isIndexableEmail,
  isIndexablePhone,
  normaliseEmail,
  normalisePhone,
  phoneToken,
} from "./normalise";

export interface ParsedAddress {
  kind: "phone" | "email";
  /** E.164 ("+9647501234567") or the folded email ("user@example.com"). */
  value: string;
  /** The search index's token for it (./normalise.ts). */
  token: string;
}

/** Longest email address (RFC 5321: 64 + 1 + 255). The route caps the parameter at the same length. */
export const MAX_ADDRESS_LENGTH = 320;

/** E.164: "+", a non-zero country code digit, at most 15 digits in all. */
const E164 = /^\+[1-9][0-9]{1,14}$/;
/** Loose on purpose: providers accept more than RFC 5322's common subset, and the value is only compared. */
const EMAIL = /^[^\s@]+@[^\s@]+$/u;

/**
 * The address a caller typed, normalised, or a 400 naming `field`. Anything
 * with an "@" is an email; anything else must be a phone number in
 * international form (a number without "+" is refused: "07501234567" could
 * be any country's).
 */
export function parseAddress(raw: string, field = "address"): ParsedAddress {
  if (raw.includes("@")) {
    const value = normaliseEmail(raw);
    if (!EMAIL.test(value) || !isIndexableEmail(value)) {
      throw badRequest([{ field, message: "field_address_invalid" }]);
    }
    return { kind: "email", value, token: emailToken(value) };
  }
  const value = normalisePhone(raw.trim());
  if (!E164.test(value) || !isIndexablePhone(value)) {
    throw badRequest([{ field, message: "field_address_invalid" }]);
  }
  return { kind: "phone", value, token: phoneToken(value) };
}

/** The parties whose addresses a communication is found by (search.md). */
const PARTIES = ["sender", "recipient"] as const;

/**
 * Every index token of a communication's addresses: sender and recipient,
 * phone and email, each normalised; values that are not a phone ("+" and
 * digits) or an email (an "@") are left out, as the index leaves them out.
 */
export function addressTokens(details: Record<string, unknown>): Set<string> {
  const tokens = new Set<string>();
  for (const party of PARTIES) {
    const value = details[party];
    if (!value || typeof value !== "object" || Array.isArray(value)) continue;
    const { phone, email } = value as { phone?: unknown; email?: unknown };
    if (typeof phone === "string") {
      const normalised = normalisePhone(phone);
      if (isIndexablePhone(normalised)) tokens.add(phoneToken(normalised));
    }
    if (typeof email === "string") {
      const normalised = normaliseEmail(email);
      if (isIndexableEmail(normalised)) tokens.add(emailToken(normalised));
    }
  }
  return tokens;
}
