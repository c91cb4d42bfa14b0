/**
 * The seed's own example requests (shared/spec/customer-communications.seed.txt),
 * sent as published: the exact URLs, the POST's Content-Type given twice as
 * curl sends it, and the seed's body with its "uuid" placeholders filled.
 */
import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { callers, newTenant, signToken } from "../support/helpers";

const ORIGIN = "http://api.test";
const LIST_URL =
  "/delivery/customer-communications?page=1&limit=10&customer_id=&delivery_id=&type=&status=&tenant_id=&language=en";
const CREATE_URL = "/delivery/customer-communications?tenant_id=&language=en";

/** The seed's --data, byte for byte, with "uuid" replaced when ids are given. */
function seedBody(ids?: { customer: string; delivery: string; user: string }) {
  return `{
  "customer_id": "${ids?.customer ?? "uuid"}",
  "delivery_id": "${ids?.delivery ?? "uuid"}",
  "type": "sms",
  "direction": "outbound",
  "status": "sent",
  "content": "Your delivery #1234 is on its way and will arrive between 2-4pm today.",
  "communication_details": {
    "sender": {
      "user_id": "${ids?.user ?? "uuid"}",
      "system_component": "delivery_notifications",
      "phone": "+15551234567"
    },
    "recipient": {
      "phone": "+19876543210",
      "name": "John Doe"
    },
    "template_id": "delivery-on-way",
    "template_variables": {
      "delivery_id": "1234",
      "delivery_window": "2-4pm"
    },
    "attachments": [
      {
        "name": "delivery_details.pdf",
        "type": "application/pdf",
        "url": "https://example.com/attachments/delivery_details.pdf",
        "size": 245678
      }
    ]
  }
}`;
}

/** What curl sends for the seed's create: two Content-Type headers, joined by Fetch. */
function curlCreate(token: string, body: string) {
  const headers = new Headers();
  headers.append("Authorization", `Bearer ${token}`);
  headers.append("Content-Type", "application/json");
  headers.append("Content-Type", "application/json");
  return new Request(`${ORIGIN}${CREATE_URL}`, { method: "POST", headers, body });
}

function curlList(token: string) {
  return new Request(`${ORIGIN}${LIST_URL}`, { headers: { Authorization: `Bearer ${token}` } });
}

async function send(request: Request) {
  const res = await exports.default.fetch(request);
  return { status: res.status, headers: res.headers, json: (await res.json()) as any };
}

describe("the seed's create request", () => {
  it("really carries Content-Type twice", () => {
    expect(curlCreate("t", "{}").headers.get("content-type")).toBe("application/json, application/json");
  });

  it("with its uuid placeholders filled: 201, stored exactly as sent", async () => {
    const tenant = newTenant();
    const ids = { customer: crypto.randomUUID(), delivery: crypto.randomUUID(), user: crypto.randomUUID() };
    const res = await send(curlCreate(await callers(tenant).admin(), seedBody(ids)));
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    expect(res.json.success).toBe(true);
    expect(res.json.message).toBe("Customer communication created successfully");
    const sent = JSON.parse(seedBody(ids));
    expect(res.json.communication).toMatchObject({ ...sent, tenant_id: tenant });
    expect(res.json.communication.communication_details).toEqual(sent.communication_details);
  });

  it('with the literal "uuid" placeholders: a clear 400 naming customer_id and delivery_id', async () => {
    const tenant = newTenant();
    const res = await send(curlCreate(await callers(tenant).admin(), seedBody()));
    expect(res.status).toBe(400);
    expect(res.json).toEqual({
      success: false,
      message: "Invalid request parameters",
      errors: [
        { field: "customer_id", message: "customer_id is not a valid UUID" },
        { field: "delivery_id", message: "delivery_id is not a valid UUID" },
      ],
    });
    const listed = await send(curlList(await callers(tenant).viewer()));
    expect(listed.json.total).toBe(0);
  });

  it("by a system administrator: tenant_id= is empty, so 400 naming tenant_id", async () => {
    const ids = { customer: crypto.randomUUID(), delivery: crypto.randomUUID(), user: crypto.randomUUID() };
    const res = await send(curlCreate(await signToken({ is_system_admin: true }), seedBody(ids)));
    expect(res.status).toBe(400);
    expect(res.json.errors).toEqual([
      { field: "tenant_id", message: "tenant_id is required for system administrators" },
    ]);
  });
});

describe("the seed's list request", () => {
  const tenant = newTenant();
  const who = callers(tenant);
  let created: any[] = [];

  beforeAll(async () => {
    const admin = await who.admin();
    for (const customer of [who.customerId, who.customerId, crypto.randomUUID()]) {
      const ids = { customer, delivery: crypto.randomUUID(), user: crypto.randomUUID() };
      const res = await send(curlCreate(admin, seedBody(ids)));
      expect(res.status).toBe(201);
      created.push(res.json.communication);
    }
    created = created.reverse();
  });

  it("as staff: 200, page 1 of 10, every communication of the tenant, newest first", async () => {
    const res = await send(curlList(await who.viewer()));
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      success: true,
      message: "Customer communications retrieved successfully",
      total: 3,
      page: 1,
      limit: 10,
    });
    expect(res.json.communications).toEqual(created);
  });

  it("as a customer: 200, their own communications only", async () => {
    const res = await send(curlList(await who.customer()));
    expect(res.status).toBe(200);
    expect(res.json.total).toBe(2);
    expect(res.json.communications).toEqual(created.filter((c) => c.customer_id === who.customerId));
  });

  it("without a token: 401", async () => {
    const res = await exports.default.fetch(new Request(`${ORIGIN}${LIST_URL}`));
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
  });
});
