/**
 * What a verified webhook call carries, turned into queue messages: the
 * payload schemas (Zod: validation, types and OpenAPI), the status mapping
 * table of ../shared/spec/webhooks.md, and one normaliser per provider.
 * Every message names its tenant (the consumer picks the database by it).
 */
import { z } from "@hono/zod-openapi";
import { CommunicationDetails, CreateBody, withinJsonDepth } from "../communications/schemas";
import { type CommunicationType, type JsonObject, STATUSES, type Status } from "../db/schema";
import { UUID } from "../lib/uuid";

/** Provider status → ours. A value not listed is recorded as an event without changing the status. */
export const STATUS_MAP = {
  twilio_message: {
    sent: "sent",
    delivered: "delivered",
    read: "read",
    undelivered: "failed",
    failed: "failed",
    canceled: "failed",
  },
  twilio_call: { completed: "delivered", busy: "failed", "no-answer": "failed", failed: "failed", canceled: "failed" },
  sendgrid: { delivered: "delivered", open: "read", click: "read", bounce: "failed", dropped: "failed" },
} as const satisfies Record<string, Record<string, Status>>;

const mapStatus = (table: Record<string, Status>, value: string): Status | null =>
  Object.hasOwn(table, value) ? (table[value] ?? null) : null;

/** An inbound communication to create (customer attributed by the consumer when absent). */
export interface InboundCommunication {
  type: CommunicationType;
  customer_id?: string;
  delivery_id?: string | null;
  content: string | null;
  communication_details: JsonObject;
  provider: string;
  provider_message_id: string;
  /** Initial status: a received message is delivered; a call starts as sent and follows its callbacks. */
  status?: Status;
}

export interface StatusMessage {
  kind: "status";
  tenant_id: string;
  /** The communication: by our id, or by the provider's (provider may be absent on the `standard` route). */
  communication_id?: string;
  provider?: string;
  provider_message_id?: string;
  /** Ours, or null for a provider value the mapping table does not list. */
  status: Status | null;
  provider_status: string;
  occurred_at: string;
  /** Identifies this provider event: redeliveries carry the same key and change nothing. */
  event_key: string;
  details: JsonObject;
  /** Twilio: an unknown CallSid with Direction inbound creates this call first. */
  inbound?: InboundCommunication;
}

export interface InboundMessage {
  kind: "inbound";
  tenant_id: string;
  communication: InboundCommunication;
}

/** "A communication with this provider id now exists: apply the events kept for it." */
export interface DrainMessage {
  kind: "drain";
  tenant_id: string;
  provider: string;
  provider_message_id: string;
}

export type WebhookMessage = StatusMessage | InboundMessage | DrainMessage;

/** Several events of one tenant in one queue message (src/webhooks/queue.ts), applied in order. */
export interface EventGroup {
  kind: "group";
  tenant_id: string;
  events: WebhookMessage[];
}

/** An event too large for a queue message: its JSON is in R2 under `key` (the ARCHIVE bucket). */
export interface StoredEvent {
  kind: "stored";
  tenant_id: string;
  key: string;
  /** Size of the stored JSON, for the logs. */
  bytes: number;
}

/** What a webhook queue message carries: one event (also what earlier versions sent), a group, or an R2 key. */
export type QueueBody = WebhookMessage | EventGroup | StoredEvent;

const text = (max: number) => z.string().max(max);
const iso = (ms: number) => new Date(ms).toISOString();

// --- Twilio ----------------------------------------------------------------

/** The form fields read (Twilio sends many more; all are signed, none required by shape). */
export const TwilioForm = z
  .looseObject({
    MessageSid: text(64).optional(),
    MessageStatus: text(32).optional(),
    SmsStatus: text(32).optional(),
    CallSid: text(64).optional(),
    CallStatus: text(32).optional(),
    Direction: text(32).optional(),
    From: text(128).optional(),
    To: text(128).optional(),
    Body: text(10_000).optional(),
    CallDuration: text(16).optional(),
    ErrorCode: text(16).optional(),
    Timestamp: text(64).optional(),
  })
  .openapi("TwilioWebhook", {
    description:
      "application/x-www-form-urlencoded, as Twilio posts it: a message status callback (MessageSid, MessageStatus), an inbound message (MessageSid, From, To, Body), or a call status callback (CallSid, CallStatus, Direction, From, To, CallDuration).",
    example: { MessageSid: "SM0123456789abcdef0123456789abcdef", MessageStatus: "delivered", To: "+19876543210" },
  });
export type TwilioForm = z.infer<typeof TwilioForm>;

/** Twilio's addresses: "whatsapp:+1555..." keeps its channel prefix off the stored address. */
const phone = (value: string | undefined) => value?.replace(/^(whatsapp|messenger|sms):/i, "");

export function fromTwilio(tenantId: string, form: TwilioForm, receivedAt: number): WebhookMessage[] {
  const pick = (key: string) => (typeof form[key] === "string" ? (form[key] as string) : undefined);
  const errorCode = pick("ErrorCode");
  if (form.CallSid && form.CallStatus) {
    const parsed = form.Timestamp ? Date.parse(form.Timestamp) : Number.NaN;
    const details: JsonObject = { provider: "twilio", provider_status: form.CallStatus, direction: form.Direction };
    if (form.CallDuration) details.call_duration = form.CallDuration;
    if (errorCode) details.error_code = errorCode;
    const callDetails: JsonObject = {
      sender: { phone: phone(form.From) },
      recipient: { phone: phone(form.To) },
      ...(form.CallDuration ? { call_duration: form.CallDuration } : {}),
    };
    return [
      {
        kind: "status",
        tenant_id: tenantId,
        provider: "twilio",
        provider_message_id: form.CallSid,
        status: mapStatus(STATUS_MAP.twilio_call, form.CallStatus),
        provider_status: form.CallStatus,
        occurred_at: iso(Number.isNaN(parsed) ? receivedAt : parsed),
        event_key: `twilio:${form.CallSid}:${form.CallStatus}`,
        details,
        ...(form.Direction === "inbound" && form.From
          ? {
              inbound: {
                type: "call" as const,
                status: "sent" as const,
                content: null,
                communication_details: callDetails,
                provider: "twilio",
                provider_message_id: form.CallSid,
              },
            }
          : {}),
      },
    ];
  }
  const messageStatus = form.MessageStatus ?? form.SmsStatus;
  if (form.MessageSid && messageStatus && messageStatus !== "received") {
    const details: JsonObject = { provider: "twilio", provider_status: messageStatus };
    if (errorCode) details.error_code = errorCode;
    return [
      {
        kind: "status",
        tenant_id: tenantId,
        provider: "twilio",
        provider_message_id: form.MessageSid,
        status: mapStatus(STATUS_MAP.twilio_message, messageStatus),
        provider_status: messageStatus,
        // Twilio's message callbacks carry no event time: the time we received it.
        occurred_at: iso(receivedAt),
        event_key: `twilio:${form.MessageSid}:${messageStatus}`,
        details,
      },
    ];
  }
  if (form.MessageSid && form.From) {
    const numMedia = Number(pick("NumMedia") ?? 0);
    const attachments = Array.from({ length: Math.min(Number.isFinite(numMedia) ? numMedia : 0, 10) }, (_, i) => ({
      url: pick(`MediaUrl${i}`),
      type: pick(`MediaContentType${i}`),
    })).filter((a) => a.url);
    return [
      {
        kind: "inbound",
        tenant_id: tenantId,
        communication: {
          type: "sms",
          content: form.Body ?? null,
          communication_details: {
            sender: { phone: phone(form.From) },
            recipient: { phone: phone(form.To) },
            ...(attachments.length ? { attachments } : {}),
          },
          provider: "twilio",
          provider_message_id: form.MessageSid,
        },
      },
    ];
  }
  return [];
}

// --- SendGrid --------------------------------------------------------------

/** SendGrid posts at most about 1,000 events (768 KiB) per call. */
export const MAX_SENDGRID_EVENTS = 5_000;

export const SendgridEvent = z
  .looseObject({
    event: text(64),
    timestamp: z.number().int().min(0).max(1e11).openapi({ format: "int64" }),
    sg_event_id: text(255).optional(),
    sg_message_id: text(255).optional(),
    email: text(320).optional(),
    communication_id: text(64).optional().openapi({ description: "Custom arg given at send time (our id)." }),
    reason: text(2_000).optional(),
  })
  .openapi("SendgridEvent");

export const SendgridBody = z
  .array(SendgridEvent)
  .max(MAX_SENDGRID_EVENTS)
  .openapi("SendgridWebhook", {
    example: [
      {
        email: "john@example.com",
        timestamp: 1796141000,
        event: "delivered",
        sg_event_id: "ZGVsaXZlcmVkLTAtMjk",
        sg_message_id: "LRzXl66cTQ6PN6-DpxwDOw.filterdrecv-5645d9c87f-6r9lz-1-62E6B2E5-45.0",
      },
    ],
  });

export function fromSendgrid(tenantId: string, events: z.infer<typeof SendgridBody>): WebhookMessage[] {
  const out: WebhookMessage[] = [];
  for (const e of events) {
    const communicationId =
      e.communication_id && UUID.test(e.communication_id) ? e.communication_id.toLowerCase() : undefined;
    // sg_message_id is the send's X-Message-Id, a "." and the delivery path;
    // senders store either, so the consumer matches both (src/webhooks/provider-ids.ts).
    const messageId = e.sg_message_id || undefined;
    if (!communicationId && !messageId) continue;
    const details: JsonObject = { provider: "sendgrid", provider_status: e.event };
    if (e.sg_event_id) details.sg_event_id = e.sg_event_id;
    if (e.reason) details.reason = e.reason;
    out.push({
      kind: "status",
      tenant_id: tenantId,
      ...(communicationId
        ? { communication_id: communicationId }
        : { provider: "sendgrid", provider_message_id: messageId }),
      status: mapStatus(STATUS_MAP.sendgrid, e.event),
      provider_status: e.event,
      occurred_at: iso(e.timestamp * 1000),
      event_key: `sendgrid:${e.sg_event_id ?? `${e.sg_message_id}:${e.event}:${e.timestamp}`}`,
      details,
    });
  }
  return out;
}

// --- Standard Webhooks -----------------------------------------------------

const providerName = z
  .string()
  .max(32)
  .regex(/^[a-z0-9_-]{1,32}$/)
  .openapi({ description: "Lower-case provider name.", example: "twilio" });

const StandardStatus = z
  .object({
    type: z.literal("communication.status"),
    timestamp: z.string().max(64).optional(),
    data: z
      .strictObject({
        communication_id: z.uuid().openapi({ maxLength: 36 }).optional(),
        provider: providerName.optional(),
        provider_message_id: z.string().min(1).max(255).optional(),
        status: z.union([z.enum(STATUSES), z.string().min(1).max(64)]).openapi({
          description:
            "One of ours (sent, delivered, read, failed) changes the status; anything else is recorded only.",
        }),
        occurred_at: z.iso.datetime({ offset: true }).openapi({ maxLength: 64 }),
        details: z.record(z.string(), z.unknown()).refine(withinJsonDepth).optional(),
      })
      .refine((d) => d.communication_id || d.provider_message_id, {
        message: "communication_id or provider_message_id is required",
        path: ["communication_id"],
      })
      // The refine above, stated for validators and generated clients.
      .openapi({ anyOf: [{ required: ["communication_id"] }, { required: ["provider_message_id"] }] }),
  })
  .openapi("StandardStatusEvent");

const StandardInbound = z
  .object({
    type: z.literal("communication.inbound"),
    timestamp: z.string().max(64).optional(),
    // A create body (webhooks.md): `direction` may be given, and must be inbound.
    // A new object from the create body's fields, not CreateBody.extend():
    // extending the registered schema would be documented as an allOf with
    // CreateCommunication, whose required customer_id and provider rule do
    // not hold here (a provider_message_id alone names the "standard" provider).
    data: z.strictObject({
      ...CreateBody.shape,
      customer_id: CreateBody.shape.customer_id.optional().openapi({
        description: "Absent: the customer of the tenant's latest communication with the sender's address.",
      }),
      communication_details: CommunicationDetails.default({}),
      direction: z.literal("inbound").optional().openapi({ description: "Only `inbound` here (the default)." }),
      status: z.enum(STATUSES).optional().openapi({ description: "Initial status; default `delivered`." }),
    }),
  })
  .openapi("StandardInboundEvent");

export const StandardBody = z.discriminatedUnion("type", [StandardStatus, StandardInbound]).openapi("StandardWebhook", {
  example: {
    type: "communication.status",
    timestamp: "2026-11-28T14:03:11Z",
    data: { provider_message_id: "SM0123456789abcdef", status: "delivered", occurred_at: "2026-11-28T14:03:11Z" },
  },
});

export function fromStandard(
  tenantId: string,
  webhookId: string,
  body: z.infer<typeof StandardBody>,
): WebhookMessage[] {
  if (body.type === "communication.status") {
    const d = body.data;
    const status = (STATUSES as readonly string[]).includes(d.status) ? (d.status as Status) : null;
    return [
      {
        kind: "status",
        tenant_id: tenantId,
        ...(d.communication_id
          ? { communication_id: d.communication_id.toLowerCase() }
          : { provider: d.provider, provider_message_id: d.provider_message_id }),
        status,
        provider_status: d.status,
        occurred_at: new Date(d.occurred_at).toISOString(),
        event_key: `standard:${webhookId}`,
        details: { ...(d.details ?? {}), provider: d.provider ?? "standard", provider_status: d.status },
      },
    ];
  }
  const {
    provider,
    provider_message_id,
    direction: _inbound,
    ...rest
  } = body.data as typeof body.data & {
    provider?: string;
    provider_message_id?: string;
  };
  return [
    {
      kind: "inbound",
      tenant_id: tenantId,
      communication: {
        ...rest,
        content: rest.content ?? null,
        communication_details: rest.communication_details as JsonObject,
        // Without a provider id, the webhook id makes redeliveries land on the same row.
        provider: provider_message_id ? (provider ?? "standard") : "standard",
        provider_message_id: provider_message_id ?? webhookId,
      },
    },
  ];
}
