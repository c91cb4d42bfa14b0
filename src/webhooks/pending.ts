/**
 * Status events that arrived before their communication: the create side
 * (queue a drain when its insert found kept events) and the hourly cron
 * (purge old ones; queue a drain for every group still kept, which covers a
 * create whose drain message could not be queued).
 */
import type { Communication } from "../communications/schemas";
import type { Database } from "../db/client";
import { log } from "../lib/logger";
import { enqueue } from "./queue";
import { pendingGroups, purgeExpiredPending } from "./store";

export async function queuePendingEvents(env: Env, requestId: string, communication: Communication) {
  if (!communication.provider || !communication.provider_message_id) return;
  try {
    await enqueue(env, [
      {
        kind: "drain",
        tenant_id: communication.tenant_id,
        provider: communication.provider,
        provider_message_id: communication.provider_message_id,
      },
    ]);
  } catch (err) {
    // The communication is stored; the hourly cron queues this drain again.
    log.error("drain of pending provider events not queued", { request_id: requestId, error: String(err) });
  }
}

export async function sweepPending(env: Env, db: Database) {
  const purged = await purgeExpiredPending(db);
  const groups = await pendingGroups(db);
  await enqueue(
    env,
    groups.map((g) => ({ kind: "drain" as const, ...g })),
  );
  return { purged, queued: groups.length };
}
