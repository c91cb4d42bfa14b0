/**
 * Signing webhook calls the way each provider does, with the providers' own
 * npm libraries (running in workerd under nodejs_compat):
 *  - Twilio: twilio's getExpectedTwilioSignature (the function its
 *    validateRequest checks against);
 *  - SendGrid: its Event Webhook library's ECDSA stack (starkbank-ecdsa,
 *    which @sendgrid/eventwebhook verifies with) signs, and
 *    @sendgrid/eventwebhook's verifySignature confirms every signature;
 *  - Standard Webhooks: the standardwebhooks reference library.
 */
import { EventWebhook } from "@sendgrid/eventwebhook";
import { Webhook } from "standardwebhooks";
import ecdsa from "starkbank-ecdsa";
import { prime256v1 } from "starkbank-ecdsa/ellipticcurve/curve.js";
import twilioWebhooks from "twilio/lib/webhooks/webhooks.js";
import { expect, vi } from "vitest";
import { BASE, call } from "./helpers";

export const webhookUrl = (provider: string, tenantId: string) => `${BASE}/webhooks/${provider}/${tenantId}`;

export async function connect(adminToken: string, provider: string, body: Record<string, string>) {
  const res = await call(`/providers/${provider}`, { method: "PUT", token: adminToken, body });
  expect(res.status, res.text).toBe(200);
  return res.json.provider as { webhook_url: string };
}

// --- Twilio ----------------------------------------------------------------

export const newTwilioToken = () => crypto.randomUUID().replaceAll("-", "");

export function twilioRequest(url: string, authToken: string, params: Record<string, string>) {
  const signature = twilioWebhooks.getExpectedTwilioSignature(authToken, url, params);
  expect(twilioWebhooks.validateRequest(authToken, signature, url, params)).toBe(true);
  return {
    method: "POST",
    rawBody: new URLSearchParams(params).toString(),
    headers: { "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": signature },
  };
}

// --- SendGrid --------------------------------------------------------------

export function newSendgridKey() {
  // SendGrid's keys are P-256 (prime256v1); the library's default curve is secp256k1.
  const privateKey = new ecdsa.PrivateKey(prime256v1);
  const pem: string = privateKey.publicKey().toPem();
  // The console shows the key as base64 DER: the PEM's body.
  const publicKey = pem.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, "");
  return { privateKey, publicKey };
}

export function sendgridRequest(
  key: ReturnType<typeof newSendgridKey>,
  events: unknown[],
  timestamp = String(Math.floor(Date.now() / 1000)),
) {
  const rawBody = JSON.stringify(events);
  const signature: string = ecdsa.Ecdsa.sign(timestamp + rawBody, key.privateKey).toBase64();
  const lib = new EventWebhook();
  expect(lib.verifySignature(lib.convertPublicKeyToECDSA(key.publicKey), rawBody, signature, timestamp)).toBe(true);
  return {
    method: "POST",
    rawBody,
    headers: {
      "content-type": "application/json",
      "x-twilio-email-event-webhook-signature": signature,
      "x-twilio-email-event-webhook-timestamp": timestamp,
    },
  };
}

// --- Standard Webhooks -----------------------------------------------------

export const newStandardSecret = () =>
  `whsec_${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(24))))}`;

export function standardRequest(secret: string, payload: unknown, opts: { id?: string; at?: Date } = {}) {
  const id = opts.id ?? `msg_${crypto.randomUUID()}`;
  const at = opts.at ?? new Date();
  const rawBody = JSON.stringify(payload);
  const signature = new Webhook(secret).sign(id, at, rawBody);
  return {
    method: "POST",
    rawBody,
    headers: {
      "content-type": "application/json",
      "webhook-id": id,
      "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
      "webhook-signature": signature,
    },
  };
}

/** Waits until the queue consumer has applied what `check` looks for. */
export const eventually = <T>(check: () => Promise<T>, timeout = 15_000) =>
  vi.waitFor(check, { timeout, interval: 200 });
