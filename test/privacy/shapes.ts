/** Fixtures of the privacy tests. */

/**
 * Every shape communication_details may take (contract.md: sender, recipient,
 * template_id, template_variables, attachments, and any provider key kept
 * as given), with what redaction must make of it.
 */
export const SHAPES: { name: string; details: Record<string, unknown>; redacted: Record<string, unknown> }[] = [
  { name: "empty", details: {}, redacted: {} },
  {
    name: "sender with every documented key",
    details: {
      sender: {
        user_id: "5d0c1f7e-2b3a-4c4d-8e9f-0a1b2c3d4e5f",
        system_component: "delivery_notifications",
        phone: "+15551234567",
        email: "noreply@shop.example",
      },
    },
    redacted: {
      sender: {
        user_id: "5d0c1f7e-2b3a-4c4d-8e9f-0a1b2c3d4e5f",
        system_component: "delivery_notifications",
        phone: "+1555*****67",
        email: "n***@shop.example",
      },
    },
  },
  {
    name: "recipient with phone, email and name",
    details: { recipient: { phone: "+9647501234567", email: "Customer@Example.com", name: "John Doe" } },
    redacted: { recipient: { phone: "+9647*******67", email: "C***@Example.com", name: "John Doe" } },
  },
  {
    name: "template id and variables",
    details: { template_id: "delivery-on-way", template_variables: { delivery_id: "1234", name: "Ali" } },
    redacted: { template_id: "delivery-on-way" },
  },
  {
    name: "attachments (every documented key, and two of them)",
    details: {
      attachments: [
        { name: "invoice.pdf", type: "application/pdf", url: "https://files.example.com/a.pdf", size: 245678 },
        { url: "https://api.twilio.com/media/ME123", type: "image/jpeg" },
      ],
    },
    redacted: { attachments: [{ name: "invoice.pdf", type: "application/pdf", size: 245678 }, { type: "image/jpeg" }] },
  },
  {
    name: "the seed's full example",
    details: {
      sender: { user_id: "u-1", system_component: "delivery_notifications", phone: "+15551234567" },
      recipient: { phone: "+19876543210", name: "John Doe" },
      template_id: "delivery-on-way",
      template_variables: { delivery_id: "1234", delivery_window: "2-4pm" },
      attachments: [
        { name: "delivery_details.pdf", type: "application/pdf", url: "https://example.com/d.pdf", size: 1 },
      ],
    },
    redacted: {
      sender: { user_id: "u-1", system_component: "delivery_notifications", phone: "+1555*****67" },
      recipient: { phone: "+1987*****10", name: "John Doe" },
      template_id: "delivery-on-way",
      attachments: [{ name: "delivery_details.pdf", type: "application/pdf", size: 1 }],
    },
  },
  {
    name: "provider keys kept as given, with a phone and an email nested in them",
    details: {
      twilio: { account: "AC123", to: "+9647501234567", from: "+15551234567", segments: 2 },
      notes: ["reply sent to alice@example.com", 42, null, true],
      contact: { phone: "0750 123 4567", email: "x@y.example" },
    },
    redacted: {
      twilio: { account: "AC123", to: "+9647*******67", from: "+1555*****67", segments: 2 },
      notes: ["reply sent to a***@example.com", 42, null, true],
      contact: { phone: "0750*****67", email: "x***@y.example" },
    },
  },
  {
    name: "an inbound message from Twilio (sender and recipient phones, media)",
    details: {
      sender: { phone: "+9647501234567" },
      recipient: { phone: "+15551234567" },
      attachments: [
        { url: "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1", type: "image/png" },
      ],
    },
    redacted: {
      sender: { phone: "+9647*******67" },
      recipient: { phone: "+1555*****67" },
      attachments: [{ type: "image/png" }],
    },
  },
];
