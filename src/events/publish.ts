/**
 * The one event pipeline's fan-out: after a change is committed, its events
 * go to every sink. Sinks run in the background (`waitUntil`): the caller's
 * answer never waits for them, and a sink's failure is logged, never thrown
 * (the change is committed; what a sink needs to be durable, it makes
 * durable itself).
 *
 * Sinks, each named once:
 *  - (issue 18) subscriptions: events committed to the outbox with the
 *    change are queued for delivery; what the queue did not take, the
 *    scheduled job sends later;
 *  - (issue 19) the live stream: the tenant's fan-out Durable Object.
 */
import { log } from "../lib/logger";
import { streamSink } from "../stream/sink";
import { subscriptionsSink } from "../subscriptions/outbox";
import type { ChangeEvent } from "./event";

export type WaitUntil = (promise: Promise<unknown>) => void;

export interface Sink {
  name: string;
  send(env: Env, events: ChangeEvent[]): Promise<void>;
}

/** The sinks, in the order they are called. Each feature adds its own here. */
export const SINKS: Sink[] = [
  // Events out (issue 18): src/subscriptions/outbox.ts.
  subscriptionsSink,
  // The live stream (issue 19)
  streamSink,
];

export function publish(env: Env, waitUntil: WaitUntil, events: readonly ChangeEvent[], sinks: Sink[] = SINKS) {
  if (!events.length) return;
  const batch = [...events];
  for (const sink of sinks) {
    waitUntil(
      sink.send(env, batch).catch((err) => {
        log.warn("event sink failed", {
          sink: sink.name,
          events: batch.length,
          error: err instanceof Error ? err.name : typeof err,
        });
      }),
    );
  }
}
