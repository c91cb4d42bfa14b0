/**
 * The live stream in the browser (README, Live stream; src/stream/): a
 * single-use ticket asked for with the user's token (EventSource cannot send
 * an Authorization header), then an EventSource on the stream with the
 * list's filters. A ticket opens one stream, so EventSource's own reconnect
 * is refused after a drop: then a new ticket is asked for and the stream
 * resumes after the last event seen (`last_event_id`), as the README's
 * snippet does. The token never enters the URL; the ticket does, and is
 * worthless once used (60 s at most otherwise).
 */
import { api, apiUrl, type Query } from "./api";
import type { Communication } from "./shared-types";

export type LiveState = "connecting" | "open" | "reconnecting" | "closed";

export interface LiveEvent {
  id: string;
  type: "communication.created" | "communication.status_changed";
  data: { communication: Communication; previous_status?: string };
}

export interface LiveHandlers {
  onEvent: (event: LiveEvent) => void;
  /** The buffer no longer held the last event seen: list again. */
  onReset: () => void;
  onState: (state: LiveState) => void;
}

/** Starts streaming; the returned function stops it. */
export function live(filters: Query, handlers: LiveHandlers): () => void {
  let lastId = "";
  let source: EventSource | null = null;
  let stopped = false;
  let retry: ReturnType<typeof setTimeout> | undefined;

  const connect = async (state: LiveState) => {
    handlers.onState(state);
    const ticket = await api<{ ticket: string }>("/stream/tickets", { method: "POST" });
    if (stopped) return;
    if (!ticket.ok) return again();
    const url = apiUrl("/stream", { ...filters, ticket: ticket.body.ticket, last_event_id: lastId || undefined });
    const es = new EventSource(url);
    source = es;
    es.addEventListener("open", () => handlers.onState("open"));
    for (const type of ["communication.created", "communication.status_changed"] as const) {
      es.addEventListener(type, (e) => {
        lastId = e.lastEventId || lastId;
        try {
          handlers.onEvent(JSON.parse(e.data) as LiveEvent);
        } catch {
          // A frame that is not JSON is skipped: the stream itself stays usable.
        }
      });
    }
    es.addEventListener("reset", (e) => {
      lastId = (e as MessageEvent).lastEventId || "";
      handlers.onReset();
    });
    es.addEventListener("error", () => {
      // CONNECTING: the browser retries by itself (it will be refused: the ticket is used up,
      // and then the state is CLOSED). CLOSED: a new ticket, from the last event seen.
      if (es.readyState === EventSource.CLOSED && !stopped) {
        es.close();
        again();
      }
    });
  };
  const again = () => {
    if (stopped) return;
    handlers.onState("reconnecting");
    retry = setTimeout(() => void connect("reconnecting"), 1000);
  };

  void connect("connecting");
  return () => {
    stopped = true;
    clearTimeout(retry);
    source?.close();
    handlers.onState("closed");
  };
}
