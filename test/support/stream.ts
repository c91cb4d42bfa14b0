/**
 * Reading the live stream in tests. `call()` (./helpers.ts) reads a whole
 * body, which a stream never finishes: `openStream()` sends the request
 * through the Worker the same way, then parses Server-Sent Events frames as
 * they come, so a test waits for a condition (with a generous bound) and
 * then cancels. Every event frame's `data` is checked against the ChangeEvent
 * schema of the OpenAPI document.
 */
import { createExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import worker from "../../src/index";
import { BASE } from "./helpers";
import { schemaProblems } from "./openapi-contract";

export interface Frame {
  id?: string;
  event?: string;
  data?: string;
  retry?: number;
  comments: string[];
}

export interface ParsedEvent {
  id: string;
  type: string;
  data: { communication: Record<string, any>; previous_status?: string };
}

/** Parses one SSE frame (the lines between blank lines), per the HTML standard's field rules. */
export function parseFrame(block: string): Frame {
  const frame: Frame = { comments: [] };
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) {
      frame.comments.push(line.slice(1).trim());
      continue;
    }
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "id") frame.id = value;
    else if (field === "event") frame.event = value;
    else if (field === "data") frame.data = frame.data === undefined ? value : `${frame.data}\n${value}`;
    else if (field === "retry") frame.retry = Number(value);
  }
  return frame;
}

export interface OpenedStream {
  status: number;
  headers: Headers;
  /** Every frame received so far, in order. */
  frames: Frame[];
  /** The event frames received so far (communication.* types), parsed and schema-checked. */
  events(): ParsedEvent[];
  /** Reads until `done(frames)` holds; throws after `timeoutMs` with what was received. */
  until(done: (frames: Frame[]) => boolean, timeoutMs?: number): Promise<Frame[]>;
  /** Reads until the server ends the stream (or the connection breaks); true if it ended. */
  ended(timeoutMs?: number): Promise<boolean>;
  /** Reads whatever arrives within `ms` (to show that nothing else came). */
  settle(ms?: number): Promise<Frame[]>;
  close(): Promise<void>;
}

const decoder = new TextDecoder();

export async function openStream(
  query = "",
  opts: { token?: string; headers?: Record<string, string>; env?: Partial<Env> } = {},
): Promise<OpenedStream> {
  const headers = new Headers(opts.headers);
  if (opts.token) headers.set("authorization", `Bearer ${opts.token}`);
  const request = new Request(`${BASE}/stream${query}`, { headers });
  // With bindings replaced (a limiter double), the request goes to the Worker's fetch directly, as call() does.
  const res = opts.env
    ? await worker.fetch(request, { ...env, ...opts.env }, createExecutionContext())
    : await exports.default.fetch(request);
  const frames: Frame[] = [];
  let buffer = "";
  let finished = false;
  const reader = res.body?.getReader();
  let pending: Promise<ReadableStreamReadResult<Uint8Array>> | undefined;

  /** One read, bounded by `deadline`; false when the time is up (the read stays pending for the next call). */
  const readOnce = async (deadline: number): Promise<boolean> => {
    if (!reader || finished) return false;
    pending ??= reader.read();
    const left = deadline - Date.now();
    if (left <= 0) return false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const result = await Promise.race([
      pending.then(
        (r) => r,
        () => ({ done: true, value: undefined }) as ReadableStreamReadResult<Uint8Array>,
      ),
      new Promise<"timeout">((ok) => {
        timer = setTimeout(() => ok("timeout"), left);
      }),
    ]);
    clearTimeout(timer);
    if (result === "timeout") return false;
    pending = undefined;
    if (result.done) {
      finished = true;
      return false;
    }
    buffer += decoder.decode(result.value, { stream: true });
    let cut = buffer.indexOf("\n\n");
    while (cut !== -1) {
      frames.push(parseFrame(buffer.slice(0, cut)));
      buffer = buffer.slice(cut + 2);
      cut = buffer.indexOf("\n\n");
    }
    return true;
  };

  const events = () =>
    frames
      .filter((f) => f.event?.startsWith("communication."))
      .map((f) => {
        const parsed = JSON.parse(f.data ?? "null") as ParsedEvent;
        const problems = schemaProblems({ $ref: "#/components/schemas/ChangeEvent" }, parsed);
        if (problems.length) throw new Error(`event frame does not match ChangeEvent: ${problems.join("; ")}`);
        if (parsed.id !== f.id || parsed.type !== f.event) throw new Error(`frame id/event differ from its data`);
        return parsed;
      });

  return {
    status: res.status,
    headers: res.headers,
    frames,
    events,
    async until(done, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (!done(frames)) {
        if (!(await readOnce(deadline)) && (finished || Date.now() >= deadline)) {
          if (done(frames)) break;
          throw new Error(
            `stream condition not met within ${timeoutMs} ms (${finished ? "stream ended" : "timed out"}); frames: ${JSON.stringify(frames).slice(0, 2000)}`,
          );
        }
      }
      return frames;
    },
    async ended(timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (!finished && Date.now() < deadline) await readOnce(deadline);
      return finished;
    },
    async settle(ms = 300) {
      const deadline = Date.now() + ms;
      while (!finished && Date.now() < deadline) await readOnce(deadline);
      return frames;
    },
    async close() {
      finished = true;
      await reader?.cancel().catch(() => undefined);
    },
  };
}

/** The ids of the event frames (not resets, not comments). */
export const eventIds = (frames: Frame[]) =>
  frames.filter((f) => f.event?.startsWith("communication.")).map((f) => f.id as string);

/** The communication ids the stream's event frames carry. */
export const communicationIds = (s: OpenedStream) => s.events().map((e) => e.data.communication.id as string);
