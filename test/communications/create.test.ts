/**
 * POST /delivery/customer-communications: the stored row, defaults,
 * validation of every field, unknown and server-owned fields rejected, and
 * nothing written by a request that fails.
 */
import { describe, expect, it } from "vitest";
import { call, callers, communicationBody, newTenant, signToken } from "../support/helpers";

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

async function countIn(tenant: string) {
  const res = await call("?limit=100", { token: await callers(tenant).viewer() });
  return res.json.total as number;
}

describe("a valid create", () => {
  it("answers 201 with the envelope and the stored communication", async () => {
    const tenant = newTenant();
    const sub = crypto.randomUUID();
    const token = await signToken({
      sub,
      tenant_id: tenant,
      role: "dispatcher",
      permissions: ["manage:operations:tenant"],
    });
    const body = communicationBody({
      communication_details: {
        ...communicationBody().communication_details,
        attachments: [
          {
            name: "delivery_details.pdf",
            type: "application/pdf",
            url: "https://example.com/attachments/delivery_details.pdf",
            size: 245678,
          },
        ],
        provider: { name: "twilio", message_sid: "SM123" },
      },
    });
    const res = await call("", { method: "POST", token, body });
    expect(res.status, res.text).toBe(201);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.json).toEqual({
      success: true,
      message: "Customer communication created successfully",
      communication: {
        id: expect.stringMatching(UUID_V7),
        tenant_id: tenant,
        customer_id: body.customer_id,
        delivery_id: body.delivery_id,
        type: "sms",
        direction: "outbound",
        status: "sent",
        content: body.content,
        communication_details: body.communication_details,
        provider: null,
        provider_message_id: null,
        created_by: sub,
        created_at: expect.stringMatching(ISO_UTC),
        updated_at: expect.stringMatching(ISO_UTC),
        redacted_at: null,
      },
    });
    const created = res.json.communication;
    expect(created.updated_at).toBe(created.created_at);

    const listed = await call("", { token: await callers(tenant).viewer() });
    expect(listed.json.communications).toEqual([created]);
  });

  it("applies the defaults: outbound, sent, no delivery, no content, empty details", async () => {
    const tenant = newTenant();
    const customer = crypto.randomUUID();
    const res = await call("", {
      method: "POST",
      token: await callers(tenant).admin(),
      body: { customer_id: customer, type: "call" },
    });
    expect(res.status, res.text).toBe(201);
    expect(res.json.communication).toMatchObject({
      customer_id: customer,
      delivery_id: null,
      type: "call",
      direction: "outbound",
      status: "sent",
      content: null,
      communication_details: {},
    });
  });

  it.each([
    ["every type", "type", ["sms", "email", "push_notification", "call"]],
    ["every direction", "direction", ["outbound", "inbound"]],
    ["every status", "status", ["sent", "delivered", "failed", "read"]],
  ])("accepts %s", async (_name, field, values) => {
    const token = await callers(newTenant()).admin();
    for (const value of values) {
      const res = await call("", { method: "POST", token, body: communicationBody({ [field]: value }) });
      expect(res.status, res.text).toBe(201);
      expect(res.json.communication[field]).toBe(value);
    }
  });

  it("accepts delivery_id null and content null", async () => {
    const res = await call("", {
      method: "POST",
      token: await callers(newTenant()).admin(),
      body: communicationBody({ delivery_id: null, content: null }),
    });
    expect(res.status, res.text).toBe(201);
    expect(res.json.communication).toMatchObject({ delivery_id: null, content: null });
  });

  it("gives each create its own id, newer ids sorting later", async () => {
    const token = await callers(newTenant()).admin();
    const first = await call("", { method: "POST", token, body: communicationBody() });
    const second = await call("", { method: "POST", token, body: communicationBody() });
    expect(second.json.communication.id > first.json.communication.id).toBe(true);
  });
});

describe("fields the caller may not send", () => {
  it.each([
    ["id", crypto.randomUUID()],
    ["tenant_id", crypto.randomUUID()],
    ["created_by", "someone-else"],
    ["created_at", "2020-01-01T00:00:00Z"],
    ["updated_at", "2020-01-01T00:00:00Z"],
    ["status_event_at", "2020-01-01T00:00:00Z"],
    ["customerId", crypto.randomUUID()],
    ["priority", "high"],
  ])("%s: 400 naming it, nothing written", async (field, value) => {
    const tenant = newTenant();
    const res = await call("", {
      method: "POST",
      token: await callers(tenant).admin(),
      body: { ...communicationBody(), [field]: value },
    });
    expect(res.status).toBe(400);
    expect(res.json).toEqual({
      success: false,
      message: "Invalid request parameters",
      errors: [{ field, message: `${field} is not an accepted field` }],
    });
    expect(await countIn(tenant)).toBe(0);
  });

  it("server-owned fields come from the server, whatever else is sent", async () => {
    const tenant = newTenant();
    const sub = crypto.randomUUID();
    const token = await signToken({ sub, tenant_id: tenant, permissions: ["manage:operations:tenant"], role: "ops" });
    // Provider keys inside communication_details are kept, but are only data.
    const body = communicationBody({
      communication_details: { id: "x", tenant_id: newTenant(), created_by: "x", created_at: "2020-01-01T00:00:00Z" },
    });
    const res = await call("", { method: "POST", token, body });
    expect(res.status, res.text).toBe(201);
    const c = res.json.communication;
    expect(c.tenant_id).toBe(tenant);
    expect(c.created_by).toBe(sub);
    expect(c.id).not.toBe("x");
    expect(c.created_at).not.toBe("2020-01-01T00:00:00Z");
    expect(c.communication_details).toEqual(body.communication_details);
  });
});

describe("invalid bodies", () => {
  const base = () => communicationBody();
  const details = (extra: Record<string, unknown>) => ({
    communication_details: { ...base().communication_details, ...extra },
  });
  const attachment = (extra: Record<string, unknown>) =>
    details({ attachments: [{ name: "a.pdf", url: "https://example.com/a.pdf", size: 1, ...extra }] });

  it.each<[string, Record<string, unknown>, string[]]>([
    ["customer_id missing", { customer_id: undefined }, ["customer_id"]],
    ["type missing", { type: undefined }, ["type"]],
    ["customer_id and type missing", { customer_id: undefined, type: undefined }, ["customer_id", "type"]],
    ["customer_id not a UUID", { customer_id: "uuid" }, ["customer_id"]],
    ["customer_id a number", { customer_id: 42 }, ["customer_id"]],
    ["customer_id null", { customer_id: null }, ["customer_id"]],
    ["delivery_id not a UUID", { delivery_id: "1234" }, ["delivery_id"]],
    ["delivery_id empty", { delivery_id: "" }, ["delivery_id"]],
    ["type unknown", { type: "fax" }, ["type"]],
    ["type in capitals", { type: "SMS" }, ["type"]],
    ["direction unknown", { direction: "sideways" }, ["direction"]],
    ["status unknown", { status: "pending" }, ["status"]],
    ["content a number", { content: 5 }, ["content"]],
    ["content too long", { content: "x".repeat(100_001) }, ["content"]],
    ["communication_details a string", { communication_details: "{}" }, ["communication_details"]],
    ["communication_details an array", { communication_details: [] }, ["communication_details"]],
    ["sender not an object", details({ sender: "ops" }), ["communication_details.sender"]],
    [
      "recipient phone a number",
      details({ recipient: { phone: 15551234567 } }),
      ["communication_details.recipient.phone"],
    ],
    [
      "template_variables an array",
      details({ template_variables: ["a"] }),
      ["communication_details.template_variables"],
    ],
    ["attachments an object", details({ attachments: {} }), ["communication_details.attachments"]],
    ["attachment url ftp", attachment({ url: "ftp://example.com/a.pdf" }), ["communication_details.attachments.0.url"]],
    [
      "attachment url javascript",
      attachment({ url: "javascript:alert(1)" }),
      ["communication_details.attachments.0.url"],
    ],
    ["attachment url missing", attachment({ url: undefined }), ["communication_details.attachments.0.url"]],
    ["attachment size negative", attachment({ size: -1 }), ["communication_details.attachments.0.size"]],
    ["attachment size fractional", attachment({ size: 1.5 }), ["communication_details.attachments.0.size"]],
    ["attachment size a string", attachment({ size: "245678" }), ["communication_details.attachments.0.size"]],
  ])("%s: 400 naming %j, nothing written", async (_name, overrides, fields) => {
    const tenant = newTenant();
    const body = { ...base(), ...overrides };
    for (const [k, v] of Object.entries(overrides)) if (v === undefined) delete (body as Record<string, unknown>)[k];
    const res = await call("", { method: "POST", token: await callers(tenant).admin(), body });
    expect(res.status, res.text).toBe(400);
    expect(res.json.success).toBe(false);
    expect(res.json.message).toBe("Invalid request parameters");
    expect(res.json.errors.map((e: { field: string }) => e.field)).toEqual(fields);
    for (const e of res.json.errors) expect(e.message).toContain(e.field);
    expect(await countIn(tenant)).toBe(0);
  });

  it.each([
    ["an array", "[]"],
    ["a string", '"hello"'],
    ["a number", "42"],
    ["null", "null"],
  ])("a body that is %s: 400", async (_name, rawBody) => {
    const tenant = newTenant();
    const res = await call("", {
      method: "POST",
      token: await callers(tenant).admin(),
      rawBody,
      headers: { "content-type": "application/json" },
    });
    expect(res.status, res.text).toBe(400);
    expect(res.json.success).toBe(false);
    expect(res.json.errors?.length ?? 0).toBeGreaterThan(0);
    expect(await countIn(tenant)).toBe(0);
  });

  it("a missing customer_id is reported as required, a wrong one as invalid", async () => {
    const token = await callers(newTenant()).admin();
    const missing = await call("", { method: "POST", token, body: { type: "sms" } });
    expect(missing.json.errors).toEqual([{ field: "customer_id", message: "customer_id is required" }]);
    const wrong = await call("", { method: "POST", token, body: { type: "sms", customer_id: "uuid" } });
    expect(wrong.json.errors).toEqual([{ field: "customer_id", message: "customer_id is not a valid UUID" }]);
    const typeWrong = await call("", {
      method: "POST",
      token,
      body: { type: "fax", customer_id: crypto.randomUUID() },
    });
    expect(typeWrong.json.errors).toEqual([
      { field: "type", message: "type must be one of: sms, email, push_notification, call" },
    ]);
  });
});
