/**
 * Idempotency-Key: the request's fingerprint, the key record written in the
 * same batch as the communication, and the purge of expired records.
 *
 * Per tenant, a key lives 24 hours. A repeated key with the same body is a
 * replay (the original communication is returned); with another body it is
 * a conflict. An expired key may be reused.
 */
import { and, eq, lte, notInArray, type Placeholder } from "drizzle-orm";
import type { Database } from "../db/client";
import { compiled } from "../db/compiled";
import { idempotencyKeys, type JsonObject, tenantFences } from "../db/schema";
import { hex } from "../lib/uuid";

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

export interface IdempotencyKey {
  key: string;
  requestHash: string;
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return hex(new Uint8Array(digest));
}

/** JSON with object keys sorted, so `{a,b}` and `{b,a}` hash the same. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/**
 * The request as it is stored: the validated body (defaults applied) without
 * its null fields, so that `"delivery_id": null` and no `delivery_id` (both
 * stored as NULL) are the same request. Top level only: nested JSON
 * (communication_details) is stored as given, so a null in it is content.
 */
const normalised = (body: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(body).filter(([, v]) => v !== null && v !== undefined));

/** The key with the fingerprint of the (validated) body it was sent with. */
export const idempotencyKey = async (key: string, body: Record<string, unknown>): Promise<IdempotencyKey> => ({
  key,
  requestHash: await sha256Hex(canonicalJson(normalised(body))),
});

const iso = (ms: number) => new Date(ms).toISOString();

/** The records of one tenant's key. */
const keyMatch = (tenantId: string | Placeholder, key: string | Placeholder) =>
  and(eq(idempotencyKeys.tenant_id, tenantId), eq(idempotencyKeys.key, key));

/** Drops the tenant's record of a key if it has expired. */
const dropExpiredKey = compiled<{ tenant_id: string; key: string; now: string }>((db, slot) =>
  db
    .delete(idempotencyKeys)
    .where(and(keyMatch(slot("tenant_id"), slot("key")), lte(idempotencyKeys.expires_at, slot("now")))),
);

type KeyRecord = typeof idempotencyKeys.$inferInsert;
const insertKey = compiled<KeyRecord>((db, slot) =>
  db.insert(idempotencyKeys).values({
    tenant_id: slot("tenant_id"),
    key: slot("key"),
    request_hash: slot("request_hash"),
    communication: slot("communication"),
    created_at: slot("created_at"),
    expires_at: slot("expires_at"),
  } as unknown as KeyRecord),
);

/**
 * The statements that claim a key, to run in the same batch as the insert
 * they guard: an expired record is dropped first, then the new one inserted
 * (a live record makes the insert fail with a UNIQUE violation).
 */
export function claimKey(db: Database, tenantId: string, idem: IdempotencyKey, stored: JsonObject, now: number) {
  return [
    dropExpiredKey(db, { tenant_id: tenantId, key: idem.key, now: iso(now) }),
    insertKey(db, {
      tenant_id: tenantId,
      key: idem.key,
      request_hash: idem.requestHash,
      communication: stored,
      created_at: iso(now),
      expires_at: iso(now + IDEMPOTENCY_TTL_MS),
    }),
  ];
}

/** Whether a failed batch failed because the key is already claimed. */
export const isKeyConflict = (err: unknown): boolean => {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    if (String((e as Error).message ?? e).includes("UNIQUE constraint failed: idempotency_keys")) return true;
  }
  return false;
};

/** The record of a claimed key. */
export async function readKey(db: Database, tenantId: string, key: string) {
  const [existing] = await db.select().from(idempotencyKeys).where(keyMatch(tenantId, key)).limit(1);
  return existing;
}

/**
 * Deletes idempotency records past their 24 hours (scheduled handler), of
 * every tenant of the shard but one being moved off it: the move's fence
 * would refuse the whole statement, and the move drops that tenant's
 * expired keys itself (src/shards/move.ts). Returns how many went.
 */
export async function purgeExpiredKeys(db: Database, now = Date.now()) {
  const result = await db
    .delete(idempotencyKeys)
    .where(
      and(
        lte(idempotencyKeys.expires_at, iso(now)),
        notInArray(idempotencyKeys.tenant_id, db.select({ tenant_id: tenantFences.tenant_id }).from(tenantFences)),
      ),
    )
    .run();
  return result.meta.changes ?? 0;
}
