/**
 * Messages: the list with the API's filters, newest first, "older" and
 * "newer" by cursor, and the total. The filters are a plain GET form whose
 * values are the console's own URL (so a view can be bookmarked, shared and
 * reloaded); this code reads them, makes the one API call, and builds the
 * rows. "Newer" goes back along the cursors this tab followed (kept in
 * sessionStorage): the API's cursors lead to older pages only.
 */

import { isCustomer } from "../../../auth/permissions";
import type { ConsoleKey } from "../../../i18n/console";
import { CONSOLE_PATH, DEFAULT_PAGE_SIZE, FILTERS, STREAM_FILTERS } from "../../shared";
import { api, type Query } from "../api";
import { busy, byId, el, replace, show } from "../dom";
import { download } from "../export";
import { type LiveEvent, type LiveState, live } from "../live";
import { alert } from "../notices";
import { PAGES, type Session } from "../session";
import type { Communication, CommunicationPage } from "../shared-types";
import { formatDate, formatNumber, label, lang, localToIso, t } from "../texts";

interface Step {
  /** The cursor of the page before (newer); "" for the first page. */
  prev: string;
  /** Position of the page's first row, from 1. */
  start: number;
}

const trail = (): Record<string, Step> => {
  try {
    return JSON.parse(sessionStorage.getItem(PAGES) ?? "{}");
  } catch {
    return {};
  }
};

function remember(cursor: string, step: Step) {
  const all = trail();
  all[cursor] = step;
  // A long walk keeps its last 500 steps.
  const keys = Object.keys(all);
  for (const old of keys.slice(0, Math.max(0, keys.length - 500))) delete all[old];
  sessionStorage.setItem(PAGES, JSON.stringify(all));
}

/** The console's URL for these filters and cursor. */
export function consoleUrl(path: string, params: Record<string, string | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value) search.set(name, value);
  search.set("language", lang);
  return `${path}?${search}`;
}

/** The first line of the content, for a row. */
const firstLine = (content: string) => content.split(/\r\n|\r|\n/, 1)[0] ?? "";

/** The address of the other party: the recipient of an outbound message, the sender of an inbound one. */
export function otherParty(c: Communication): string | null {
  const details = c.communication_details as Record<string, unknown>;
  const party = details[c.direction === "inbound" ? "sender" : "recipient"];
  if (!party || typeof party !== "object") return null;
  const { phone, email } = party as Record<string, unknown>;
  const address = typeof phone === "string" && phone ? phone : typeof email === "string" ? email : "";
  return address || null;
}

export function row(c: Communication, link: Record<string, string | undefined>, fresh = false): HTMLTableRowElement {
  const address = otherParty(c);
  const content = c.content === null ? null : firstLine(c.content);
  return el(
    "tr",
    { "data-id": c.id, class: fresh ? "fresh" : undefined, title: fresh ? t("live_row") : undefined },
    el(
      "td",
      { "data-label": t("col_time") },
      el(
        "a",
        { href: consoleUrl(`${CONSOLE_PATH}/messages/${encodeURIComponent(c.id)}`, link) },
        el("time", { datetime: c.created_at }, formatDate(c.created_at)),
      ),
    ),
    el("td", { "data-label": t("col_channel") }, label("type", c.type)),
    el("td", { "data-label": t("col_direction") }, label("direction", c.direction)),
    el("td", { "data-label": t("col_status") }, el("span", { class: `badge ${c.status}` }, label("status", c.status))),
    el("td", { "data-label": t("col_address") }, address ? el("span", { dir: "ltr" }, address) : t("none")),
    el(
      "td",
      { "data-label": t("col_content"), class: "content" },
      content === null ? el("span", { class: "muted" }, t("no_content")) : el("span", { dir: "auto" }, content),
    ),
  );
}

export async function messagesView(session: Session) {
  const params = new URLSearchParams(location.search);
  const customer = isCustomer(session.principal);
  for (const node of document.querySelectorAll<HTMLElement>("[data-staff-only]")) show(node, !customer);
  show(byId("own-note"), customer);

  const filters: Query = {};
  for (const name of FILTERS) {
    const value = params.get(name)?.trim();
    if (!value || (customer && name === "customer_id")) continue;
    filters[name] = name === "created_after" || name === "created_before" ? localToIso(value) : value;
  }
  filters.limit ??= String(DEFAULT_PAGE_SIZE);
  const cursor = params.get("cursor") ?? undefined;
  const here: Record<string, string | undefined> = { ...Object.fromEntries(params), language: undefined };

  byId("export-csv").addEventListener("click", () => void download(filters, "csv"));
  byId("export-ndjson").addEventListener("click", () => void download(filters, "ndjson"));

  if (await list(filters, cursor, here)) liveSwitch(filters, cursor, here);
}

/** Loads one page of the list; false when the API refused it. */
async function list(filters: Query, cursor: string | undefined, here: Record<string, string | undefined>) {
  const summary = byId("summary");
  const table = byId("messages");
  summary.textContent = t("loading");
  busy(table, true);
  const answer = await api<CommunicationPage>("", { query: { ...filters, cursor } });
  busy(table, false);
  if (!answer.ok) {
    summary.textContent = "";
    alert(answer);
    return false;
  }
  const page = answer.body;
  const tbody = table.querySelector("tbody") as HTMLTableSectionElement;
  replace(tbody, ...page.communications.map((c) => row(c, here)));
  performance.mark("cc:first-rows");
  show(byId("empty"), page.communications.length === 0);

  const start = cursor ? (trail()[cursor]?.start ?? 0) : 1;
  const total = t(page.total_relation === "gte" ? "messages_total_gte" : "messages_total", {
    count: formatNumber(page.total),
  });
  const range =
    start > 0 && page.communications.length > 0
      ? ` ${t("messages_range", { from: formatNumber(start), to: formatNumber(start + page.communications.length - 1) })}`
      : "";
  summary.textContent = `${total}.${range}`;

  const older = byId<HTMLAnchorElement>("page-older");
  const next = page.next_cursor;
  show(older, next !== null);
  if (next) {
    older.href = consoleUrl(CONSOLE_PATH, { ...here, cursor: next });
    older.onclick = () =>
      remember(next, { prev: cursor ?? "", start: start > 0 ? start + page.communications.length : 0 });
  }
  const newer = byId<HTMLAnchorElement>("page-newer");
  show(newer, cursor !== undefined);
  if (cursor !== undefined) newer.href = consoleUrl(CONSOLE_PATH, { ...here, cursor: trail()[cursor]?.prev });
  return true;
}

/** Does a communication fall within the list's date filters (which the stream does not take)? */
function withinDates(c: Communication, filters: Query): boolean {
  if (filters.created_after && c.created_at < filters.created_after) return false;
  if (filters.created_before && c.created_at >= filters.created_before) return false;
  return true;
}

const LIVE_STATE: Record<LiveState, ConsoleKey> = {
  connecting: "live_connecting",
  open: "live_on",
  reconnecting: "live_reconnecting",
  closed: "live_off",
};

/**
 * The Live switch: while on, each new or changed message the stream brings
 * (with the list's filters) goes to the top of the table, replacing its old
 * row; a reset lists again. On and off is kept in the console's URL
 * (`live=1`), so a reload or a language change keeps it.
 */
function liveSwitch(filters: Query, cursor: string | undefined, here: Record<string, string | undefined>) {
  const toggle = byId<HTMLButtonElement>("live-toggle");
  const status = byId("live-status");
  const tbody = byId("messages").querySelector("tbody") as HTMLTableSectionElement;
  const streamFilters: Query = {};
  for (const name of STREAM_FILTERS) streamFilters[name] = filters[name];
  let stop: (() => void) | null = null;
  let arrived = 0;

  const onEvent = ({ data: { communication: c } }: LiveEvent) => {
    if (!withinDates(c, filters)) return;
    tbody.querySelector(`tr[data-id="${CSS.escape(c.id)}"]`)?.remove();
    tbody.prepend(row(c, here, true));
    show(byId("empty"), false);
    arrived += 1;
    status.textContent = t("live_arrived", { count: formatNumber(arrived) });
  };
  const set = (on: boolean) => {
    toggle.setAttribute("aria-pressed", String(on));
    const url = new URL(location.href);
    if (on) url.searchParams.set("live", "1");
    else url.searchParams.delete("live");
    history.replaceState(null, "", url);
    here.live = on ? "1" : undefined;
    if (on && !stop) {
      arrived = 0;
      stop = live(streamFilters, {
        onEvent,
        onReset: () => {
          void list(filters, cursor, here).then(() => {
            status.textContent = t("live_reset");
          });
        },
        onState: (state) => {
          status.textContent = t(LIVE_STATE[state]);
          status.dataset.state = state;
        },
      });
    } else if (!on && stop) {
      stop();
      stop = null;
    }
  };
  toggle.addEventListener("click", () => set(toggle.getAttribute("aria-pressed") !== "true"));
  if (new URLSearchParams(location.search).get("live") === "1") set(true);
}
