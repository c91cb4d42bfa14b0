/**
 * Subscription secrets and signatures, as Standard Webhooks specifies them
 * (https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md):
 *  - a secret is `whsec_` + base64 of 32 random bytes; the key is those bytes;
 *  - `webhook-signature` is `v1,` + base64 HMAC-SHA256 of
 *    `${webhook-id}.${webhook-timestamp}.${body}`, one per valid secret,
 *    space-separated (after a rotation: the new one, then the old one, for
 *    24 hours).
 * Secrets are shown once and kept sealed with AES-GCM, like provider secrets
 * (src/providers/secrets.ts), with `subscription:<id>` in the additional data:
 * a sealed secret copied into another subscription's or tenant's row does not
 * open. Nothing here logs a secret.
 */
import { ApiError } from "../lib/errors";
import { decryptSecret, encryptSecret, fromBase64, toBase64 } from "../providers/secrets";

export const SECRET_PREFIX = "whsec_";
const SECRET_BYTES = 32;
/** How long a rotated-out secret keeps signing beside the new one. */
export const PREVIOUS_SECRET_TTL_MS = 24 * 60 * 60 * 1000;

export const newSecret = () => `${SECRET_PREFIX}${toBase64(crypto.getRandomValues(new Uint8Array(SECRET_BYTES)))}`;

const associated = (subscriptionId: string) => `subscription:${subscriptionId}`;

/** Seals a secret for the subscription's row. Without PROVIDER_SECRETS_KEY: 500 subscriptions_not_configured. */
export async function sealSecret(key: string | undefined, tenantId: string, subscriptionId: string, secret: string) {
  try {
    return await encryptSecret(key, tenantId, associated(subscriptionId), secret);
  } catch (err) {
    throw new ApiError(500, "subscriptions_not_configured", { cause: err });
  }
}

export const openSecret = (key: string | undefined, tenantId: string, subscriptionId: string, sealed: string) =>
  decryptSecret(key, tenantId, associated(subscriptionId), sealed);

/** Secrets the consumer opened, per isolate, by sealed value (a rotation seals a new one): 1,000 at most. */
const opened = new Map<string, Promise<string>>();

/** openSecret, once per isolate per sealed secret: every attempt signs, and most go to the same few subscriptions. */
export function openSecretCached(key: string | undefined, tenantId: string, subscriptionId: string, sealed: string) {
  const cacheKey = `${tenantId}:${subscriptionId}:${sealed}`;
  let secret = opened.get(cacheKey);
  if (!secret) {
    secret = openSecret(key, tenantId, subscriptionId, sealed);
    secret.catch(() => opened.delete(cacheKey));
    if (opened.size >= HMAC_CACHE_LIMIT) opened.delete(opened.keys().next().value as string);
    opened.set(cacheKey, secret);
  }
  return secret;
}

/** HMAC keys imported once per isolate per secret (a bounded cache: 1,000 subscriptions' keys). */
const hmacKeys = new Map<string, Promise<CryptoKey>>();
const HMAC_CACHE_LIMIT = 1000;

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = hmacKeys.get(secret);
  if (!key) {
    const raw = fromBase64(secret.slice(SECRET_PREFIX.length));
    key = crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    if (hmacKeys.size >= HMAC_CACHE_LIMIT) hmacKeys.delete(hmacKeys.keys().next().value as string);
    hmacKeys.set(secret, key);
  }
  return key;
}

/** `v1,<base64>` for each secret, space-separated, in the order given. */
export async function signatureHeader(secrets: string[], id: string, timestamp: number, body: string) {
  const data = new TextEncoder().encode(`${id}.${timestamp}.${body}`);
  const parts = await Promise.all(
    secrets.map(async (secret) => {
      const mac = await crypto.subtle.sign("HMAC", await hmacKey(secret), data);
      return `v1,${toBase64(new Uint8Array(mac))}`;
    }),
  );
  return parts.join(" ");
}
