/**
 * Receivers for the subscription tests: endpoints served by MSW inside the
 * Workers runtime (msw/node patches the isolate's fetch, which the queue
 * consumer calls), each recording what it got and verifying it with the
 * `standardwebhooks` library, as a customer's receiver would.
 */
import { HttpResponse, http } from "msw";
import type { SetupServer } from "msw/node";
import { Webhook } from "standardwebhooks";
import { expect, vi } from "vitest";
import { call } from "../support/helpers";

export interface Received {
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  json: { type: string; timestamp: string; data: { communication: Record<string, any>; previous_status?: string } };
  at: number;
  headers: Record<string, string>;
}

export type Behaviour = (n: number, request: Request) => Response | Promise<Response>;

/** A receiver at a URL unique to the test; `behave(n)` answers the n-th call (1-based). */
export function receiver(server: SetupServer, behave: Behaviour = () => new Response("ok")) {
  const url = `https://receiver-${crypto.randomUUID().slice(0, 8)}.example/hooks/events`;
  const got: Received[] = [];
  const state = { calls: 0, behave };
  server.use(
    http.post(url, async ({ request }) => {
      state.calls++;
      const body = await request.text();
      const headers = Object.fromEntries(request.headers);
      got.push({
        id: headers["webhook-id"] ?? "",
        timestamp: headers["webhook-timestamp"] ?? "",
        signature: headers["webhook-signature"] ?? "",
        body,
        json: JSON.parse(body),
        at: Date.now(),
        headers,
      });
      return state.behave(state.calls, request as unknown as Request);
    }),
  );
  return { url, got, state };
}

/** Whether `secret` verifies the delivery, per the standardwebhooks library. */
export function verifies(secret: string, r: Received): boolean {
  try {
    new Webhook(secret).verify(r.body, {
      "webhook-id": r.id,
      "webhook-timestamp": r.timestamp,
      "webhook-signature": r.signature,
    });
    return true;
  } catch {
    return false;
  }
}

export async function subscribe(
  token: string,
  url: string,
  events = ["communication.created", "communication.status_changed"],
  query = "",
) {
  const res = await call(`/subscriptions${query}`, { method: "POST", token, body: { url, events } });
  expect(res.status, res.text).toBe(201);
  return res.json.subscription as { id: string; secret: string; url: string; status: string };
}

/** Waits (generously: the machine is shared) until `check` passes. */
export const until = <T>(check: () => T | Promise<T>, timeout = 20_000) =>
  vi.waitFor(check, { timeout, interval: 100 });

export const ok = () => new Response("ok");
export const status = (code: number, body = "") => new HttpResponse(body, { status: code });
