/**
 * Who is calling, derived once from verified token claims, and the
 * permission vocabulary of contract.md ("Who may do what").
 */
import { z } from "zod";
import { lowerCaseUuid, NIL_UUID } from "../lib/uuid";

export const PERMISSIONS = {
  viewTenant: "view:tenant",
  manageOperations: "manage:operations:tenant",
} as const;

/** The claims this service reads (contract.md, "Access token claims"). Others are ignored. */
export const Claims = z.object({
  sub: z.string().min(1).max(255),
  tenant_id: z.uuid().overwrite(lowerCaseUuid).nullish(),
  permissions: z.array(z.string().max(255)).max(500).nullish(),
  is_system_admin: z.boolean().nullish(),
  role: z.string().max(255).nullish(),
  customer_id: z.string().min(1).max(255).nullish(),
});
export type Claims = z.infer<typeof Claims>;

export interface Principal {
  userId: string;
  tenantId: string | null;
  isSystemAdmin: boolean;
  permissions: ReadonlySet<string>;
  role: string | null;
  /** The customer record of a customer user: `customer_id`, else `sub`. */
  customerId: string;
  /**
   * When the credential stops being valid (ms since the epoch): the token's
   * `exp`. A live stream ends then (src/stream).
   */
  expiresAt?: number;
}

export function toPrincipal(claims: Claims): Principal {
  return {
    userId: claims.sub,
    tenantId: claims.tenant_id ?? null,
    isSystemAdmin: claims.is_system_admin === true,
    permissions: new Set(claims.permissions ?? []),
    role: claims.role?.trim() ? claims.role : null,
    // Customer ids that are UUIDs compare in lower case, as stored; other ids as given.
    customerId: lowerCaseUuid(claims.customer_id ?? claims.sub),
  };
}

/** Reads every communication of the tenant. */
export const canReadTenant = (p: Principal) =>
  p.isSystemAdmin || p.permissions.has(PERMISSIONS.viewTenant) || p.permissions.has(PERMISSIONS.manageOperations);

/** Creates communications and applies provider status updates. */
export const canManage = (p: Principal) => p.isSystemAdmin || p.permissions.has(PERMISSIONS.manageOperations);

/**
 * A customer: no role and no admin permission. Reads only their own
 * communications. The nil UUID is nobody's customer id (it marks inbound
 * messages from unknown senders): a token naming it is no customer's.
 */
export const isCustomer = (p: Principal) => !canReadTenant(p) && p.role === null && p.customerId !== NIL_UUID;
