/**
 * The service's public origin: where callers and providers reach it. Every
 * absolute URL the service hands out (a connection's `webhook_url`; later
 * subscription and console links) is built here, and the Twilio signature is
 * checked against the URL as seen from here, so that a gateway which
 * rewrites Host (PUBLIC_BASE_URL set) changes neither.
 *
 * PUBLIC_BASE_URL empty: the request's own origin, as the service always did.
 * Set but invalid (src/config.ts, parsePublicOrigin): a 500 naming no
 * internals, with the reason in the log (fail closed, as with a missing
 * PROVIDER_SECRETS_KEY): a URL on the wrong origin would be pasted into a
 * provider's console and fail there, silently.
 */
import { config } from "../config";
import { ApiError } from "./errors";

/** The origin (`https://host[:port]`) URLs are built on, for a request that arrived at `requestUrl`. */
export function publicOrigin(env: Env, requestUrl: string): string {
  const setting = config(env).publicOrigin;
  if (setting.kind === "fixed") return setting.origin;
  if (setting.kind === "request") return new URL(requestUrl).origin;
  throw new ApiError(500, "public_base_url_invalid", {
    cause: new Error(`PUBLIC_BASE_URL ${JSON.stringify(setting.value)} is unusable: ${setting.reason}`),
  });
}

/** PUBLIC_BASE_URL's host (`host[:port]`) when it is set and usable; none otherwise. */
export function configuredPublicHost(env: Env): string[] {
  const setting = config(env).publicOrigin;
  return setting.kind === "fixed" ? [new URL(setting.origin).host] : [];
}

/**
 * The absolute public URL of `path` (which starts with "/" and may carry a
 * query); without `path`, the request's own path and query on the public
 * origin: the URL the caller (Twilio, say) actually called.
 */
export function publicUrl(env: Env, requestUrl: string, path?: string): string {
  const origin = publicOrigin(env, requestUrl);
  if (path !== undefined) return `${origin}${path}`;
  const url = new URL(requestUrl);
  return `${origin}${url.pathname}${url.search}`;
}
