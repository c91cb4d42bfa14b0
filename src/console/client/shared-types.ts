/**
 * The API's shapes as the console reads them: types only, inferred from the
 * Zod schemas that validate and document the API (nothing of Zod reaches
 * the browser).
 */
import type { z } from "zod";
import type {
  Communication as CommunicationSchema,
  CommunicationEvent as EventSchema,
  ListResponse,
} from "../../communications/schemas";
import type { AuditAction, ErasureStatus, Provider } from "../../db/schema";
import type {
  Delivery as DeliverySchema,
  SubscriptionDetail as SubscriptionDetailSchema,
  Subscription as SubscriptionSchema,
  SubscriptionWithSecret as SubscriptionWithSecretSchema,
} from "../../subscriptions/schemas";

export type Communication = z.infer<typeof CommunicationSchema>;
export type CommunicationEvent = z.infer<typeof EventSchema>;
export type CommunicationPage = z.infer<typeof ListResponse>;
/**
 * A provider connection as the API returns it (src/providers/routes.ts,
 * `Connection`). Written out because that module's imports reach the Worker's
 * own globals; test/console/console.test.ts checks at compile time that the
 * two types are the same.
 */
export interface Connection {
  provider: Provider;
  webhook_url: string;
  created_at: string;
  updated_at: string;
}

/** An unmatched provider event as GET .../providers/unmatched returns it (src/webhooks/unmatched.ts; checked like Connection). */
export interface UnmatchedEvent {
  provider: string | null;
  provider_message_id: string;
  status: "sent" | "delivered" | "read" | "failed" | null;
  provider_status: string;
  occurred_at: string;
  received_at: string;
  expires_at: string;
}

export type Subscription = z.infer<typeof SubscriptionSchema>;
export type SubscriptionWithSecret = z.infer<typeof SubscriptionWithSecretSchema>;
export type SubscriptionDetail = z.infer<typeof SubscriptionDetailSchema>;
export type Delivery = z.infer<typeof DeliverySchema>;
/** An erasure and the privacy settings (src/privacy/schemas.ts; written out and checked like AuditEntry). */
export interface Erasure {
  id: string;
  customer_id: string;
  reference: string | null;
  status: ErasureStatus;
  erased: { communications: number; events: number; archived_days: number };
  requested_by: string;
  created_at: string;
  finished_at: string | null;
}
export interface PrivacySettings {
  redact_after_days: number | null;
  updated_at: string | null;
}
/**
 * An audit log entry (src/audit/schemas.ts, `AuditEntry`). Written out because
 * that module's imports reach the Worker's own globals; checked like Connection.
 */
export interface AuditEntry {
  id: string;
  action: AuditAction;
  actor: { sub: string; role: string | null; is_system_admin: boolean };
  target: { kind: string; id: string };
  details: Record<string, unknown>;
  request_id: string;
  created_at: string;
}
