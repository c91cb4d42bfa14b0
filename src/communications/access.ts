/**
 * "Who may do what" (contract.md) for the communications routes. Route
 * middleware checks the caller's kind before any input is validated (a
 * driver calling create gets 403 whatever it sends); handlers then turn the
 * validated tenant/customer parameters into the `Scope` every query runs in.
 */
import { canManage, canReadTenant, isCustomer, mayReadCommunications, type Principal } from "../auth/permissions";
import { badRequest, forbidden } from "../lib/errors";
import type { Scope } from "./store";

export const mayRead = mayReadCommunications;
export const mayManage = canManage;

/**
 * The tenant comes from the token. A different `tenant_id` is refused unless
 * the caller is a system administrator, who must name one (their token has
 * no tenant).
 */
export function resolveTenant(p: Principal, requested: string | undefined): string {
  if (p.isSystemAdmin) {
    const tenantId = requested ?? p.tenantId;
    if (!tenantId) throw badRequest([{ field: "tenant_id", message: "field_tenant_required" }]);
    return tenantId;
  }
  if (!p.tenantId) throw forbidden("no_tenant");
  if (requested !== undefined && requested !== p.tenantId) throw forbidden("tenant_mismatch");
  return p.tenantId;
}

/** Reads: the whole tenant for staff with a read permission, else the customer's own rows. */
export function readScope(p: Principal, query: { tenant_id?: string; customer_id?: string }): Scope {
  const tenantId = resolveTenant(p, query.tenant_id);
  if (canReadTenant(p)) return { tenantId };
  if (!isCustomer(p)) throw forbidden();
  if (query.customer_id !== undefined && query.customer_id !== p.customerId) throw forbidden("customer_mismatch");
  return { tenantId, ownCustomerId: p.customerId };
}

/** Writes: system administrators and holders of manage:operations:tenant. */
export function manageScope(p: Principal, query: { tenant_id?: string }): Scope {
  if (!canManage(p)) throw forbidden();
  return { tenantId: resolveTenant(p, query.tenant_id) };
}
