/**
 * How a provider's message id in an event matches the id a communication was
 * created with (src/webhooks/store.ts; the create's look-up of events kept
 * for it, src/communications/store.ts).
 *
 * SendGrid's `sg_message_id` is the send's X-Message-Id, a "." and the
 * delivery path (`<X-Message-Id>.filterdrecv-...`), one per recipient.
 * Senders store either as `provider_message_id`, so the two match both ways,
 * never by their first parts alone (two recipients of one send share it):
 *  - a full id matches itself, else its part before the first "."
 *    (two seeks of the index; the exact id preferred);
 *  - an id without a "." (an X-Message-Id) matches itself or any full id it
 *    starts (one range of the index: from `id` up to `id/`, as "." sorts
 *    just before "/"; the exact id preferred).
 * Every other provider's ids match exactly.
 */
import { and, eq, inArray, type SQL, sql } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";

export function providerIdMatch(
  column: SQLiteColumn,
  provider: string | undefined,
  id: string,
): { condition: SQL; preference?: SQL } {
  if (provider !== "sendgrid") return { condition: eq(column, id) };
  const preference = sql`(${column} = ${id}) DESC`;
  const dot = id.indexOf(".");
  if (dot > 0) return { condition: inArray(column, [id, id.slice(0, dot)]), preference };
  return {
    condition: and(
      sql`${column} >= ${id}`,
      sql`${column} < ${`${id}/`}`,
      sql`(${column} = ${id} OR substr(${column}, 1, ${id.length + 1}) = ${`${id}.`})`,
    ) as SQL,
    preference,
  };
}
