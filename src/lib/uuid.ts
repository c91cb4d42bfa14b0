/**
 * UUIDs in one place: their shape, the lower case they are kept in, and the
 * UUIDv7 ids this service mints.
 *
 * UUIDs are case-insensitive on input (RFC 9562) and stored in lower case,
 * so an id given in capitals finds, and is stored as, the same value.
 *
 * UUIDv7 (RFC 9562): the first 48 bits are the Unix time in milliseconds, so
 * ids sort by creation time. The communications table relies on this: its
 * primary key (tenant_id, id) is also its newest-first order, and a time
 * bound becomes an id bound.
 */
/** Any UUID, either case. */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The nil UUID: the customer_id of inbound messages nobody could be
 * attributed to (README, "Provider webhooks"). Reserved: it is nobody's
 * customer id (src/auth/principal.ts, the create body).
 */
export const NIL_UUID = "00000000-0000-0000-0000-000000000000";

/** A UUID in the case it is stored in; anything else unchanged. */
export const lowerCaseUuid = (id: string) => (UUID.test(id) ? id.toLowerCase() : id);

/** Lower-case hexadecimal of bytes (also used for digests). */
export const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

const format = (h: string) =>
  `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;

export function uuidv7(ms: number = Date.now()): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let t = ms;
  for (let i = 5; i >= 0; i--) {
    bytes[i] = t % 256;
    t = Math.floor(t / 256);
  }
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x70;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  return format(hex(bytes));
}

/** The smallest UUIDv7 of millisecond `ms`: every id created at or after `ms` sorts at or after it. */
export function uuidv7Floor(ms: number): string {
  const clamped = Math.min(Math.max(Math.ceil(ms), 0), 2 ** 48 - 1);
  return format(`${clamped.toString(16).padStart(12, "0")}${"0".repeat(20)}`);
}

/** The creation time encoded in a UUIDv7, in ms. */
export const uuidv7Time = (id: string) => Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
