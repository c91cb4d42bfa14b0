/**
 * The live stream's fan-out: one Durable Object per tenant (named by the
 * tenant id, so that a move between shards never touches it), in SQLite
 * storage. It
 *  - keeps a buffer of the tenant's recent events (`publish()`, called by the
 *    stream sink after each commit: ./sink.ts) in its own storage, so that a
 *    restart of the object loses no buffered event: every event of the last
 *    5 minutes, and at least the newest 1,000 whatever their age, up to
 *    10,000;
 *  - holds the tenant's open streams (`open()`): each is a byte stream the
 *    Worker returns as its response body, untouched, so no Worker code runs
 *    per frame. An event is encoded once and the same bytes are queued on
 *    every stream that matches (./filters.ts);
 *  - replays, for a stream opened with a Last-Event-ID, the buffered events
 *    after it, page by page as the client reads them (never the whole buffer
 *    in memory), then goes live; an id no longer buffered gets one reset frame;
 *  - writes a keep-alive comment to every stream on one timer, and ends a
 *    stream when its credential expires.
 * An idle stream therefore costs one comment per KEEPALIVE_MS and nothing
 * else: no D1 (this object has no D1 binding in use), no storage, no timer of
 * its own beyond its expiry.
 *
 * A restart of the object (deploy, eviction after a crash) ends its streams:
 * clients see the connection close, reconnect with their Last-Event-ID and
 * are replayed from storage.
 * @see https://developers.cloudflare.com/durable-objects/api/sqlite-storage-api/
 */
import { DurableObject } from "cloudflare:workers";
import type { Communication } from "../communications/schemas";
import type { Scope } from "../communications/store";
import { type ChangeEvent, eventJson } from "../events/event";
import { unavailable } from "../lib/errors";
import { covers } from "../privacy/erasure-scope";
import { matchesFilters, type StreamFilters, visibleIn } from "./filters";
import { EXPIRED_FRAME, eventFrame, KEEPALIVE_FRAME, KEEPALIVE_MS, OPENING_FRAME, resetFrame } from "./frames";
import type { PrincipalRecord } from "./tickets";

/** Events kept whatever their age (the newest ones). */
export const BUFFER_EVENTS = 1000;
/** Events younger than this are kept even beyond BUFFER_EVENTS... */
export const BUFFER_MIN_AGE_MS = 5 * 60_000;
/** ...up to this many: beyond, the oldest go whatever their age. */
export const BUFFER_MAX_EVENTS = 10_000;
/** Buffered events read per page of a replay. */
const REPLAY_PAGE = 100;
/** Bytes a stream may queue before it counts as stuck. */
const HIGH_WATER_BYTES = 64 * 1024;
/**
 * A reader this far behind (bytes queued beyond the high-water mark) is
 * disconnected rather than buffered without bound: it reconnects with its
 * Last-Event-ID and is replayed from storage at its own pace.
 */
export const MAX_BACKLOG_BYTES = 4 * 1024 * 1024;
/** setTimeout's largest delay; a later expiry is checked on each keep-alive instead. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** What the Worker asks for when it opens a stream (all plain data: it crosses RPC). */
export interface OpenRequest {
  /** Whose stream: the tenant, and the customer when the caller is one. */
  scope: Scope;
  filters: StreamFilters;
  /** Resume after this event (Last-Event-ID). */
  lastEventId?: string;
  /** When the caller's credential expires (ms); the stream ends then. */
  expiresAt?: number;
}

/** The tenant's hub: one object per tenant id, wherever the tenant's shard is. */
export const hubFor = (env: Env, tenantId: string) => env.STREAM_HUB.get(env.STREAM_HUB.idFromName(tenantId));

/**
 * A call to the hub from a request: if the object cannot be reached (it is
 * overloaded, or being reset), the caller gets a 503 with Retry-After, as
 * for D1, never a 500. EventSource does not retry a 503 by itself; the
 * README's snippet opens a new stream after it.
 */
export async function callHub<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw unavailable(err);
  }
}

interface Listener {
  scope: Scope;
  filters: StreamFilters;
  controller: ReadableStreamDefaultController<Uint8Array>;
  /** While replaying: the last buffered event read (seq); undefined once live. */
  replayFrom?: number;
  expiresAt?: number;
  timer?: ReturnType<typeof setTimeout>;
  closed: boolean;
}

export class StreamHub extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  /** Streams of callers who see the whole tenant. */
  private readonly staff = new Set<Listener>();
  /** Customers' streams by customer: an event is only offered to its own customer's. */
  private readonly customers = new Map<string, Set<Listener>>();
  private open_ = 0;
  /** Buffered events (kept in memory: counting them would read every row). */
  private buffered: number;
  private keepAlive?: ReturnType<typeof setInterval>;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    // seq orders events as they arrived here, the order streams send them in;
    // AUTOINCREMENT never reuses one, so a stale Last-Event-ID cannot point
    // into newer events.
    this.sql.exec(`CREATE TABLE IF NOT EXISTS events (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      id TEXT NOT NULL UNIQUE,
      customer_id TEXT NOT NULL,
      at INTEGER NOT NULL,
      event TEXT NOT NULL
    )`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS tickets (
      hash TEXT PRIMARY KEY,
      principal TEXT NOT NULL,
      expires_at INTEGER NOT NULL
    )`);
    this.buffered = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM events").one().n;
  }

  /**
   * The events of one commit, from the stream sink: buffered, then sent to
   * every live stream that may see them and wants them. An event already
   * buffered (the sink retried) is neither stored nor sent again. Returns
   * how many were new.
   */
  publish(tenantId: string, events: ChangeEvent[]): number {
    let fresh = 0;
    const now = Date.now();
    for (const event of events) {
      const c = event.data.communication;
      if (c.tenant_id !== tenantId) continue;
      const json = eventJson(event);
      const stored = this.sql
        .exec(
          "INSERT INTO events (id, customer_id, at, event) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING RETURNING seq",
          event.id,
          c.customer_id,
          now,
          json,
        )
        .toArray();
      if (stored.length === 0) continue;
      fresh++;
      this.buffered++;
      const frame = eventFrame(event.id, event.type, json);
      for (const l of this.staff) this.offer(l, c, frame);
      for (const l of this.customers.get(c.customer_id) ?? []) this.offer(l, c, frame);
    }
    if (fresh) this.trim(now);
    return fresh;
  }

  /** A new stream for `req`: the opening frame, then a replay or a reset if asked, then live events. */
  open(req: OpenRequest): ReadableStream<Uint8Array> {
    let listener: Listener | undefined;
    const stream = new ReadableStream<Uint8Array>(
      {
        // Runs synchronously, in the constructor.
        start: (controller) => {
          listener = { scope: req.scope, filters: req.filters, controller, expiresAt: req.expiresAt, closed: false };
        },
        pull: () => {
          if (listener) this.replay(listener);
        },
        // The client went away (the Worker's response was cancelled).
        cancel: () => {
          if (listener) this.drop(listener);
        },
      },
      new ByteLengthQueuingStrategy({ highWaterMark: HIGH_WATER_BYTES }),
    );
    const l = listener as Listener;
    l.controller.enqueue(OPENING_FRAME);
    if (req.lastEventId !== undefined) {
      const from = this.sql.exec<{ seq: number }>("SELECT seq FROM events WHERE id = ?", req.lastEventId).toArray()[0];
      if (from) l.replayFrom = from.seq;
      else l.controller.enqueue(resetFrame(this.newestId()));
    }
    this.add(l);
    if (l.expiresAt !== undefined) {
      const left = l.expiresAt - Date.now();
      if (left <= 0) this.close(l, EXPIRED_FRAME);
      else if (left < MAX_TIMER_MS) l.timer = setTimeout(() => this.close(l, EXPIRED_FRAME), left);
    }
    return stream;
  }

  /** Stores a ticket (its secret's hash) for `principal`, until `expiresAt`; expired ones are dropped. */
  issueTicket(hash: string, principal: PrincipalRecord, expiresAt: number): void {
    this.sql.exec("DELETE FROM tickets WHERE expires_at <= ?", Date.now());
    this.sql.exec(
      "INSERT INTO tickets (hash, principal, expires_at) VALUES (?, ?, ?)",
      hash,
      JSON.stringify(principal),
      expiresAt,
    );
  }

  /** The ticket's caller, once: the ticket is gone afterwards, used or expired. */
  redeemTicket(hash: string): PrincipalRecord | null {
    const row = this.sql
      .exec<{ principal: string; expires_at: number }>(
        "DELETE FROM tickets WHERE hash = ? RETURNING principal, expires_at",
        hash,
      )
      .toArray()[0];
    if (!row || row.expires_at <= Date.now()) return null;
    return JSON.parse(row.principal) as PrincipalRecord;
  }

  /**
   * Erasure (issue 21): drops the buffered events of every communication the
   * erasure covers (its customer's, and those to or from its addresses,
   * created before the request: privacy.md, `covers`), since their content
   * is personal data and a resume would send them again. Streams already
   * sent them. Reads the buffer (at most 10,000 events) once. Returns how
   * many went.
   */
  forgetErased(erasure: { customerId: string; addresses: string[]; cutoff: string }): number {
    const scope = { ...erasure, addresses: new Set(erasure.addresses) };
    const gone: number[] = [];
    for (const row of this.sql.exec<{ seq: number; event: string }>("SELECT seq, event FROM events")) {
      const c = (JSON.parse(row.event) as ChangeEvent).data.communication;
      if (covers(scope, c)) gone.push(row.seq);
    }
    for (let i = 0; i < gone.length; i += 500) {
      const some = gone.slice(i, i + 500);
      this.sql.exec(`DELETE FROM events WHERE seq IN (${some.map(() => "?").join(",")})`, ...some);
    }
    this.buffered -= gone.length;
    return gone.length;
  }

  /** Open streams (for tests and operations). */
  openStreams(): number {
    return this.open_;
  }

  /** One keep-alive round (the timer's work; tests call it directly rather than wait). */
  keepAliveRound(): void {
    const now = Date.now();
    for (const l of this.all()) {
      if (l.expiresAt !== undefined && l.expiresAt <= now) this.close(l, EXPIRED_FRAME);
      else this.send(l, KEEPALIVE_FRAME);
    }
  }

  private *all(): Iterable<Listener> {
    yield* this.staff;
    for (const set of this.customers.values()) yield* set;
  }

  private wants = (l: Listener, c: Communication) => visibleIn(l.scope, c) && matchesFilters(l.filters, c);

  private offer(l: Listener, c: Communication, frame: Uint8Array) {
    // A replaying stream reads this event from the buffer when it gets there.
    if (l.replayFrom === undefined && this.wants(l, c)) this.send(l, frame);
  }

  private send(l: Listener, frame: Uint8Array) {
    if (l.closed) return;
    if ((l.controller.desiredSize ?? 0) < -MAX_BACKLOG_BYTES) {
      // Errored rather than closed: its queue is dropped at once, not kept for a reader that does not read.
      try {
        l.controller.error(new Error("stream reader too slow"));
      } catch {
        // already ended
      }
      this.drop(l);
      return;
    }
    try {
      l.controller.enqueue(frame);
    } catch {
      this.drop(l);
    }
  }

  /** Buffered events after the stream's position, while its reader keeps up; live once caught up. */
  private replay(l: Listener) {
    while (l.replayFrom !== undefined && !l.closed && (l.controller.desiredSize ?? 0) > 0) {
      const rows = this.sql
        .exec<{ seq: number; event: string }>(
          "SELECT seq, event FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
          l.replayFrom,
          REPLAY_PAGE,
        )
        .toArray();
      for (const row of rows) {
        l.replayFrom = row.seq;
        const event = JSON.parse(row.event) as ChangeEvent;
        if (this.wants(l, event.data.communication)) {
          l.controller.enqueue(eventFrame(event.id, event.type, row.event));
        }
      }
      // Caught up: from here on, publish() sends to it directly (no await in
      // between, so no event can fall in the gap).
      if (rows.length < REPLAY_PAGE) l.replayFrom = undefined;
    }
  }

  /**
   * Keeps the buffer to its bounds. `at` grows with `seq`, so the events to
   * drop are a prefix of the table: each statement reads about as many rows
   * as it deletes. A stream still replaying from before the cut has lost
   * events it will never be sent: it gets a reset and goes live.
   */
  private trim(now: number) {
    if (this.buffered <= BUFFER_EVENTS) return;
    let last = 0;
    const forced = this.buffered - BUFFER_MAX_EVENTS;
    if (forced > 0) {
      last = this.deleteOldest("SELECT seq FROM events ORDER BY seq LIMIT ?", forced);
    }
    const excess = this.buffered - BUFFER_EVENTS;
    if (excess > 0) {
      last = Math.max(
        last,
        this.deleteOldest("SELECT seq FROM events ORDER BY seq LIMIT ?", excess, now - BUFFER_MIN_AGE_MS),
      );
    }
    if (!last) return;
    for (const l of this.all()) {
      if (l.replayFrom !== undefined && l.replayFrom < last) {
        l.replayFrom = undefined;
        this.send(l, resetFrame(this.newestId()));
      }
    }
  }

  /** Deletes the rows `oldest` selects (older than `before`, if given); returns the highest seq deleted. */
  private deleteOldest(oldest: string, n: number, before?: number): number {
    const rows = this.sql
      .exec<{ seq: number }>(
        before === undefined
          ? `DELETE FROM events WHERE seq IN (${oldest}) RETURNING seq`
          : `DELETE FROM events WHERE seq IN (${oldest}) AND at < ? RETURNING seq`,
        ...(before === undefined ? [n] : [n, before]),
      )
      .toArray();
    this.buffered -= rows.length;
    return rows.reduce((max, r) => Math.max(max, r.seq), 0);
  }

  private newestId(): string | undefined {
    return this.sql.exec<{ id: string }>("SELECT id FROM events ORDER BY seq DESC LIMIT 1").toArray()[0]?.id;
  }

  private add(l: Listener) {
    const own = l.scope.ownCustomerId;
    if (own === undefined) this.staff.add(l);
    else {
      let set = this.customers.get(own);
      if (!set) {
        set = new Set();
        this.customers.set(own, set);
      }
      set.add(l);
    }
    this.open_++;
    this.keepAlive ??= setInterval(() => this.keepAliveRound(), KEEPALIVE_MS);
  }

  /** Ends a stream (after `last`, if given). */
  private close(l: Listener, last?: Uint8Array) {
    if (l.closed) return;
    try {
      if (last) l.controller.enqueue(last);
      l.controller.close();
    } catch {
      // already errored or cancelled
    }
    this.drop(l);
  }

  /** Forgets a stream that ended, either way. */
  private drop(l: Listener) {
    if (l.closed) return;
    l.closed = true;
    clearTimeout(l.timer);
    const own = l.scope.ownCustomerId;
    if (own === undefined) this.staff.delete(l);
    else {
      const set = this.customers.get(own);
      set?.delete(l);
      if (set?.size === 0) this.customers.delete(own);
    }
    this.open_--;
    if (this.open_ === 0 && this.keepAlive !== undefined) {
      clearInterval(this.keepAlive);
      this.keepAlive = undefined;
    }
  }
}
