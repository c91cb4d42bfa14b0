/**
 * Who may do what (contract.md), as pure rules over a caller: no
 * dependencies, so that the console's client code (src/console/client/)
 * decides which views to offer by the very rules the API enforces.
 * ./principal.ts validates the claims of a verified token first.
 */
import { lowerCaseUuid, NIL_UUID } from "../lib/uuid";

export const PERMISSIONS = {
  viewTenant: "view:tenant",
  manageOperations: "manage:operations:tenant",
} as const;

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

/** The claims a caller is derived from (contract.md, "Access token claims"). */
export interface CallerClaims {
  sub: string;
  tenant_id?: string | null;
  permissions?: readonly string[] | null;
  is_system_admin?: boolean | null;
  role?: string | null;
  customer_id?: string | null;
}

export function toPrincipal(claims: CallerClaims): Principal {
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

/** Reads communications at all: staff the whole tenant, a customer their own (src/communications/access.ts). */
export const mayReadCommunications = (p: Principal) => canReadTenant(p) || isCustomer(p);
