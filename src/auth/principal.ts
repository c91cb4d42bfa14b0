/**
 * Who is calling, derived once from verified token claims; the permission
 * rules themselves are in ./permissions.ts.
 */
import { z } from "zod";
import { lowerCaseUuid } from "../lib/uuid";

export { canManage, canReadTenant, isCustomer, PERMISSIONS, type Principal, toPrincipal } from "./permissions";

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
