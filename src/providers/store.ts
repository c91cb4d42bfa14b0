/**
 * provider_connections: one row per (tenant, provider), the secret sealed
 * by src/providers/secrets.ts. Every query names the store's tenant.
 */
import { and, asc, eq } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Database } from "../db/client";
import { type Provider, providerConnections } from "../db/schema";

export class ProviderConnectionStore {
  constructor(
    private readonly db: Database,
    readonly tenantId: string,
  ) {}

  private match(provider: Provider) {
    return and(eq(providerConnections.tenant_id, this.tenantId), eq(providerConnections.provider, provider));
  }

  /**
   * Creates or replaces; created_at survives a replace. `audit` (the
   * action's audit entry, src/audit/store.ts) is written in the same batch.
   */
  async put(provider: Provider, sealedSecret: string, audit: BatchItem<"sqlite">) {
    const now = new Date().toISOString();
    const [[row]] = await this.db.batch([
      this.db
        .insert(providerConnections)
        .values({ tenant_id: this.tenantId, provider, secret: sealedSecret, created_at: now, updated_at: now })
        .onConflictDoUpdate({
          target: [providerConnections.tenant_id, providerConnections.provider],
          set: { secret: sealedSecret, updated_at: now },
        })
        .returning(),
      audit,
    ]);
    if (!row) throw new Error("upsert returned no row");
    return row;
  }

  async get(provider: Provider) {
    const [row] = await this.db.select().from(providerConnections).where(this.match(provider)).limit(1);
    return row;
  }

  list() {
    return this.db
      .select()
      .from(providerConnections)
      .where(eq(providerConnections.tenant_id, this.tenantId))
      .orderBy(asc(providerConnections.provider))
      .limit(10);
  }

  /**
   * Deletes the connection; `audit` is its entry, built to be written only
   * if the delete changed a row (`changes() = 1`), in the same batch.
   */
  async delete(provider: Provider, audit: BatchItem<"sqlite">): Promise<boolean> {
    const [deleted] = await this.db.batch([
      this.db
        .delete(providerConnections)
        .where(this.match(provider))
        .returning({ provider: providerConnections.provider }),
      audit,
    ]);
    return deleted.length > 0;
  }
}
