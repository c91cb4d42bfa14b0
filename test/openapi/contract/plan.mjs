/**
 * The requests of the contract run (./run.mjs), in order. Each step names the
 * operation it is for and the status it must get; `invalid` marks a request
 * that breaks the document on purpose (Prism must say so), `inexpressible`
 * one the service refuses for a rule the document cannot state (the reason
 * is the value). Coverage is checked by run.mjs against the served document:
 * a new operation or documented status needs its steps here.
 *
 * Three Workers (run.mjs): A as configured, B misconfigured (500), C with an
 * unreachable JWKS (503); `on` picks one (default A).
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { SignJWT } from "jose";
import { Webhook } from "standardwebhooks";
import ecdsa from "starkbank-ecdsa";
import { prime256v1 } from "starkbank-ecdsa/ellipticcurve/curve.js";
import twilio from "twilio";

const BASE = "/delivery/customer-communications";
const KiB = 1024;

const sign = (claims, key, alg, expiresIn = "1h") =>
  new SignJWT(claims)
    .setProtectedHeader({ alg, kid: "contract" })
    .setSubject(claims.sub ?? crypto.randomUUID())
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(key);

/** A P-256 key as SendGrid's console shows it (base64 DER), and its signer. */
function sendgridKey() {
  const privateKey = new ecdsa.PrivateKey(prime256v1);
  const publicKey = privateKey
    .publicKey()
    .toPem()
    .replace(/-----[A-Z ]+-----/g, "")
    .replace(/\s+/g, "");
  return { privateKey, publicKey };
}

export async function plan(context) {
  const { tenant, secrets, prism } = context;
  const hs = new TextEncoder().encode(secrets.jwt);
  const staff = (permissions, role = "staff") => sign({ tenant_id: tenant, role, permissions }, hs, "HS256");
  const customerId = crypto.randomUUID();
  const rateSub = `rate-${crypto.randomUUID()}`;
  const tokens = {
    admin: await staff(["manage:operations:tenant"], "tenant_admin"),
    viewer: await staff(["view:tenant"], "dispatcher"),
    driver: await staff(["manage:module:delivery"], "driver"),
    customer: await sign({ tenant_id: tenant, customer_id: customerId }, hs, "HS256"),
    system: await sign({ is_system_admin: true, permissions: [] }, hs, "HS256"),
    // Its own bucket, exhausted before each 429 step.
    rate: await sign({ sub: rateSub, is_system_admin: true, permissions: [] }, hs, "HS256"),
    expired: await sign(
      { tenant_id: tenant, role: "a", permissions: [] },
      hs,
      "HS256",
      Math.floor(Date.now() / 1000) - 600,
    ),
    // B: any well-formed token; its configuration refuses them all.
    b: await sign({ tenant_id: tenant, role: "a", permissions: ["manage:operations:tenant"] }, hs, "HS256"),
    // C: an RS256 token whose key the unreachable JWKS would have held.
    c: await sign(
      { tenant_id: tenant, role: "a", permissions: ["manage:operations:tenant"], iss: "contract", aud: "contract" },
      generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey,
      "RS256",
    ),
  };
  const sendgrid = sendgridKey();
  const keys = {
    twilio: randomBytes(16).toString("hex"),
    sendgrid: sendgrid.publicKey,
    standard: `whsec_${randomBytes(24).toString("base64")}`,
  };
  Object.assign(context, { tokens, keys });

  const steps = [];
  /**
   * One request. `path` (or a function of the context, evaluated when sent)
   * follows BASE unless it is absolute.
   */
  const add = (name, op, status, method, path, o = {}) =>
    steps.push({
      name: `${name} [${o.on ?? "A"}]`,
      op,
      status,
      invalid: o.invalid,
      inexpressible: o.inexpressible,
      // A 413 answers before the body is read in full; Prism, still uploading, may see the
      // connection close first ("Premature close"): such a step is tried up to three times.
      attempts: o.attempts ?? (status === 413 ? 3 : undefined),
      before: o.before,
      after: o.after,
      direct: o.direct,
      url: () => {
        const p = typeof path === "function" ? path() : path;
        return p.startsWith("http") ? p : `${o.direct ? context.direct : prism[o.on ?? "A"]}${BASE}${p}`;
      },
      init: () => {
        const headers = { ...o.headers };
        const token = o.token === undefined ? tokens.admin : o.token;
        if (token) headers.authorization = `Bearer ${token}`;
        let body = o.raw;
        if (o.body !== undefined) {
          body = JSON.stringify(typeof o.body === "function" ? o.body() : o.body);
          headers["content-type"] ??= "application/json";
        }
        return { method, headers, body };
      },
    });

  const id = () => context.id;
  const unknownId = crypto.randomUUID();
  const create = (extra = {}) => ({ customer_id: customerId, type: "sms", content: "On its way", ...extra });
  const status = () => ({ status: "delivered", occurred_at: new Date().toISOString() });
  const tooLarge = "x".repeat(300 * KiB);
  const SIZE = "the body size limit is not a schema rule (Prism may or may not flag the field that carries it)";
  const noToken = { token: null, invalid: true };

  // ---------------------------------------------------------------- communications
  const C = "createCustomerCommunication";
  const keyed = { "idempotency-key": `contract-${tenant}` };
  const pair = { provider: "twilio", provider_message_id: `SM${tenant.replaceAll("-", "")}` };
  add("create, language de", C, 201, "POST", "?language=de", {
    body: create(pair),
    headers: keyed,
    after: async (res) => {
      context.id = (await res.json()).communication.id;
    },
  });
  add("create replayed", C, 201, "POST", "?language=de", { body: create(pair), headers: keyed });
  add("create, same key, other body", C, 409, "POST", "", { body: create({ type: "email" }), headers: keyed });
  add("create, provider pair taken", C, 409, "POST", "", { body: create(pair) });
  add("create, type fax", C, 400, "POST", "", { body: create({ type: "fax" }), invalid: true });
  add("create, provider_message_id without provider", C, 400, "POST", "", {
    body: create({ provider_message_id: "SM1" }),
    invalid: true,
  });
  add("create, no token", C, 401, "POST", "", { body: create(), ...noToken });
  add("create, expired token", C, 401, "POST", "", { body: create(), token: tokens.expired });
  add("create, a driver", C, 403, "POST", "", { body: create(), token: tokens.driver });
  add("create, 300 KiB", C, 413, "POST", "", { body: create({ content: tooLarge }), inexpressible: SIZE });
  add("create, text/plain", C, 415, "POST", "", {
    raw: "hi",
    headers: { "content-type": "text/plain" },
    invalid: true,
  });

  const L = "listCustomerCommunications";
  add("list, language de", L, 200, "GET", "?language=de");
  add("list, Accept-Language fa", L, 200, "GET", "?limit=5", { headers: { "accept-language": "fa, en;q=0.5" } });
  add(
    "list, the seed's example verbatim",
    L,
    200,
    "GET",
    "?page=1&limit=10&customer_id=&delivery_id=&type=&status=&tenant_id=&language=en",
  );
  add("list, limit 500", L, 400, "GET", "?limit=500", { invalid: true });
  add("list, cursor with page", L, 400, "GET", "?cursor=abc&page=2", {
    inexpressible: "cursor excludes page: OpenAPI has no rule across query parameters",
  });
  add("list, no token", L, 401, "GET", "", noToken);
  add("list, a customer naming another", L, 403, "GET", `?customer_id=${crypto.randomUUID()}`, {
    token: tokens.customer,
  });

  // Finding (issue 20): address and q through the search index; their rules beyond length are the service's.
  add("list, by address and words", L, 200, "GET", `?address=${encodeURIComponent("+964 (750) 123-4567")}&q=deliv*`);
  add("list, a quote left open in q", L, 400, "GET", `?q=${encodeURIComponent('"unclosed')}`, {
    inexpressible: "q's query language (quotes, prefixes) is not a schema rule",
  });

  // Exporting (issue 20): NDJSON and CSV, streamed.
  const X = "exportCustomerCommunications";
  add("export, NDJSON", X, 200, "GET", "/export?q=way");
  add("export, CSV", X, 200, "GET", "/export?format=csv&sort_order=asc");
  add("export, format xml", X, 400, "GET", "/export?format=xml", { invalid: true });
  add("export, no token", X, 401, "GET", "/export", noToken);
  add("export, a driver", X, 403, "GET", "/export", { token: tokens.driver });

  const G = "getCustomerCommunication";
  add("get", G, 200, "GET", () => `/${id()}`);
  add("get, not a UUID", G, 400, "GET", "/not-a-uuid", { invalid: true });
  add("get, no token", G, 401, "GET", () => `/${id()}`, noToken);
  add("get, a driver", G, 403, "GET", () => `/${id()}`, { token: tokens.driver });
  add("get, unknown", G, 404, "GET", `/${unknownId}`);

  const U = "updateCustomerCommunicationStatus";
  add("update status", U, 200, "PATCH", () => `/${id()}`, { body: status });
  add("update, status bounced", U, 400, "PATCH", () => `/${id()}`, {
    body: { status: "bounced", occurred_at: new Date().toISOString() },
    invalid: true,
  });
  add("update, no token", U, 401, "PATCH", () => `/${id()}`, { body: status, ...noToken });
  add("update, a viewer", U, 403, "PATCH", () => `/${id()}`, { body: status, token: tokens.viewer });
  add("update, unknown", U, 404, "PATCH", `/${unknownId}`, { body: status });
  add("update, 300 KiB", U, 413, "PATCH", () => `/${id()}`, {
    body: () => ({ ...status(), details: { note: tooLarge } }),
    inexpressible: SIZE,
  });
  add("update, text/plain", U, 415, "PATCH", () => `/${id()}`, {
    raw: "delivered",
    headers: { "content-type": "text/plain" },
    invalid: true,
  });

  const E = "listCustomerCommunicationEvents";
  add("events", E, 200, "GET", () => `/${id()}/events`);
  add("events, not a UUID", E, 400, "GET", "/nope/events", { invalid: true });
  add("events, no token", E, 401, "GET", () => `/${id()}/events`, noToken);
  add("events, a driver", E, 403, "GET", () => `/${id()}/events`, { token: tokens.driver });
  add("events, unknown", E, 404, "GET", `/${unknownId}/events`);

  const A = "getArchivedDay";
  add("archive", A, 200, "GET", `/archive/${context.archiveDay}`, { token: tokens.viewer });
  add("archive, February 30th", A, 400, "GET", "/archive/2026-02-30", { invalid: true });
  add("archive, no token", A, 401, "GET", `/archive/${context.archiveDay}`, noToken);
  add("archive, a customer", A, 403, "GET", `/archive/${context.archiveDay}`, { token: tokens.customer });
  add("archive, a day not archived", A, 404, "GET", "/archive/2026-01-16");

  // ---------------------------------------------------------------- providers and their webhooks
  const bodies = {
    twilio: [{ auth_token: keys.twilio }, { auth_token: "short" }],
    sendgrid: [{ public_key: keys.sendgrid }, { public_key: "not base64!" }],
    standard: [{ secret: keys.standard }, { secret: "not-a-whsec" }],
  };
  for (const [provider, [good, bad]] of Object.entries(bodies)) {
    const P = `put${provider[0].toUpperCase()}${provider.slice(1)}Connection`;
    const path = `/providers/${provider}`;
    add(`connect ${provider}`, P, 200, "PUT", path, { body: good });
    add(`connect ${provider}, malformed`, P, 400, "PUT", path, { body: bad, invalid: true });
    add(`connect ${provider}, no token`, P, 401, "PUT", path, { body: good, ...noToken });
    add(`connect ${provider}, a viewer`, P, 403, "PUT", path, { body: good, token: tokens.viewer });
    add(`connect ${provider}, 300 KiB`, P, 413, "PUT", path, {
      body: { [Object.keys(good)[0]]: tooLarge },
      inexpressible: SIZE,
    });
    add(`connect ${provider}, text/plain`, P, 415, "PUT", path, {
      raw: "x",
      headers: { "content-type": "text/plain" },
      invalid: true,
    });
  }
  const LP = "listProviderConnections";
  add("providers", LP, 200, "GET", "/providers", {
    after: async (res) => {
      const urls = (await res.json()).providers.map((p) => p.webhook_url);
      // Handed out on the public origin (PUBLIC_BASE_URL: Prism's, in front of A).
      if (!urls.every((u) => u.startsWith(`${prism.A}${BASE}/webhooks/`))) throw new Error(`webhook_url ${urls}`);
    },
  });
  add("providers, tenant_id not a UUID", LP, 400, "GET", "/providers?tenant_id=nope", { invalid: true });
  add("providers, no token", LP, 401, "GET", "/providers", noToken);
  add("providers, a viewer", LP, 403, "GET", "/providers", { token: tokens.viewer });

  // Webhooks, posted to the webhook_url A handed out (Prism's origin).
  const hook = (provider) => `${prism.A}${BASE}/webhooks/${provider}/${tenant}`;
  const twilioForm = (url, params, contentType = "application/x-www-form-urlencoded") => ({
    token: null,
    raw: new URLSearchParams(params).toString(),
    headers: {
      "content-type": contentType,
      "x-twilio-signature": twilio.getExpectedTwilioSignature(keys.twilio, url, params),
    },
  });
  const sendgridCall = (events, contentType = "application/json") => {
    const raw = JSON.stringify(events);
    const timestamp = String(Math.floor(Date.now() / 1000));
    return {
      token: null,
      raw,
      headers: {
        "content-type": contentType,
        "x-twilio-email-event-webhook-signature": ecdsa.Ecdsa.sign(timestamp + raw, sendgrid.privateKey).toBase64(),
        "x-twilio-email-event-webhook-timestamp": timestamp,
      },
    };
  };
  const standardCall = (payload, contentType = "application/json") => {
    const raw = JSON.stringify(payload);
    const msgId = `msg_${crypto.randomUUID()}`;
    const at = new Date();
    return {
      token: null,
      raw,
      headers: {
        "content-type": contentType,
        "webhook-id": msgId,
        "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
        "webhook-signature": new Webhook(keys.standard).sign(msgId, at, raw),
      },
    };
  };
  const delivered = { MessageSid: pair.provider_message_id, MessageStatus: "delivered", To: "+19876543210" };
  const sgEvent = { event: "delivered", timestamp: Math.floor(Date.now() / 1000), sg_message_id: "abc.filter0001" };
  const stdStatus = {
    type: "communication.status",
    data: { provider_message_id: "m-1", status: "delivered", occurred_at: new Date().toISOString() },
  };
  const huge = "x".repeat(1100 * KiB);

  const TW = "twilioWebhook";
  // The webhook_url as handed out, verbatim: on the public origin, which is the URL Twilio signs.
  add("twilio status callback", TW, 200, "POST", hook("twilio"), twilioForm(hook("twilio"), delivered));
  // From outside, as through a gateway: signed against the public URL, arriving at the upstream one.
  add("twilio, signed for the public URL, sent upstream", null, 200, "POST", `/webhooks/twilio/${tenant}`, {
    ...twilioForm(hook("twilio"), delivered),
    direct: true,
  });
  add("twilio, MessageSid too long", TW, 400, "POST", hook("twilio"), {
    ...twilioForm(hook("twilio"), { ...delivered, MessageSid: "S".repeat(100) }),
    invalid: true,
  });
  add("twilio, bad signature", TW, 403, "POST", hook("twilio"), {
    ...twilioForm(hook("twilio"), delivered),
    headers: { "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": "bm90IGEgc2lnbmF0dXJl" },
  });
  add("twilio, over 1 MiB", TW, 413, "POST", hook("twilio"), {
    ...twilioForm(hook("twilio"), { ...delivered, Body: huge }),
    inexpressible: SIZE,
  });
  add("twilio, signed but text/plain", TW, 415, "POST", hook("twilio"), {
    ...twilioForm(hook("twilio"), delivered, "text/plain"),
    invalid: true,
  });

  const SG = "sendgridWebhook";
  add("sendgrid events", SG, 200, "POST", hook("sendgrid"), sendgridCall([sgEvent]));
  add("sendgrid, event without timestamp", SG, 400, "POST", hook("sendgrid"), {
    ...sendgridCall([{ event: "delivered" }]),
    invalid: true,
  });
  add("sendgrid, bad signature", SG, 403, "POST", hook("sendgrid"), {
    ...sendgridCall([sgEvent]),
    headers: {
      ...sendgridCall([sgEvent]).headers,
      "x-twilio-email-event-webhook-signature": "bm90IGEgc2lnbmF0dXJl",
    },
  });
  add("sendgrid, over 1 MiB", SG, 413, "POST", hook("sendgrid"), {
    ...sendgridCall([{ ...sgEvent, reason: huge }]),
    inexpressible: SIZE,
  });
  add("sendgrid, signed but text/plain", SG, 415, "POST", hook("sendgrid"), {
    ...sendgridCall([sgEvent], "text/plain"),
    invalid: true,
  });

  const SW = "standardWebhook";
  add("standard status event", SW, 200, "POST", hook("standard"), standardCall(stdStatus));
  add("standard, no occurred_at", SW, 400, "POST", hook("standard"), {
    ...standardCall({ type: "communication.status", data: { provider_message_id: "m-1", status: "delivered" } }),
    invalid: true,
  });
  add("standard, bad signature", SW, 403, "POST", hook("standard"), {
    ...standardCall(stdStatus),
    headers: { ...standardCall(stdStatus).headers, "webhook-signature": "v1,bm90IGEgc2lnbmF0dXJl" },
  });
  add("standard, over 1 MiB", SW, 413, "POST", hook("standard"), {
    ...standardCall({ ...stdStatus, data: { ...stdStatus.data, details: { note: huge } } }),
    inexpressible: SIZE,
  });
  add("standard, signed but text/plain", SW, 415, "POST", hook("standard"), {
    ...standardCall(stdStatus, "text/plain"),
    invalid: true,
  });

  const D = "deleteProviderConnection";
  add("disconnect standard", D, 200, "DELETE", "/providers/standard");
  add("disconnect standard again", D, 404, "DELETE", "/providers/standard");
  add("disconnect, no such provider", D, 400, "DELETE", "/providers/nope", { invalid: true });
  add("disconnect, no token", D, 401, "DELETE", "/providers/twilio", noToken);
  add("disconnect, a viewer", D, 403, "DELETE", "/providers/twilio", { token: tokens.viewer });

  const UM = "listUnmatchedProviderEvents";
  add("unmatched provider events", UM, 200, "GET", "/providers/unmatched?limit=5");
  add("unmatched, limit 0", UM, 400, "GET", "/providers/unmatched?limit=0", { invalid: true });
  add("unmatched, no token", UM, 401, "GET", "/providers/unmatched", noToken);
  add("unmatched, a customer", UM, 403, "GET", "/providers/unmatched", { token: tokens.customer });

  // ---------------------------------------------------------------- events out: subscriptions
  const receiver = "https://receiver.example.com/events";
  const subscription = (extra = {}) => ({ url: receiver, events: ["communication.created"], ...extra });
  const sub = () => context.subscription;
  const SC = "createSubscription";
  add("subscribe", SC, 201, "POST", "/subscriptions", {
    body: subscription({ description: "contract run" }),
    after: async (res) => {
      context.subscription = (await res.json()).subscription.id;
    },
  });
  add("subscribe, http to a public host", SC, 400, "POST", "/subscriptions", {
    body: subscription({ url: "http://receiver.example.com/events" }),
    inexpressible: "https only (and no private or loopback host) is checked on the parsed URL",
  });
  add("subscribe, unknown event type", SC, 400, "POST", "/subscriptions", {
    body: subscription({ events: ["communication.deleted"] }),
    invalid: true,
  });
  add("subscribe, no token", SC, 401, "POST", "/subscriptions", { body: subscription(), ...noToken });
  add("subscribe, a viewer", SC, 403, "POST", "/subscriptions", { body: subscription(), token: tokens.viewer });
  add("subscribe, 300 KiB", SC, 413, "POST", "/subscriptions", {
    body: subscription({ description: tooLarge }),
    inexpressible: SIZE,
  });
  add("subscribe, text/plain", SC, 415, "POST", "/subscriptions", {
    raw: receiver,
    headers: { "content-type": "text/plain" },
    invalid: true,
  });
  // The 21st of a tenant: 19 more first (the tenant has one), straight at A.
  add("subscribe, the 21st", SC, 409, "POST", "/subscriptions", {
    body: subscription(),
    before: async () => {
      for (let i = 0; i < 19; i++) {
        const res = await fetch(`${context.direct}${BASE}/subscriptions`, {
          method: "POST",
          headers: { authorization: `Bearer ${tokens.admin}`, "content-type": "application/json" },
          body: JSON.stringify(subscription({ description: `filler ${i}` })),
        });
        await res.arrayBuffer();
        if (res.status !== 201) throw new Error(`filler subscription: ${res.status}`);
      }
    },
  });
  const SL = "listSubscriptions";
  add("subscriptions", SL, 200, "GET", "/subscriptions");
  add("subscriptions, tenant_id not a UUID", SL, 400, "GET", "/subscriptions?tenant_id=nope", { invalid: true });
  add("subscriptions, no token", SL, 401, "GET", "/subscriptions", noToken);
  add("subscriptions, a viewer", SL, 403, "GET", "/subscriptions", { token: tokens.viewer });
  const SG1 = "getSubscription";
  add("subscription", SG1, 200, "GET", () => `/subscriptions/${sub()}`);
  add("subscription, not a UUID", SG1, 400, "GET", "/subscriptions/nope", { invalid: true });
  add("subscription, no token", SG1, 401, "GET", () => `/subscriptions/${sub()}`, noToken);
  add("subscription, a customer", SG1, 403, "GET", () => `/subscriptions/${sub()}`, { token: tokens.customer });
  add("subscription, unknown", SG1, 404, "GET", `/subscriptions/${unknownId}`);
  const SU = "updateSubscription";
  add("pause", SU, 200, "PATCH", () => `/subscriptions/${sub()}`, { body: { status: "paused" } });
  add("update, status disabled", SU, 400, "PATCH", () => `/subscriptions/${sub()}`, {
    body: { status: "disabled" },
    invalid: true,
  });
  add("update, no token", SU, 401, "PATCH", () => `/subscriptions/${sub()}`, {
    body: { status: "active" },
    ...noToken,
  });
  add("update, a driver", SU, 403, "PATCH", () => `/subscriptions/${sub()}`, {
    body: { status: "active" },
    token: tokens.driver,
  });
  add("update, unknown", SU, 404, "PATCH", `/subscriptions/${unknownId}`, { body: { status: "active" } });
  add("update, 300 KiB", SU, 413, "PATCH", () => `/subscriptions/${sub()}`, {
    body: { description: tooLarge },
    inexpressible: SIZE,
  });
  add("update, text/plain", SU, 415, "PATCH", () => `/subscriptions/${sub()}`, {
    raw: "paused",
    headers: { "content-type": "text/plain" },
    invalid: true,
  });
  const since = () => ({ since: new Date(Date.now() - 3_600_000).toISOString() });
  const SR = "replaySubscription";
  add("replay while paused", SR, 409, "POST", () => `/subscriptions/${sub()}/replay`, { body: since });
  add("resume", SU, 200, "PATCH", () => `/subscriptions/${sub()}`, { body: { status: "active" } });
  add("replay", SR, 202, "POST", () => `/subscriptions/${sub()}/replay`, { body: since });
  add("replay, since not a date", SR, 400, "POST", () => `/subscriptions/${sub()}/replay`, {
    body: { since: "yesterday" },
    invalid: true,
  });
  add("replay, no token", SR, 401, "POST", () => `/subscriptions/${sub()}/replay`, { body: since, ...noToken });
  add("replay, a viewer", SR, 403, "POST", () => `/subscriptions/${sub()}/replay`, {
    body: since,
    token: tokens.viewer,
  });
  add("replay, unknown", SR, 404, "POST", `/subscriptions/${unknownId}/replay`, { body: since });
  add("replay, 300 KiB", SR, 413, "POST", () => `/subscriptions/${sub()}/replay`, {
    body: () => ({ ...since(), note: tooLarge }),
    inexpressible: SIZE,
  });
  add("replay, text/plain", SR, 415, "POST", () => `/subscriptions/${sub()}/replay`, {
    raw: "since",
    headers: { "content-type": "text/plain" },
    invalid: true,
  });
  const SD = "listSubscriptionDeliveries";
  add("deliveries", SD, 200, "GET", () => `/subscriptions/${sub()}/deliveries?status=pending,failed`);
  add("deliveries, not a UUID", SD, 400, "GET", "/subscriptions/nope/deliveries", { invalid: true });
  add("deliveries, no token", SD, 401, "GET", () => `/subscriptions/${sub()}/deliveries`, noToken);
  add("deliveries, a viewer", SD, 403, "GET", () => `/subscriptions/${sub()}/deliveries`, { token: tokens.viewer });
  add("deliveries, unknown", SD, 404, "GET", `/subscriptions/${unknownId}/deliveries`);
  const SS = "rotateSubscriptionSecret";
  add("rotate the secret", SS, 200, "POST", () => `/subscriptions/${sub()}/secret`);
  add("rotate, not a UUID", SS, 400, "POST", "/subscriptions/nope/secret", { invalid: true });
  add("rotate, no token", SS, 401, "POST", () => `/subscriptions/${sub()}/secret`, noToken);
  add("rotate, a viewer", SS, 403, "POST", () => `/subscriptions/${sub()}/secret`, { token: tokens.viewer });
  add("rotate, unknown", SS, 404, "POST", `/subscriptions/${unknownId}/secret`);
  const SX = "deleteSubscription";
  add("unsubscribe, not a UUID", SX, 400, "DELETE", "/subscriptions/nope", { invalid: true });
  add("unsubscribe, no token", SX, 401, "DELETE", () => `/subscriptions/${sub()}`, noToken);
  add("unsubscribe, a viewer", SX, 403, "DELETE", () => `/subscriptions/${sub()}`, { token: tokens.viewer });
  add("unsubscribe", SX, 200, "DELETE", () => `/subscriptions/${sub()}`);
  add("unsubscribe again", SX, 404, "DELETE", () => `/subscriptions/${sub()}`);

  // ---------------------------------------------------------------- the live stream
  const ST = "streamCustomerCommunications";
  const TK = "createStreamTicket";
  // A stream ends when its token expires: a token of a few seconds gives Prism a whole body to check.
  const brief = { token: undefined };
  add("stream, until the token expires", ST, 200, "GET", "/stream?type=sms", {
    before: async () => {
      brief.token = await sign(
        { tenant_id: tenant, role: "dispatcher", permissions: ["view:tenant"] },
        hs,
        "HS256",
        "4s",
      );
    },
    get token() {
      return brief.token;
    },
  });
  add("stream, type fax", ST, 400, "GET", "/stream?type=fax", { token: tokens.viewer, invalid: true });
  add("stream, no token", ST, 401, "GET", "/stream", {
    token: null,
    inexpressible: "a bearer token or a ticket: security cannot require one of a header and a query parameter",
  });
  add("stream, a ticket used twice", ST, 401, "GET", () => `/stream?ticket=${context.ticket}`, {
    token: null,
    before: async () => {
      const res = await fetch(`${context.direct}${BASE}/stream/tickets`, {
        method: "POST",
        headers: { authorization: `Bearer ${tokens.viewer}` },
      });
      context.ticket = (await res.json()).ticket;
      const first = await fetch(`${context.direct}${BASE}/stream?ticket=${context.ticket}`);
      await first.body?.cancel();
      if (first.status !== 200) throw new Error(`a fresh ticket opened no stream: ${first.status}`);
    },
  });
  add("stream, a driver", ST, 403, "GET", "/stream", { token: tokens.driver });
  add("ticket", TK, 201, "POST", "/stream/tickets", { token: tokens.customer });
  add("ticket, tenant_id not a UUID", TK, 400, "POST", "/stream/tickets?tenant_id=nope", { invalid: true });
  add("ticket, no token", TK, 401, "POST", "/stream/tickets", noToken);
  add("ticket, a driver", TK, 403, "POST", "/stream/tickets", { token: tokens.driver });

  // ---------------------------------------------------------------- administration
  const SH = "listShards";
  const T = "getTenantPlacement";
  const MV = "moveTenant";
  const system = { token: tokens.system };
  add("shards", SH, 200, "GET", "/admin/shards", system);
  add("shards, malformed x-d1-bookmark", SH, 400, "GET", "/admin/shards", {
    ...system,
    headers: { "x-d1-bookmark": "not a bookmark" },
    inexpressible: "x-d1-bookmark is refused when malformed on every route; it is declared only where reads use it",
  });
  add("shards, no token", SH, 401, "GET", "/admin/shards", noToken);
  add("shards, a tenant admin", SH, 403, "GET", "/admin/shards");
  add("tenant placement", T, 200, "GET", `/admin/tenants/${tenant}`, {
    ...system,
    after: async (res) => {
      context.shard = (await res.json()).tenant.shard;
    },
  });
  add("tenant placement, not a UUID", T, 400, "GET", "/admin/tenants/nope", { ...system, invalid: true });
  add("tenant placement, no token", T, 401, "GET", `/admin/tenants/${tenant}`, noToken);
  add("tenant placement, a tenant admin", T, 403, "GET", `/admin/tenants/${tenant}`);
  add("tenant placement, unknown tenant", T, 404, "GET", `/admin/tenants/${unknownId}`, system);
  const otherShard = () => ({ to: context.shard === "SHARD_0" ? "SHARD_1" : "SHARD_0" });
  add("move, unknown tenant", MV, 404, "POST", `/admin/tenants/${unknownId}/move`, { ...system, body: otherShard });
  add("move, to no shard", MV, 400, "POST", `/admin/tenants/${tenant}/move`, {
    ...system,
    body: { to: "nowhere" },
    invalid: true,
  });
  add("move, no token", MV, 401, "POST", `/admin/tenants/${tenant}/move`, { body: otherShard, ...noToken });
  add("move, a tenant admin", MV, 403, "POST", `/admin/tenants/${tenant}/move`, { body: otherShard });
  add("move, 300 KiB", MV, 413, "POST", `/admin/tenants/${tenant}/move`, {
    ...system,
    body: { to: tooLarge },
    inexpressible: SIZE,
  });
  add("move, text/plain", MV, 415, "POST", `/admin/tenants/${tenant}/move`, {
    ...system,
    raw: "SHARD_1",
    headers: { "content-type": "text/plain" },
    invalid: true,
  });
  add("move", MV, 202, "POST", `/admin/tenants/${tenant}/move`, { ...system, body: otherShard });
  // Running, or done: either way the tenant is (about to be) there.
  add("move again", MV, 409, "POST", `/admin/tenants/${tenant}/move`, { ...system, body: otherShard });

  // ---------------------------------------------------------------- privacy (issue 21)
  const PS = "getPrivacySettings";
  const PP = "putPrivacySettings";
  add("settings", PS, 200, "GET", "/settings");
  add("settings, tenant_id not a UUID", PS, 400, "GET", "/settings?tenant_id=nope", { invalid: true });
  add("settings, no token", PS, 401, "GET", "/settings", noToken);
  add("settings, a viewer", PS, 403, "GET", "/settings", { token: tokens.viewer });
  add("settings, put", PP, 200, "PUT", "/settings", { body: { redact_after_days: 3650 } });
  add("settings, put 0 days", PP, 400, "PUT", "/settings", { body: { redact_after_days: 0 }, invalid: true });
  add("settings, put, no token", PP, 401, "PUT", "/settings", { body: { redact_after_days: 30 }, ...noToken });
  add("settings, put, a viewer", PP, 403, "PUT", "/settings", {
    body: { redact_after_days: 30 },
    token: tokens.viewer,
  });
  add("settings, put, 300 KiB", PP, 413, "PUT", "/settings", {
    body: { redact_after_days: 30, note: tooLarge },
    inexpressible: SIZE,
  });
  add("settings, put, text/plain", PP, 415, "PUT", "/settings", {
    raw: "30",
    headers: { "content-type": "text/plain" },
    invalid: true,
  });

  const RD = "redactCustomerCommunication";
  add("redact", RD, 200, "POST", () => `/${id()}/redact`);
  add("redact, not a UUID", RD, 400, "POST", "/nope/redact", { invalid: true });
  add("redact, no token", RD, 401, "POST", () => `/${id()}/redact`, noToken);
  add("redact, a viewer", RD, 403, "POST", () => `/${id()}/redact`, { token: tokens.viewer });
  add("redact, unknown", RD, 404, "POST", `/${unknownId}/redact`);

  const ER = "createErasure";
  const erased = crypto.randomUUID();
  const erasure = () => ({ customer_id: erased, reference: "DSR-contract" });
  add("erasure", ER, 202, "POST", "/erasures", {
    body: erasure,
    // A few communications of the customer first: with one per step (run.mjs), the erasure runs a while.
    before: async () => {
      for (let i = 0; i < 6; i++) {
        const res = await fetch(`${context.direct}${BASE}`, {
          method: "POST",
          headers: { authorization: `Bearer ${tokens.admin}`, "content-type": "application/json" },
          body: JSON.stringify(create({ customer_id: erased })),
        });
        await res.arrayBuffer();
      }
    },
    after: async (res) => {
      context.erasure = (await res.json()).erasure.id;
    },
  });
  add("erasure, the same customer while it runs", ER, 200, "POST", "/erasures", { body: erasure });
  add("erasure, customer_id not a UUID", ER, 400, "POST", "/erasures", { body: { customer_id: "x" }, invalid: true });
  add("erasure, no token", ER, 401, "POST", "/erasures", { body: erasure, ...noToken });
  add("erasure, a viewer", ER, 403, "POST", "/erasures", { body: erasure, token: tokens.viewer });
  add("erasure, 300 KiB", ER, 413, "POST", "/erasures", {
    body: { customer_id: erased, reference: tooLarge },
    inexpressible: SIZE,
  });
  add("erasure, text/plain", ER, 415, "POST", "/erasures", {
    raw: erased,
    headers: { "content-type": "text/plain" },
    invalid: true,
  });
  const EL = "listErasures";
  add("erasures", EL, 200, "GET", "/erasures");
  add("erasures, limit 500", EL, 400, "GET", "/erasures?limit=500", { invalid: true });
  add("erasures, no token", EL, 401, "GET", "/erasures", noToken);
  add("erasures, a customer", EL, 403, "GET", "/erasures", { token: tokens.customer });
  const EG = "getErasure";
  add("erasure, one", EG, 200, "GET", () => `/erasures/${context.erasure}`);
  add("erasure, one, not a UUID", EG, 400, "GET", "/erasures/nope", { invalid: true });
  add("erasure, one, no token", EG, 401, "GET", () => `/erasures/${context.erasure}`, noToken);
  add("erasure, one, a driver", EG, 403, "GET", () => `/erasures/${context.erasure}`, { token: tokens.driver });
  add("erasure, one, unknown", EG, 404, "GET", `/erasures/${unknownId}`);

  const AU = "listAuditEntries";
  add("audit", AU, 200, "GET", "/audit?action=settings.updated");
  add("audit, an unknown action", AU, 400, "GET", "/audit?action=provider.hacked", { invalid: true });
  add("audit, no token", AU, 401, "GET", "/audit", noToken);
  add("audit, a viewer", AU, 403, "GET", "/audit", { token: tokens.viewer });

  // ---------------------------------------------------------------- every bearer operation: 429, 500, 503
  const scoped = `tenant_id=${tenant}`;
  const bearer = [
    [C, "POST", `?${scoped}`, create],
    [L, "GET", `?${scoped}`],
    [X, "GET", `/export?${scoped}`],
    [G, "GET", () => `/${id()}?${scoped}`],
    [U, "PATCH", () => `/${id()}?${scoped}`, status],
    [E, "GET", () => `/${id()}/events?${scoped}`],
    [A, "GET", `/archive/${context.archiveDay}?${scoped}`],
    ["putTwilioConnection", "PUT", `/providers/twilio?${scoped}`, () => bodies.twilio[0]],
    ["putSendgridConnection", "PUT", `/providers/sendgrid?${scoped}`, () => bodies.sendgrid[0]],
    ["putStandardConnection", "PUT", `/providers/standard?${scoped}`, () => bodies.standard[0]],
    [LP, "GET", `/providers?${scoped}`],
    [D, "DELETE", `/providers/twilio?${scoped}`],
    [UM, "GET", `/providers/unmatched?${scoped}`],
    [SC, "POST", `/subscriptions?${scoped}`, subscription],
    [SL, "GET", `/subscriptions?${scoped}`],
    [SG1, "GET", `/subscriptions/${unknownId}?${scoped}`],
    [SU, "PATCH", `/subscriptions/${unknownId}?${scoped}`, () => ({ status: "active" })],
    [SX, "DELETE", `/subscriptions/${unknownId}?${scoped}`],
    [SS, "POST", `/subscriptions/${unknownId}/secret?${scoped}`],
    [SD, "GET", `/subscriptions/${unknownId}/deliveries?${scoped}`],
    [SR, "POST", `/subscriptions/${unknownId}/replay?${scoped}`, since],
    [TK, "POST", `/stream/tickets?${scoped}`],
    [ST, "GET", `/stream?${scoped}`],
    [SH, "GET", "/admin/shards"],
    [T, "GET", `/admin/tenants/${tenant}`],
    [MV, "POST", `/admin/tenants/${tenant}/move`, otherShard],
    [PS, "GET", `/settings?${scoped}`],
    [PP, "PUT", `/settings?${scoped}`, () => ({ redact_after_days: 30 })],
    [RD, "POST", () => `/${id()}/redact?${scoped}`],
    [ER, "POST", `/erasures?${scoped}`, () => ({ customer_id: crypto.randomUUID() })],
    [EL, "GET", `/erasures?${scoped}`],
    [EG, "GET", `/erasures/${unknownId}?${scoped}`],
    [AU, "GET", `/audit?${scoped}`],
  ];
  /**
   * Spends the rate token's own bucket (300 requests per 10 s, in windows
   * aligned to the clock) straight at A. Probes first: the 429 steps run one
   * after the other inside one exhausted window. Otherwise waits for the next
   * window to start and sends 320 requests, 80 at a time (naming no tenant,
   * so only the user's bucket is counted: a busy machine still fits them in
   * the window).
   */
  const once = async () => {
    const res = await fetch(`${context.direct}${BASE}?limit=0`, {
      headers: { authorization: `Bearer ${tokens.rate}` },
    });
    await res.arrayBuffer();
    return res.status;
  };
  const exhaust = async () => {
    if ((await once()) === 429) return;
    for (let round = 0; round < 3; round++) {
      await new Promise((r) => setTimeout(r, 10_050 - (Date.now() % 10_000)));
      for (let batch = 0; batch < 4; batch++) {
        if ((await Promise.all(Array.from({ length: 80 }, once))).includes(429)) return;
      }
    }
    throw new Error("the rate limiter never answered 429");
  };
  for (const [op, method, path, body] of bearer) {
    // The window may roll over between the burst and the step: a few attempts, each after a burst.
    add(`${op}, rate limited`, op, 429, method, path, { token: tokens.rate, body, before: exhaust, attempts: 3 });
  }
  for (const [op, method, path, body] of bearer) {
    add(`${op}, auth misconfigured`, op, 500, method, path, { on: "B", token: tokens.b, body });
    add(`${op}, JWKS unreachable`, op, 503, method, path, { on: "C", token: tokens.c, body });
  }
  // Webhooks on B: the databases are not migrated, so reading the connection fails.
  const onB = (provider) => `${prism.B}${BASE}/webhooks/${provider}/${tenant}`;
  add("twilio, databases broken", TW, 500, "POST", onB("twilio"), { on: "B", ...twilioForm(onB("twilio"), delivered) });
  add("sendgrid, databases broken", SG, 500, "POST", onB("sendgrid"), { on: "B", ...sendgridCall([sgEvent]) });
  add("standard, databases broken", SW, 500, "POST", onB("standard"), { on: "B", ...standardCall(stdStatus) });
  return steps;
}
