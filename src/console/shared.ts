/**
 * What the console's server side (./page.tsx) and client side (./client/)
 * both need: no dependencies, so the client bundle takes only these values.
 */
import type { Provider } from "../db/schema";

export { CONSOLE_PATH } from "./policy";

/** Filters of the Messages view, as the console's own URL carries them (the names of the API's parameters). */
export const FILTERS = [
  "customer_id",
  "delivery_id",
  "type",
  "status",
  "direction",
  "created_after",
  "created_before",
  "provider",
  "provider_message_id",
  "address",
  "q",
  "limit",
] as const;
/**
 * The filters the live stream takes: the list's less dates and paging
 * (src/stream/filters.ts, whose imports must not reach the browser;
 * test/console/console.test.ts checks the two lists are the same).
 */
export const STREAM_FILTERS = [
  "customer_id",
  "delivery_id",
  "type",
  "status",
  "direction",
  "provider",
  "provider_message_id",
  "address",
  "q",
] as const;

export const PAGE_SIZES = [10, 25, 50, 100] as const;
export const DEFAULT_PAGE_SIZE = 25;

/** Product names, the same in every language. */
export const PROVIDER_NAMES: Record<Provider, string> = {
  twilio: "Twilio",
  sendgrid: "SendGrid",
  standard: "Standard Webhooks",
};
