/**
 * A verified provider call is never refused for its size (issue 16, item 4):
 * events go to the queue in messages counted in bytes within Queues' limits
 * (128 KB per message, 256 KB and 100 messages per sendBatch), grouped per
 * tenant; an event too large for one message waits in R2 and its message
 * carries the key. Signed with the providers' own libraries.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { MESSAGE_BYTES, SEND_BATCH_BYTES, SEND_BATCH_MESSAGES, STORED_PREFIX } from "../../src/webhooks/queue";
import { call, callers, communicationBody, newTenant, seed, tenantShard } from "../support/helpers";
import {
  connect,
  eventually,
  newSendgridKey,
  newStandardSecret,
  sendgridRequest,
  standardRequest,
  webhookUrl,
} from "../support/webhook-helpers";

const bytes = (v: unknown) => new TextEncoder().encode(typeof v === "string" ? v : JSON.stringify(v)).byteLength;

/** WEBHOOK_EVENTS, recording what each sendBatch carries, then sending it for real. */
function recordingQueue() {
  const batches: { messages: number; bytes: number; largest: number }[] = [];
  const queue = {
    send: (body: unknown, options?: QueueSendOptions) => {
      batches.push({ messages: 1, bytes: bytes(body), largest: bytes(body) });
      return env.WEBHOOK_EVENTS.send(body, options);
    },
    sendBatch: (messages: MessageSendRequest[], options?: QueueSendBatchOptions) => {
      const sizes = messages.map((m) => bytes(m.body));
      batches.push({ messages: messages.length, bytes: sizes.reduce((a, b) => a + b, 0), largest: Math.max(...sizes) });
      return env.WEBHOOK_EVENTS.sendBatch(messages, options);
    },
  } as unknown as Queue;
  return { queue, batches };
}

function expectWithinLimits(batches: { messages: number; bytes: number; largest: number }[]) {
  expect(batches.length).toBeGreaterThan(0);
  for (const b of batches) {
    expect(b.largest).toBeLessThanOrEqual(MESSAGE_BYTES);
    expect(b.bytes + b.messages * 1000).toBeLessThanOrEqual(SEND_BATCH_BYTES);
    expect(b.messages).toBeLessThanOrEqual(SEND_BATCH_MESSAGES);
  }
}

async function storedObjects(tenant: string) {
  return (await env.ARCHIVE.list({ prefix: `${STORED_PREFIX}${tenant}/` })).objects.length;
}

describe("large verified calls", () => {
  it("a Standard Webhooks inbound message of 64,000 Arabic characters (128 KB) is accepted and applied whole", async () => {
    const tenant = newTenant();
    const admin = await callers(tenant).admin();
    const secret = newStandardSecret();
    await connect(admin, "standard", { secret });
    const content = "ا".repeat(64_000);
    const id = `inbound-${crypto.randomUUID()}`;
    const request = standardRequest(secret, {
      type: "communication.inbound",
      data: {
        type: "sms",
        content,
        provider: "acme",
        provider_message_id: id,
        communication_details: { sender: { phone: "+15550001111" } },
      },
    });
    expect(bytes(request.rawBody)).toBeGreaterThan(128_000);
    const { queue, batches } = recordingQueue();
    const res = await call(webhookUrl("standard", tenant), { ...request, env: { WEBHOOK_EVENTS: queue } });
    expect(res.status, res.text).toBe(200);
    expectWithinLimits(batches);
    await eventually(async () => {
      const list = await call(`?provider_message_id=${id}`, { token: admin });
      expect(list.json.communications).toHaveLength(1);
      expect(list.json.communications[0].content).toBe(content);
    }, 60_000);
    // Read, applied, then deleted from R2.
    await eventually(async () => expect(await storedObjects(tenant)).toBe(0));
  }, 90_000);

  it("one at the create route's content limit (100,000 CJK characters, 300 KB) is accepted and applied whole", async () => {
    const tenant = newTenant();
    const admin = await callers(tenant).admin();
    const secret = newStandardSecret();
    await connect(admin, "standard", { secret });
    const content = "漢".repeat(100_000);
    const request = standardRequest(secret, {
      type: "communication.inbound",
      data: { type: "email", content, communication_details: { sender: { email: "writer@example.com" } } },
    });
    expect(bytes(request.rawBody)).toBeGreaterThan(300_000);
    const webhookId = request.headers["webhook-id"];
    const { queue, batches } = recordingQueue();
    const res = await call(webhookUrl("standard", tenant), { ...request, env: { WEBHOOK_EVENTS: queue } });
    expect(res.status, res.text).toBe(200);
    expectWithinLimits(batches);
    await eventually(async () => {
      const list = await call(`?provider_message_id=${webhookId}`, { token: admin });
      expect(list.json.communications).toHaveLength(1);
      const got = await call(`/${list.json.communications[0].id}`, { token: admin });
      expect(got.json.communication.content).toBe(content);
    }, 60_000);
    await eventually(async () => expect(await storedObjects(tenant)).toBe(0));
  }, 90_000);

  it.each([
    { name: "100 events with 2,000-character CJK reasons (612 KB)", events: 100, min: 600_000 },
    { name: "768 KB, SendGrid's largest call", events: 126, min: 780_000 },
  ])(
    "a signed SendGrid batch of $name is accepted and applied whole",
    async ({ events: n, min }) => {
      const tenant = newTenant();
      const admin = await callers(tenant).admin();
      const key = newSendgridKey();
      await connect(admin, "sendgrid", { public_key: key.publicKey });
      const comms = await seed(
        admin,
        Array.from({ length: Math.ceil(n / 2) }, (_, i) =>
          communicationBody({
            type: "email",
            provider: "sendgrid",
            provider_message_id: `sg${i}-${tenant.slice(0, 8)}`,
          }),
        ),
      );
      const reason = "退信原因".repeat(500); // 2,000 characters, 6,000 bytes
      const events = Array.from({ length: n }, (_, i) => {
        const c = comms[Math.floor(i / 2)] as { provider_message_id: string };
        return {
          event: i % 2 === 0 ? "processed" : "bounce",
          email: `customer${i}@example.com`,
          timestamp: 1_796_000_000 + i,
          sg_event_id: `${tenant}-${i}`,
          sg_message_id: `${c.provider_message_id}.filterdrecv-5645d9c87f-6r9lz-1-62E6B2E5-${i}.0`,
          reason,
        };
      });
      const request = sendgridRequest(key, events);
      expect(bytes(request.rawBody)).toBeGreaterThan(min);
      expect(bytes(request.rawBody)).toBeLessThanOrEqual(768 * 1024);
      const { queue, batches } = recordingQueue();
      const res = await call(webhookUrl("sendgrid", tenant), { ...request, env: { WEBHOOK_EVENTS: queue } });
      expect(res.status, res.text).toBe(200);
      expect(res.json.events).toBe(n);
      expectWithinLimits(batches);
      // Grouped: far fewer queue messages than events.
      expect(batches.reduce((a, b) => a + b.messages, 0)).toBeLessThan(n / 4);
      await eventually(async () => {
        const { results } = await (await tenantShard(tenant))
          .prepare("SELECT details FROM communication_events WHERE tenant_id = ?")
          .bind(tenant)
          .all<{ details: string }>();
        expect(results).toHaveLength(n);
        expect(results.every((r) => JSON.parse(r.details).reason === reason)).toBe(true);
      }, 120_000);
      expect((await call("?status=failed&limit=1", { token: admin })).json.total).toBe(comms.length);
    },
    180_000,
  );

  it("small events share queue messages (grouped within 64 KB), not one message each", async () => {
    const tenant = newTenant();
    const admin = await callers(tenant).admin();
    const key = newSendgridKey();
    await connect(admin, "sendgrid", { public_key: key.publicKey });
    const [c] = await seed(admin, [
      communicationBody({ type: "email", provider: "sendgrid", provider_message_id: `g-${tenant}` }),
    ]);
    const events = Array.from({ length: 200 }, (_, i) => ({
      event: i === 199 ? "delivered" : "processed",
      timestamp: 1_796_000_000 + i,
      sg_event_id: `${tenant}-g${i}`,
      sg_message_id: `g-${tenant}.filterdrecv-1`,
    }));
    const { queue, batches } = recordingQueue();
    const res = await call(webhookUrl("sendgrid", tenant), {
      ...sendgridRequest(key, events),
      env: { WEBHOOK_EVENTS: queue },
    });
    expect(res.status, res.text).toBe(200);
    expectWithinLimits(batches);
    const messages = batches.reduce((a, b) => a + b.messages, 0);
    expect(messages).toBeLessThanOrEqual(2); // 200 events of ~500 bytes: two groups of at most 100
    expect(batches.every((b) => b.largest <= 64_000)).toBe(true);
    await eventually(async () => {
      expect((await call(`/${c?.id}/events`, { token: admin })).json.events).toHaveLength(200);
    }, 60_000);
  }, 90_000);
});
