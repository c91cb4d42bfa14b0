/**
 * Per-tenant settings (`GET`/`PUT /settings`) and the redaction job's state,
 * in tenant_settings: one row per name (migrations/0008_privacy.sql). The
 * table moves with its tenant.
 */
import { and, eq, inArray, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Database } from "../db/client";
import { tenantSettings } from "../db/schema";

export const SETTING = {
  /** Days after which content is redacted by the scheduled job; null keeps it. */
  redactAfterDays: "redact_after_days",
  /** Every communication with a smaller id is redacted (the job's watermark). */
  redactedThrough: "redaction.through",
  /** Last archived day (YYYY-MM-DD) whose lines the job redacted in R2. */
  archiveRedactedThrough: "redaction.archive_through",
  /** Rows redacted by job runs whose audit entry is not written yet. */
  unaudited: "redaction.unaudited",
} as const;

export const MIN_REDACT_DAYS = 1;
export const MAX_REDACT_DAYS = 3650;

export interface Settings {
  redact_after_days: number | null;
  updated_at: string | null;
}

const setting = (tenantId: string, name: string) =>
  and(eq(tenantSettings.tenant_id, tenantId), eq(tenantSettings.name, name));

export async function readSettings(db: Database, tenantId: string): Promise<Settings> {
  const [row] = await db.select().from(tenantSettings).where(setting(tenantId, SETTING.redactAfterDays)).limit(1);
  const days = row?.value;
  return { redact_after_days: typeof days === "number" ? days : null, updated_at: row?.updated_at ?? null };
}

/** The state rows of the redaction job for one tenant. */
export async function readJobState(db: Database, tenantId: string) {
  const rows = await db
    .select()
    .from(tenantSettings)
    .where(
      and(
        eq(tenantSettings.tenant_id, tenantId),
        inArray(tenantSettings.name, [SETTING.redactedThrough, SETTING.archiveRedactedThrough]),
      ),
    );
  const value = (name: string) => rows.find((r) => r.name === name)?.value;
  const through = value(SETTING.redactedThrough);
  const archiveThrough = value(SETTING.archiveRedactedThrough);
  return {
    through: typeof through === "string" ? through : undefined,
    archiveThrough: typeof archiveThrough === "string" ? archiveThrough : undefined,
  };
}

/** Writes one setting or state value (a statement for the caller's batch). */
export function putSetting(db: Database, tenantId: string, name: string, value: unknown, now = new Date()) {
  return db
    .insert(tenantSettings)
    .values({ tenant_id: tenantId, name, value, updated_at: now.toISOString() })
    .onConflictDoUpdate({
      target: [tenantSettings.tenant_id, tenantSettings.name],
      set: { value: sql`excluded.value`, updated_at: sql`excluded.updated_at` },
    });
}

/** The value of a setting as SQL, for statements that read it inside the caller's batch. */
export const settingValue = (tenantId: string, name: string) =>
  sql`(SELECT ${tenantSettings.value} FROM ${tenantSettings} WHERE ${tenantSettings.tenant_id} = ${tenantId} AND ${tenantSettings.name} = ${name})`;

/** Every tenant of a shard with redaction on, and its days (the job's list: a scan of a small table). */
export async function tenantsWithRedaction(db: Database) {
  const rows = await db
    .select({ tenant_id: tenantSettings.tenant_id, value: tenantSettings.value })
    .from(tenantSettings)
    .where(eq(tenantSettings.name, SETTING.redactAfterDays));
  return rows.flatMap((r) => (typeof r.value === "number" ? [{ tenantId: r.tenant_id, days: r.value }] : []));
}

/** Sets redact_after_days, with its audit entry (first in the batch: it reads the previous value). */
export async function updateRedactAfterDays(
  db: Database,
  tenantId: string,
  days: number | null,
  audit: BatchItem<"sqlite">,
): Promise<Settings> {
  const now = new Date();
  await db.batch([audit, putSetting(db, tenantId, SETTING.redactAfterDays, days, now)]);
  return { redact_after_days: days, updated_at: now.toISOString() };
}
