/**
 * Provider secrets at rest: AES-256-GCM (WebCrypto) under the Worker secret
 * PROVIDER_SECRETS_KEY (base64 of 32 random bytes). Stored as
 * base64(iv || ciphertext+tag), with "tenant_id:provider" as additional
 * authenticated data, so a ciphertext copied into another tenant's or
 * provider's row fails to decrypt. Without the key every caller gets one
 * clear error (fail closed), never a connection stored in clear.
 */
import { ApiError } from "../lib/errors";

const IV_BYTES = 12;
const keys = new Map<string, Promise<CryptoKey>>();

const notConfigured = (cause?: unknown) => new ApiError(500, "provider_secrets_not_configured", { cause });

export const fromBase64 = (b64: string) => Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
export const toBase64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));

/** The AES key, imported once per isolate per configured value. */
function secretsKey(configured: string | undefined): Promise<CryptoKey> {
  const value = configured?.trim();
  if (!value) throw notConfigured();
  let key = keys.get(value);
  if (!key) {
    key = (async () => {
      let raw: Uint8Array;
      try {
        raw = fromBase64(value);
      } catch (err) {
        throw notConfigured(err);
      }
      if (raw.length !== 32) throw notConfigured(new Error("PROVIDER_SECRETS_KEY is not 32 bytes"));
      return crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
    })();
    key.catch(() => keys.delete(value));
    keys.set(value, key);
  }
  return key;
}

const aad = (tenantId: string, provider: string) => new TextEncoder().encode(`${tenantId}:${provider}`);

export async function encryptSecret(
  configured: string | undefined,
  tenantId: string,
  provider: string,
  secret: string,
) {
  const key = await secretsKey(configured);
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: aad(tenantId, provider) },
      key,
      new TextEncoder().encode(secret),
    ),
  );
  const out = new Uint8Array(IV_BYTES + sealed.length);
  out.set(iv);
  out.set(sealed, IV_BYTES);
  return toBase64(out);
}

export async function decryptSecret(
  configured: string | undefined,
  tenantId: string,
  provider: string,
  stored: string,
) {
  const key = await secretsKey(configured);
  const bytes = fromBase64(stored);
  const plain = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: bytes.slice(0, IV_BYTES), additionalData: aad(tenantId, provider) },
    key,
    bytes.slice(IV_BYTES),
  );
  return new TextDecoder().decode(plain);
}
