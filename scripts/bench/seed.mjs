/**
 * Bulk seed of the bench tenant, straight into the local D1 SQLite file that
 * `wrangler dev --persist-to` serves (run it while no server has the file
 * open). One INSERT ... SELECT over a recursive CTE, one transaction:
 *  - ids are lowercase UUIDv7 whose 48-bit prefix is created_at in ms
 *    (src/lib/ids.ts), so id order is creation order;
 *  - creation times go back from `now` at a constant rate per day: a bigger
 *    tenant is an older tenant, not a denser one;
 *  - a delivery gets DELIVERY_SIZE consecutive messages, all to the same
 *    customer; customers = N / MESSAGES_PER_CUSTOMER, deliveries spread over
 *    them by a multiplicative hash;
 *  - type, status and direction drawn with fixed weights (below).
 * Only the random tails of the ids differ between runs.
 * The totals trigger of the migration runs for every row (communication_totals
 * stays right by construction), and so do the search index's (migrations/
 * 0007_search.sql: every row gets its document, its words and its sender's
 * and recipient's phones, the recipient's being its customer's). The secondary indexes are dropped before the
 * insert and re-created after it from their own SQL in sqlite_master (a sorted
 * build is far faster than a million random B-tree inserts); the schema ends
 * up byte-identical.
 */
import { DatabaseSync } from "node:sqlite";

export const BENCH_TENANT = "b0000000-0000-4000-8000-000000000001";
export const BENCH_USER = "b0000000-0000-4000-8000-0000000000aa";
export const MESSAGES_PER_DAY = 1000;
export const MESSAGES_PER_CUSTOMER = 50;
export const DELIVERY_SIZE = 4;

/** Deterministic UUID of the k-th customer / delivery (valid RFC 9562 version 4 shape). */
export const customerId = (k) => `c0000000-0000-4000-8000-${k.toString(16).padStart(12, "0")}`;
export const deliveryId = (k) => `d0000000-0000-4000-8000-${k.toString(16).padStart(12, "0")}`;
export const customersFor = (n) => Math.max(1, Math.floor(n / MESSAGES_PER_CUSTOMER));
/** The k-th customer's phone, as the seed writes it in communication_details.recipient (search by address). */
export const customerPhone = (k) => `+96475${String(k).padStart(8, "0")}`;

/**
 * Deterministic draws: row i gets the same type, status, direction and time
 * at every N, so the newest 10k rows of the 1M tenant are the 10k tenant and
 * the sizes differ only by history. Independent multipliers modulo a prime.
 */
const MULTIPLIERS = [0, 2654435761, 2246822519, 3266489917, 668265263];
const draw = (i, k) => `((${i} + 1) * ${MULTIPLIERS[k]} % 2147483647)`;

/** Weighted picks from one uniform draw r in [0, 100). */
const TYPE = `CASE WHEN r1 < 40 THEN 'sms' WHEN r1 < 70 THEN 'push_notification' WHEN r1 < 90 THEN 'email' ELSE 'call' END`;
const STATUS = `CASE WHEN r2 < 50 THEN 'delivered' WHEN r2 < 70 THEN 'read' WHEN r2 < 90 THEN 'sent' ELSE 'failed' END`;
const DIRECTION = `CASE WHEN r3 < 10 THEN 'inbound' ELSE 'outbound' END`;

const INSERT = `
WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < :last),
-- MATERIALIZED: each row's values are computed once (a plain CTE would
-- evaluate randomblob() again wherever a column is used).
rows AS MATERIALIZED (
  SELECT i,
         -- i = 0 is the newest; rows are produced oldest first (ascending
         -- ids fill B-tree pages fully).
         CAST(:now AS INTEGER) - i * CAST(:interval AS INTEGER)
           - ${draw("i", 4)} % (CAST(:interval AS INTEGER) / 2) AS ms,
         i / ${DELIVERY_SIZE} AS delivery,
         lower(hex(randomblob(9))) AS rnd,
         ${draw("i", 1)} % 100 AS r1, ${draw("i", 2)} % 100 AS r2, ${draw("i", 3)} % 100 AS r3
  FROM seq ORDER BY i DESC
),
shaped AS (
  SELECT *, printf('%012x', ms) AS h,
         (delivery * 2654435761) % 4294967296 % CAST(:customers AS INTEGER) AS customer,
         ${TYPE} AS type, ${STATUS} AS status, ${DIRECTION} AS direction
  FROM rows
)
INSERT INTO communications
  (tenant_id, id, customer_id, delivery_id, type, direction, status, content,
   communication_details, created_by, created_at, updated_at, status_event_at)
SELECT :tenant,
       substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-7' || substr(rnd, 1, 3) || '-' ||
         substr('89ab', 1 + abs(random()) % 4, 1) || substr(rnd, 4, 3) || '-' || substr(rnd, 7, 12),
       printf('c0000000-0000-4000-8000-%012x', customer),
       printf('d0000000-0000-4000-8000-%012x', delivery),
       type, direction, status,
       CASE type WHEN 'call' THEN NULL
         ELSE 'Your delivery #' || delivery || ' is on its way and will arrive between 2-4pm today.' END,
       json_object('template_id', 'delivery-' || type,
                   'sender', json_object('system_component', 'delivery_notifications', 'phone', '+15551234567'),
                   'recipient', json_object('name', 'Customer ' || customer, 'phone', printf('+96475%08d', customer)),
                   'template_variables', json_object('delivery_id', CAST(delivery AS TEXT), 'delivery_window', '2-4pm')),
       :user,
       strftime('%Y-%m-%dT%H:%M:%S', ms / 1000, 'unixepoch') || printf('.%03dZ', ms % 1000),
       strftime('%Y-%m-%dT%H:%M:%S', ms / 1000, 'unixepoch') || printf('.%03dZ', ms % 1000),
       CASE status WHEN 'sent' THEN NULL
         ELSE strftime('%Y-%m-%dT%H:%M:%S', ms / 1000, 'unixepoch') || printf('.%03dZ', ms % 1000) END
FROM shaped ORDER BY i DESC`;

/**
 * Seeds `n` communications for BENCH_TENANT into `file` and returns the
 * figures the bench needs (ids to build cursors from, a busy customer).
 */
export function seed(file, n, now = Date.now()) {
  const db = new DatabaseSync(file);
  try {
    db.exec("PRAGMA cache_size = -1000000; PRAGMA synchronous = OFF;");
    const indexes = db
      .prepare(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'communications' AND sql IS NOT NULL",
      )
      .all();
    db.exec("BEGIN");
    for (const { name } of indexes) db.exec(`DROP INDEX ${name}`);
    db.prepare(INSERT).run({
      last: n - 1,
      now,
      interval: Math.floor(86_400_000 / MESSAGES_PER_DAY),
      customers: customersFor(n),
      tenant: BENCH_TENANT,
      user: BENCH_USER,
    });
    for (const { sql } of indexes) db.exec(sql);
    db.exec("COMMIT");
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    const count = db.prepare("SELECT count(*) AS n FROM communications").get().n;
    const totals = db.prepare("SELECT sum(n) AS n FROM communication_totals").get().n;
    const documents = db.prepare("SELECT count(*) AS n FROM communication_search_docs").get().n;
    if (count !== n || totals !== n || documents !== n) {
      throw new Error(`seeded ${count} rows, totals say ${totals}, search documents ${documents}; expected ${n}`);
    }
    const middle = db
      .prepare("SELECT id FROM communications WHERE tenant_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?")
      .get(BENCH_TENANT, Math.floor(n / 2)).id;
    return { middleId: middle, indexes: indexes.map((i) => i.name) };
  } finally {
    db.close();
  }
}
