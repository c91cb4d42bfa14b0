/**
 * Provider webhooks (issue 10, ../shared/spec/webhooks.md): requests signed
 * by the providers' own libraries (test/support/webhook-helpers.ts), acknowledged by
 * the routes, queued, and applied by the Worker's queue consumer running in
 * this workerd (wrangler.toml [[queues.consumers]]).
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { STATUS_MAP } from "../../src/webhooks/events";
import { call, callers, communicationBody, newTenant, seed, tenantShard } from "../support/helpers";
import {
  connect,
  eventually,
  newSendgridKey,
  newStandardSecret,
  newTwilioToken,
  sendgridRequest,
  standardRequest,
  twilioRequest,
  webhookUrl,
} from "../support/webhook-helpers";

const NIL = "00000000-0000-0000-0000-000000000000";
const sid = (prefix = "SM") => `${prefix}${crypto.randomUUID().replaceAll("-", "")}`;

/** A tenant with all three providers connected. */
async function setup() {
  const tenant = newTenant();
  const who = callers(tenant);
  const admin = await who.admin();
  const twilioToken = newTwilioToken();
  const sendgridKey = newSendgridKey();
  const standardSecret = newStandardSecret();
  await connect(admin, "twilio", { auth_token: twilioToken });
  await connect(admin, "sendgrid", { public_key: sendgridKey.publicKey });
  await connect(admin, "standard", { secret: standardSecret });
  const url = (p: string) => webhookUrl(p, tenant);
  return {
    tenant,
    who,
    admin,
    twilio: (params: Record<string, string>) => call(url("twilio"), twilioRequest(url("twilio"), twilioToken, params)),
    sendgrid: (events: unknown[]) => call(url("sendgrid"), sendgridRequest(sendgridKey, events)),
    standard: (payload: unknown, opts?: { id?: string; at?: Date }) =>
      call(url("standard"), standardRequest(standardSecret, payload, opts)),
    twilioToken,
    sendgridKey,
    standardSecret,
  };
}

const get = async (admin: string, id: string) => (await call(`/${id}`, { token: admin })).json.communication;
const eventsOf = async (admin: string, id: string) => (await call(`/${id}/events`, { token: admin })).json.events;

async function waitStatus(admin: string, id: string, status: string, eventCount?: number) {
  await eventually(async () => {
    expect((await get(admin, id)).status).toBe(status);
    if (eventCount !== undefined) expect(await eventsOf(admin, id)).toHaveLength(eventCount);
  });
}

describe("provider connections", () => {
  it("PUT, GET and DELETE; the secret is stored encrypted and never returned", async () => {
    const tenant = newTenant();
    const admin = await callers(tenant).admin();
    const token = newTwilioToken();
    const put = await call("/providers/twilio", { method: "PUT", token: admin, body: { auth_token: token } });
    expect(put.status).toBe(200);
    expect(put.json.provider).toEqual({
      provider: "twilio",
      webhook_url: `http://api.test/delivery/customer-communications/webhooks/twilio/${tenant}`,
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    expect(put.text).not.toContain(token);
    const stored = await (await tenantShard(tenant))
      .prepare("SELECT secret FROM provider_connections WHERE tenant_id = ?")
      .bind(tenant)
      .first<{ secret: string }>();
    expect(stored?.secret).toBeTruthy();
    expect(stored?.secret).not.toContain(token);
    expect(atob(stored?.secret ?? "")).not.toContain(token);

    const list = await call("/providers", { token: admin });
    expect(list.status).toBe(200);
    expect(list.json.providers.map((p: { provider: string }) => p.provider)).toEqual(["twilio"]);
    expect(list.text).not.toContain(token);

    expect((await call("/providers/twilio", { method: "DELETE", token: admin })).status).toBe(200);
    expect((await call("/providers/twilio", { method: "DELETE", token: admin })).status).toBe(404);
    expect((await call("/providers", { token: admin })).json.providers).toEqual([]);
  });

  it("each provider needs its own field, well formed; other callers are refused", async () => {
    const tenant = newTenant();
    const who = callers(tenant);
    const admin = await who.admin();
    const bad = [
      ["twilio", { public_key: newSendgridKey().publicKey }],
      ["twilio", { auth_token: "short" }],
      ["sendgrid", { public_key: btoa("x".repeat(60)) }],
      ["standard", { secret: "not-a-whsec" }],
      ["standard", { secret: newStandardSecret(), auth_token: newTwilioToken() }],
    ] as const;
    for (const [provider, body] of bad) {
      const res = await call(`/providers/${provider}`, { method: "PUT", token: admin, body });
      expect(res.status, `${provider} ${JSON.stringify(body)}`).toBe(400);
    }
    expect((await call("/providers/other", { method: "PUT", token: admin, body: {} })).status).toBe(400);
    const viewer = await who.viewer();
    expect(
      (await call("/providers/twilio", { method: "PUT", token: viewer, body: { auth_token: newTwilioToken() } }))
        .status,
    ).toBe(403);
    expect((await call("/providers", { token: await who.customer() })).status).toBe(403);
    expect((await call("/providers", { token: await who.systemAdmin() })).status).toBe(400);
    expect((await call(`/providers?tenant_id=${tenant}`, { token: await who.systemAdmin() })).status).toBe(200);
  });

  it("one operation per provider: a body of another provider is refused naming both fields; others keep their answers", async () => {
    const tenant = newTenant();
    const admin = await callers(tenant).admin();
    const wrong = await call("/providers/twilio", {
      method: "PUT",
      token: admin,
      body: { secret: newStandardSecret() },
    });
    expect(wrong.status).toBe(400);
    expect(wrong.json.errors).toEqual(
      expect.arrayContaining([
        { field: "auth_token", message: "auth_token is required" },
        { field: "secret", message: "secret is not an accepted field" },
      ]),
    );
    // No provider of that name: the 400 naming `provider` that PUT /providers/{provider} always gave.
    const unknown = await call("/providers/twillio", { method: "PUT", token: admin, body: { auth_token: "x" } });
    expect(unknown.status).toBe(400);
    expect(unknown.json.errors).toEqual([
      { field: "provider", message: "provider must be one of: twilio, sendgrid, standard" },
    ]);
    // ...after the same checks as every route: no token is a 401, a viewer a 403.
    expect((await call("/providers/twillio", { method: "PUT", body: {} })).status).toBe(401);
    expect((await call("/providers/twillio", { method: "PUT", token: await callers(tenant).viewer() })).status).toBe(
      403,
    );
    // The 405 of a provider's URL lists what it serves: its PUT and the DELETE of /providers/{provider}.
    const wrongMethod = await call("/providers/twilio", { method: "POST", token: admin, body: {} });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get("allow")).toBe("PUT, DELETE");
    const other = await call("/providers/twillio", { method: "POST", token: admin, body: {} });
    expect(other.headers.get("allow")).toBe("DELETE");
  });

  it("without PROVIDER_SECRETS_KEY the connection routes fail closed", async () => {
    const { default: worker } = await import("../../src/index");
    const { createExecutionContext } = await import("cloudflare:test");
    const admin = await callers(newTenant()).admin();
    const res = await worker.fetch(
      new Request("http://api.test/delivery/customer-communications/providers/twilio", {
        method: "PUT",
        headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
        body: JSON.stringify({ auth_token: newTwilioToken() }),
      }),
      { ...env, PROVIDER_SECRETS_KEY: "" },
      createExecutionContext(),
    );
    expect(res.status).toBe(500);
    expect((await res.json<{ message: string }>()).message).toBe(
      "Provider connections are not configured on this server",
    );
  });
});

describe("provider ids on communications", () => {
  it("are returned everywhere, unique per tenant (409), and filter the list", async () => {
    const { admin } = await setup();
    const id = sid();
    const [created] = await seed(admin, [communicationBody({ provider: "twilio", provider_message_id: id })]);
    expect(created).toMatchObject({ provider: "twilio", provider_message_id: id });
    const [plain] = await seed(admin, [communicationBody()]);
    expect(plain).toMatchObject({ provider: null, provider_message_id: null });
    const again = await call("", {
      method: "POST",
      token: admin,
      body: communicationBody({ provider: "twilio", provider_message_id: id }),
    });
    expect(again.status).toBe(409);
    expect(again.json.message).toBe("A communication with this provider and provider_message_id already exists");
    // The same id under another provider is another message.
    await seed(admin, [communicationBody({ provider: "sendgrid", provider_message_id: id })]);

    const byId = await call(`?provider=twilio&provider_message_id=${id}`, { token: admin });
    expect(byId.json.communications.map((c: { id: string }) => c.id)).toEqual([created.id]);
    expect(byId.json.total).toBe(1);
    expect((await call(`?provider_message_id=${id}`, { token: admin })).json.total).toBe(2);
    expect((await call("?provider=twilio", { token: admin })).json.total).toBe(1);
    expect((await get(admin, created.id)).provider_message_id).toBe(id);

    const orphan = await call("", {
      method: "POST",
      token: admin,
      body: communicationBody({ provider_message_id: id }),
    });
    expect(orphan.status).toBe(400);
    const badName = await call("", { method: "POST", token: admin, body: communicationBody({ provider: "Twilio" }) });
    expect(badName.status).toBe(400);
  });
});

describe("status mapping (every row of the contract's table)", () => {
  const rows = [
    ...Object.entries(STATUS_MAP.twilio_message).map(([value, ours]) => ({ channel: "twilio message", value, ours })),
    ...Object.entries(STATUS_MAP.twilio_call).map(([value, ours]) => ({ channel: "twilio call", value, ours })),
    ...Object.entries(STATUS_MAP.sendgrid).map(([value, ours]) => ({ channel: "sendgrid", value, ours })),
  ];

  it("the table is the contract's", () => {
    expect(STATUS_MAP).toEqual({
      twilio_message: {
        sent: "sent",
        delivered: "delivered",
        read: "read",
        undelivered: "failed",
        failed: "failed",
        canceled: "failed",
      },
      twilio_call: {
        completed: "delivered",
        busy: "failed",
        "no-answer": "failed",
        failed: "failed",
        canceled: "failed",
      },
      sendgrid: { delivered: "delivered", open: "read", click: "read", bounce: "failed", dropped: "failed" },
    });
  });

  it("each provider value sets our status through the forward-only update, with one event", async () => {
    const t = await setup();
    const cases = [];
    for (const row of rows) {
      const id = row.channel === "twilio call" ? sid("CA") : sid();
      const provider = row.channel === "sendgrid" ? "sendgrid" : "twilio";
      const type = row.channel === "twilio call" ? "call" : row.channel === "sendgrid" ? "email" : "sms";
      const [c] = await seed(t.admin, [communicationBody({ type, provider, provider_message_id: id })]);
      cases.push({ ...row, id, c });
    }
    for (const k of cases) {
      const res =
        k.channel === "twilio message"
          ? await t.twilio({ MessageSid: k.id, MessageStatus: k.value, To: "+19876543210" })
          : k.channel === "twilio call"
            ? await t.twilio({ CallSid: k.id, CallStatus: k.value, Direction: "outbound-api", CallDuration: "42" })
            : await t.sendgrid([
                {
                  event: k.value,
                  timestamp: Math.floor(Date.now() / 1000),
                  sg_event_id: crypto.randomUUID(),
                  sg_message_id: `${k.id}.filter0001.16648.5515E0B88.0`,
                  email: "john@example.com",
                },
              ]);
      expect(res.status, res.text).toBe(200);
    }
    for (const k of cases) {
      await waitStatus(t.admin, k.c.id, k.ours, 1);
      const [event] = await eventsOf(t.admin, k.c.id);
      expect(event, `${k.channel} ${k.value}`).toMatchObject({
        from_status: "sent",
        status: k.ours,
        details: { provider_status: k.value },
      });
    }
    const totals = await call("?status=sent", { token: t.admin });
    expect(totals.json.total).toBe(cases.filter((k) => k.ours === "sent").length);
  });

  it("an unlisted value is recorded as an event and changes nothing; SendGrid finds by communication_id too", async () => {
    const t = await setup();
    const id = sid();
    const [sms, email] = await seed(t.admin, [
      communicationBody({ provider: "twilio", provider_message_id: id }),
      communicationBody({ type: "email" }),
    ]);
    await t.twilio({ MessageSid: id, MessageStatus: "queued" });
    await t.sendgrid([
      { event: "processed", timestamp: 1_796_000_000, sg_event_id: "e1", communication_id: email.id },
      { event: "open", timestamp: 1_796_000_100, sg_event_id: "e2", communication_id: email.id },
    ]);
    await eventually(async () => {
      expect(await eventsOf(t.admin, sms.id)).toMatchObject([
        { from_status: "sent", status: "sent", details: { provider_status: "queued" } },
      ]);
      expect((await get(t.admin, email.id)).status).toBe("read");
      expect(await eventsOf(t.admin, email.id)).toHaveLength(2);
    });
    expect((await get(t.admin, sms.id)).status).toBe("sent");
  });
});

describe("inbound messages and calls", () => {
  it("an inbound SMS becomes an inbound communication of the customer last in touch with that number", async () => {
    const t = await setup();
    const customer = crypto.randomUUID();
    const phone = `+1555${Math.floor(Math.random() * 1e7)}`;
    await seed(t.admin, [
      communicationBody({ customer_id: crypto.randomUUID(), communication_details: { recipient: { phone } } }),
      communicationBody({ customer_id: customer, communication_details: { recipient: { phone } } }),
    ]);
    const messageSid = sid();
    const res = await t.twilio({
      MessageSid: messageSid,
      From: phone,
      To: "+15551234567",
      Body: "Leave it at the door",
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/xml/);
    expect(res.text).toBe("<Response></Response>");
    // A redelivery changes nothing.
    await t.twilio({ MessageSid: messageSid, From: phone, To: "+15551234567", Body: "Leave it at the door" });
    await eventually(async () => {
      const list = await call(`?provider_message_id=${messageSid}`, { token: t.admin });
      expect(list.json.communications).toHaveLength(1);
      expect(list.json.communications[0]).toMatchObject({
        customer_id: customer,
        type: "sms",
        direction: "inbound",
        status: "delivered",
        content: "Leave it at the door",
        provider: "twilio",
        provider_message_id: messageSid,
        communication_details: { sender: { phone }, recipient: { phone: "+15551234567" } },
      });
    });
    await new Promise((r) => setTimeout(r, 1500));
    expect((await call(`?provider_message_id=${messageSid}`, { token: t.admin })).json.total).toBe(1);
    // The customer sees it in their own list.
    const mine = await call("?direction=inbound", { token: await t.who.customer(customer) });
    expect(mine.json.communications.map((c: { content: string }) => c.content)).toEqual(["Leave it at the door"]);
  });

  it("an unattributable inbound message is kept under the nil customer and adopted by the next communication with that address", async () => {
    const t = await setup();
    const phone = `+1666${Math.floor(Math.random() * 1e7)}`;
    const messageSid = sid();
    await t.twilio({ MessageSid: messageSid, From: phone, To: "+15551234567", Body: "Who is this?" });
    await eventually(async () => {
      const list = await call(`?customer_id=${NIL}&direction=inbound`, { token: t.admin });
      expect(list.json.communications.map((c: { provider_message_id: string }) => c.provider_message_id)).toEqual([
        messageSid,
      ]);
    });
    const customer = crypto.randomUUID();
    await seed(t.admin, [
      communicationBody({ customer_id: customer, communication_details: { recipient: { phone } } }),
    ]);
    const adopted = await call(`?provider_message_id=${messageSid}`, { token: t.admin });
    expect(adopted.json.communications[0].customer_id).toBe(customer);
    expect((await call(`?customer_id=${NIL}`, { token: t.admin })).json.total).toBe(0);
  });

  it("an inbound call is logged from its status callbacks (unknown CallSid, Direction inbound)", async () => {
    const t = await setup();
    const customer = crypto.randomUUID();
    const phone = `+1777${Math.floor(Math.random() * 1e7)}`;
    await seed(t.admin, [
      communicationBody({ customer_id: customer, communication_details: { recipient: { phone } } }),
    ]);
    const callSid = sid("CA");
    const base = { CallSid: callSid, Direction: "inbound", From: phone, To: "+15551234567" };
    await t.twilio({ ...base, CallStatus: "ringing" });
    await t.twilio({ ...base, CallStatus: "completed", CallDuration: "65" });
    await eventually(async () => {
      const list = await call(`?provider_message_id=${callSid}`, { token: t.admin });
      expect(list.json.communications).toHaveLength(1);
      const c = list.json.communications[0];
      expect(c).toMatchObject({ type: "call", direction: "inbound", customer_id: customer, status: "delivered" });
      expect(await eventsOf(t.admin, c.id)).toHaveLength(2);
    });
  });

  it("the standard route logs inbound messages from a tenant's own handler, and status events", async () => {
    const t = await setup();
    const customer = crypto.randomUUID();
    const email = `Jane.${crypto.randomUUID()}@Example.com`;
    await seed(t.admin, [
      communicationBody({ customer_id: customer, type: "email", communication_details: { recipient: { email } } }),
    ]);
    const inbound = await t.standard({
      type: "communication.inbound",
      data: {
        type: "email",
        content: "Wrong address",
        communication_details: { sender: { email: email.toLowerCase() } },
      },
    });
    expect(inbound.status, inbound.text).toBe(200);
    const pmid = sid("X");
    const [c] = await seed(t.admin, [communicationBody({ provider: "acme-sms", provider_message_id: pmid })]);
    await t.standard({
      type: "communication.status",
      data: { provider_message_id: pmid, status: "delivered", occurred_at: new Date().toISOString() },
    });
    await t.standard({
      type: "communication.status",
      data: { communication_id: c.id, status: "read", occurred_at: new Date().toISOString(), details: { via: "app" } },
    });
    await waitStatus(t.admin, c.id, "read", 2);
    await eventually(async () => {
      const list = await call(`?customer_id=${customer}&direction=inbound`, { token: t.admin });
      expect(list.json.communications).toHaveLength(1);
      expect(list.json.communications[0]).toMatchObject({ content: "Wrong address", provider: "standard" });
    });
    const invalid = await t.standard({ type: "communication.status", data: { status: "delivered" } });
    expect(invalid.status).toBe(400);
  });
});

describe("duplicates, order, and events before their communication", () => {
  it("duplicates and out-of-order events: the furthest status wins, one event per distinct provider event", async () => {
    const t = await setup();
    const id = sid();
    const [c] = await seed(t.admin, [communicationBody({ provider: "twilio", provider_message_id: id })]);
    await t.twilio({ MessageSid: id, MessageStatus: "read" });
    await t.twilio({ MessageSid: id, MessageStatus: "delivered" });
    await t.twilio({ MessageSid: id, MessageStatus: "read" });
    await t.twilio({ MessageSid: id, MessageStatus: "delivered" });
    await waitStatus(t.admin, c.id, "read", 2);
    await new Promise((r) => setTimeout(r, 1500));
    const events = await eventsOf(t.admin, c.id);
    expect(events.map((e: { status: string }) => e.status).sort()).toEqual(["read", "read"]);
    expect(events.filter((e: { from_status: string }) => e.from_status === "sent")).toHaveLength(1);
    // Totals follow the one real change.
    expect((await call("?status=read", { token: t.admin })).json.total).toBe(1);
    expect((await call("?status=sent", { token: t.admin })).json.total).toBe(0);
  });

  it("a callback before its create is kept and applied when the communication is created", async () => {
    const t = await setup();
    const id = sid();
    await t.twilio({ MessageSid: id, MessageStatus: "delivered" });
    await t.sendgrid([
      { event: "delivered", timestamp: 1_796_000_000, sg_event_id: "early", sg_message_id: `${id}.x` },
    ]);
    await eventually(async () => {
      const kept = await (await tenantShard(t.tenant))
        .prepare("SELECT count(*) AS n FROM pending_provider_events WHERE tenant_id = ?")
        .bind(t.tenant)
        .first<{ n: number }>();
      expect(kept?.n).toBe(2);
    });
    const [c] = await seed(t.admin, [communicationBody({ provider: "twilio", provider_message_id: id })]);
    await waitStatus(t.admin, c.id, "delivered", 1);
    await eventually(async () => {
      const kept = await (await tenantShard(t.tenant))
        .prepare("SELECT provider FROM pending_provider_events WHERE tenant_id = ?")
        .bind(t.tenant)
        .all<{ provider: string }>();
      // The SendGrid event names another provider's message: still kept for it.
      expect(kept.results.map((r) => r.provider)).toEqual(["sendgrid"]);
    });
  });
});

describe("refused calls (nothing recorded, nothing revealed)", () => {
  it("tampered body, wrong secret, stale or future timestamp, missing headers, deleted connection, another tenant's URL", async () => {
    const t = await setup();
    const other = await setup();
    const id = sid();
    const [c] = await seed(t.admin, [
      communicationBody({ provider: "twilio", provider_message_id: id, type: "email" }),
    ]);
    const url = (p: string) => webhookUrl(p, t.tenant);
    const status = {
      type: "communication.status",
      data: { communication_id: c.id, status: "read", occurred_at: new Date().toISOString() },
    };

    const tamperedTwilio = twilioRequest(url("twilio"), t.twilioToken, { MessageSid: id, MessageStatus: "delivered" });
    tamperedTwilio.rawBody = tamperedTwilio.rawBody.replace("delivered", "failed");
    const tamperedSendgrid = sendgridRequest(t.sendgridKey, [
      { event: "open", timestamp: 1, sg_event_id: "a", communication_id: c.id },
    ]);
    tamperedSendgrid.rawBody = tamperedSendgrid.rawBody.replace("open", "click");
    const tamperedStandard = standardRequest(t.standardSecret, status);
    tamperedStandard.rawBody = tamperedStandard.rawBody.replace("read", "failed");
    const noHeader = twilioRequest(url("twilio"), t.twilioToken, { MessageSid: id, MessageStatus: "delivered" });
    noHeader.headers = { "content-type": noHeader.headers["content-type"] } as typeof noHeader.headers;

    const refused: [string, string, { method: string; rawBody: string; headers: Record<string, string> }][] = [
      ["tampered twilio", url("twilio"), tamperedTwilio],
      ["tampered sendgrid", url("sendgrid"), tamperedSendgrid],
      ["tampered standard", url("standard"), tamperedStandard],
      ["no signature", url("twilio"), noHeader],
      [
        "wrong auth token",
        url("twilio"),
        twilioRequest(url("twilio"), newTwilioToken(), { MessageSid: id, MessageStatus: "delivered" }),
      ],
      [
        "signed for another URL",
        url("twilio"),
        twilioRequest(`${url("twilio")}?x=1`, t.twilioToken, { MessageSid: id, MessageStatus: "delivered" }),
      ],
      [
        "wrong sendgrid key",
        url("sendgrid"),
        sendgridRequest(newSendgridKey(), [{ event: "open", timestamp: 1, communication_id: c.id }]),
      ],
      ["wrong standard secret", url("standard"), standardRequest(newStandardSecret(), status)],
      [
        "stale timestamp",
        url("standard"),
        standardRequest(t.standardSecret, status, { at: new Date(Date.now() - 6 * 60_000) }),
      ],
      [
        "future timestamp",
        url("standard"),
        standardRequest(t.standardSecret, status, { at: new Date(Date.now() + 6 * 60_000) }),
      ],
      // Signed correctly by this tenant's secrets, sent to the other tenant's URLs (each has its own connection).
      [
        "another tenant's twilio URL",
        webhookUrl("twilio", other.tenant),
        twilioRequest(webhookUrl("twilio", other.tenant), t.twilioToken, {
          MessageSid: id,
          MessageStatus: "delivered",
        }),
      ],
      [
        "another tenant's standard URL",
        webhookUrl("standard", other.tenant),
        standardRequest(t.standardSecret, status),
      ],
      ["a tenant without connections", webhookUrl("standard", newTenant()), standardRequest(t.standardSecret, status)],
      ["not a tenant id", `${url("standard").slice(0, -36)}not-a-tenant`, standardRequest(t.standardSecret, status)],
    ];
    for (const [name, target, req] of refused) {
      const res = await call(target, req);
      expect(res.status, name).toBe(403);
      expect(res.json, name).toEqual({ success: false, message: "Webhook signature verification failed" });
    }

    // Deleted connection: a call that verified a moment ago is refused.
    const ok = await call(url("standard"), standardRequest(t.standardSecret, status));
    expect(ok.status).toBe(200);
    await waitStatus(t.admin, c.id, "read", 1);
    expect((await call("/providers/twilio", { method: "DELETE", token: t.admin })).status).toBe(200);
    const afterDelete = await call(
      url("twilio"),
      twilioRequest(url("twilio"), t.twilioToken, { MessageSid: id, MessageStatus: "failed" }),
    );
    expect(afterDelete.status).toBe(403);

    // Nothing any refused call carried was applied or kept.
    await new Promise((r) => setTimeout(r, 2000));
    expect(await eventsOf(t.admin, c.id)).toHaveLength(1);
    expect((await get(t.admin, c.id)).status).toBe("read");
    for (const tenant of [t.tenant, other.tenant]) {
      const kept = await (await tenantShard(tenant))
        .prepare("SELECT count(*) AS n FROM pending_provider_events WHERE tenant_id = ?")
        .bind(tenant)
        .first<{ n: number }>();
      expect(kept?.n).toBe(0);
    }
    expect((await call("", { token: other.admin })).json.total).toBe(0);
  });

  it("webhook calls are not rate limited per user, and never need a bearer token", async () => {
    const t = await setup();
    const res = await call(webhookUrl("standard", t.tenant), {
      ...standardRequest(t.standardSecret, {
        type: "communication.status",
        data: { provider_message_id: "nope", status: "x", occurred_at: new Date().toISOString() },
      }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("www-authenticate")).toBeNull();
  });
});

describe("SendGrid batches", () => {
  it("a batch of 1,000 events in one call is verified, queued and applied", async () => {
    const t = await setup();
    const comms = await seed(
      t.admin,
      Array.from({ length: 250 }, (_, i) =>
        communicationBody({
          type: "email",
          provider: "sendgrid",
          provider_message_id: `msg${i}-${t.tenant.slice(0, 8)}`,
        }),
      ),
    );
    const events = comms.flatMap((c, i) =>
      ["processed", "delivered", "open", "click"].map((event, j) => ({
        event,
        email: `customer${i}@example.com`,
        timestamp: 1_796_000_000 + j,
        sg_event_id: `${c.id}-${event}`,
        sg_message_id: `${c.provider_message_id}.filter0001.16648.5515E0B88.${j}`,
      })),
    );
    expect(events).toHaveLength(1000);
    const res = await t.sendgrid(events);
    expect(res.status, res.text).toBe(200);
    expect(res.json.events).toBe(1000);
    await eventually(async () => {
      expect((await call("?status=read&limit=1", { token: t.admin })).json.total).toBe(250);
    }, 150_000);
    await eventually(async () => {
      const { results } = await (await tenantShard(t.tenant))
        .prepare(
          "SELECT communication_id, count(*) AS n FROM communication_events WHERE tenant_id = ? GROUP BY communication_id",
        )
        .bind(t.tenant)
        .all<{ n: number }>();
      expect(results).toHaveLength(250);
      expect(results.every((r) => r.n === 4)).toBe(true);
    }, 60_000);
  }, 240_000);
});
