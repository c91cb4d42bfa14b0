/**
 * The three signature schemes, each as its provider documents it. Every
 * comparison goes through crypto.subtle.verify (constant-time in workerd),
 * never through `===` on strings. Each function returns true or false and
 * never says why: the route answers every failure the same way.
 *
 * @see https://www.twilio.com/docs/usage/webhooks/webhooks-security
 * @see https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features
 * @see https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
 */
import { fromBase64 } from "../providers/secrets";

const utf8 = (text: string) => new TextEncoder().encode(text);

function safeBase64(text: string): Uint8Array | undefined {
  try {
    return fromBase64(text.trim());
  } catch {
    return undefined;
  }
}

async function hmacVerify(hash: "SHA-1" | "SHA-256", key: Uint8Array, signature: Uint8Array, data: string) {
  const cryptoKey = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash }, false, ["verify"]);
  return crypto.subtle.verify("HMAC", cryptoKey, signature, utf8(data));
}

// --- Twilio ----------------------------------------------------------------

/** Twilio's "URL variants" (twilio-node validateRequest): with and without the default port. */
function urlVariants(url: string): string[] {
  const match = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)(.*)$/is.exec(url);
  if (!match) return [url];
  const [, scheme = "", authority = "", rest = ""] = match;
  const portStart = authority.indexOf(":", authority.lastIndexOf("]") + 1);
  const host = portStart === -1 ? authority : authority.slice(0, portStart);
  const defaultPort = scheme.toLowerCase() === "https://" ? ":443" : ":80";
  return [
    ...new Set([
      url,
      scheme + host + rest,
      scheme + host + (portStart === -1 ? defaultPort : authority.slice(portStart)) + rest,
    ]),
  ];
}

/**
 * The string Twilio signs: the full URL (with query string) followed by every
 * POST field, sorted by name, as name + value (a repeated name: its distinct
 * values sorted, each as name + value).
 */
export function twilioSignedString(url: string, form: URLSearchParams): string {
  const values = new Map<string, string[]>();
  for (const [k, v] of form) values.set(k, [...(values.get(k) ?? []), v]);
  let data = url;
  for (const key of [...values.keys()].sort()) {
    const list = values.get(key) ?? [];
    const sorted = list.length > 1 ? [...new Set(list)].sort() : list;
    for (const v of sorted) data += key + v;
  }
  return data;
}

/** X-Twilio-Signature: base64 HMAC-SHA1, keyed by the account's auth token. */
export async function verifyTwilio(authToken: string, url: string, form: URLSearchParams, header: string | undefined) {
  const signature = header ? safeBase64(header) : undefined;
  if (signature?.length !== 20) return false;
  for (const candidate of urlVariants(url)) {
    if (await hmacVerify("SHA-1", utf8(authToken), signature, twilioSignedString(candidate, form))) return true;
  }
  return false;
}

// --- SendGrid --------------------------------------------------------------

/** An ASN.1 DER ECDSA signature (SEQUENCE of INTEGER r, s) as WebCrypto's r || s, 32 bytes each. */
function derToP1363(der: Uint8Array): Uint8Array | undefined {
  let i = 0;
  const byte = () => der[i++];
  if (byte() !== 0x30) return undefined;
  let len = byte() ?? 0;
  if (len & 0x80) i += len & 0x7f; // long-form length (never needed for P-256, tolerated)
  const out = new Uint8Array(64);
  for (const offset of [0, 32]) {
    if (byte() !== 0x02) return undefined;
    len = byte() ?? 0;
    let int = der.slice(i, i + len);
    i += len;
    while (int.length > 32 && int[0] === 0) int = int.slice(1);
    if (int.length > 32 || int.length === 0) return undefined;
    out.set(int, offset + 32 - int.length);
  }
  return i === der.length ? out : undefined;
}

/** The verification key as SendGrid's console shows it: base64 of a DER SubjectPublicKeyInfo (P-256). */
export async function importSendgridKey(publicKey: string): Promise<CryptoKey | undefined> {
  const der = safeBase64(publicKey);
  if (!der) return undefined;
  try {
    return await crypto.subtle.importKey("spki", der, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
  } catch {
    return undefined;
  }
}

/** ECDSA P-256 / SHA-256 over timestamp + raw body; the header is base64 DER. */
export async function verifySendgrid(
  publicKey: string,
  rawBody: string,
  signatureHeader: string | undefined,
  timestampHeader: string | undefined,
) {
  if (!signatureHeader || !timestampHeader) return false;
  const key = await importSendgridKey(publicKey);
  const der = safeBase64(signatureHeader);
  const signature = der && derToP1363(der);
  if (!key || !signature) return false;
  return crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, signature, utf8(timestampHeader + rawBody));
}

// --- Standard Webhooks -----------------------------------------------------

/** Standard Webhooks' tolerance, both ways: older or newer than this is refused. */
export const STANDARD_TOLERANCE_SECONDS = 5 * 60;

/** A `whsec_<base64>` secret's key bytes, or undefined. */
export function standardSecretKey(secret: string): Uint8Array | undefined {
  if (!secret.startsWith("whsec_")) return undefined;
  const key = safeBase64(secret.slice("whsec_".length));
  return key && key.length >= 16 ? key : undefined;
}

/**
 * HMAC-SHA256 over `${webhook-id}.${webhook-timestamp}.${body}`; the
 * signature header is a space-separated list of `v1,<base64>` (one per
 * active secret): any one matching is enough.
 */
export async function verifyStandard(
  secret: string,
  rawBody: string,
  headers: { id?: string; timestamp?: string; signature?: string },
  nowMs = Date.now(),
) {
  const key = standardSecretKey(secret);
  const { id, timestamp, signature } = headers;
  if (!key || !id || !timestamp || !signature || !/^\d{1,12}$/.test(timestamp)) return false;
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > STANDARD_TOLERANCE_SECONDS) return false;
  const signed = `${id}.${timestamp}.${rawBody}`;
  for (const part of signature.split(" ").slice(0, 10)) {
    const [version, value] = part.split(",", 2);
    const bytes = version === "v1" && value ? safeBase64(value) : undefined;
    if (bytes?.length === 32 && (await hmacVerify("SHA-256", key, bytes, signed))) return true;
  }
  return false;
}
