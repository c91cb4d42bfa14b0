/**
 * A message: every field, `communication_details` laid out as nested
 * lists, the provider and its id, and the event timeline (each status with
 * its times and provider details). Staff with manage:operations:tenant can
 * set a status (the API's forward-only rule decides; its answer says
 * whether anything changed) and redact it (confirmed first: it cannot be
 * undone). Everything from the message is text.
 */
import { canManage, canReadTenant } from "../../../auth/permissions";
import type { ConsoleKey } from "../../../i18n/console";
import { api } from "../api";
import { busy, byId, el, replace, show } from "../dom";
import { alert, notice } from "../notices";
import type { Session } from "../session";
import type { Communication, CommunicationEvent } from "../shared-types";
import { formatDate, label, localToIso, t, toLocalInput } from "../texts";

/** Nesting shown at most (the API accepts 32 levels); deeper values are shown as JSON text. */
const MAX_DEPTH = 8;

/** Any JSON value as text, lists and nested description lists. */
export function layout(value: unknown, depth = 0): Node {
  if (value === null || value === undefined) return el("span", { class: "muted" }, t("none"));
  if (typeof value !== "object") return el("span", { dir: "auto" }, String(value));
  if (depth >= MAX_DEPTH) return el("code", { dir: "ltr" }, JSON.stringify(value));
  if (Array.isArray(value)) {
    if (value.length === 0) return el("span", { class: "muted" }, t("none"));
    return el("ol", { class: "values" }, ...value.map((v) => el("li", {}, layout(v, depth + 1))));
  }
  const entries = Object.entries(value);
  if (entries.length === 0) return el("span", { class: "muted" }, t("none"));
  return el(
    "dl",
    { class: "values" },
    ...entries.flatMap(([key, v]) => [el("dt", { dir: "ltr" }, key), el("dd", {}, layout(v, depth + 1))]),
  );
}

const ltr = (text: string | null) =>
  text === null ? el("span", { class: "muted" }, t("none")) : el("span", { dir: "ltr" }, text);
const when = (iso: string) => el("time", { datetime: iso }, formatDate(iso));

function fields(c: Communication, session: Session): [ConsoleKey, Node][] {
  const rows: [ConsoleKey, Node][] = [
    ["field_id", ltr(c.id)],
    ["field_customer", ltr(c.customer_id)],
    ["field_delivery", ltr(c.delivery_id)],
    ["field_type", el("span", {}, label("type", c.type))],
    ["field_direction", el("span", {}, label("direction", c.direction))],
    ["field_status", el("span", { class: `badge ${c.status}` }, label("status", c.status))],
    [
      "field_content",
      c.content === null
        ? el("span", { class: "muted" }, t("no_content"))
        : el("p", { class: "message-content", dir: "auto" }, c.content),
    ],
    ["field_provider", ltr(c.provider)],
    ["field_provider_message_id", ltr(c.provider_message_id)],
    ["field_created_at", when(c.created_at)],
    ["field_updated_at", when(c.updated_at)],
  ];
  // Who created it and the tenant are staff matters.
  if (canReadTenant(session.principal))
    rows.push(["field_created_by", ltr(c.created_by)], ["field_tenant", ltr(c.tenant_id)]);
  return rows;
}

function timeline(c: Communication, events: CommunicationEvent[]): HTMLElement[] {
  const first = events[0]?.from_status ?? c.status;
  const items = [
    el(
      "li",
      {},
      el("p", { class: "event" }, t("timeline_created", { status: label("status", first) })),
      el("p", {}, when(c.created_at)),
    ),
  ];
  for (const e of events) {
    const hasDetails = Object.keys(e.details).length > 0;
    items.push(
      el(
        "li",
        {},
        el(
          "p",
          { class: "event" },
          t("timeline_change", { from: label("status", e.from_status), to: label("status", e.status) }),
        ),
        el(
          "dl",
          { class: "times" },
          el("dt", {}, t("timeline_occurred")),
          el("dd", {}, when(e.occurred_at)),
          el("dt", {}, t("timeline_recorded")),
          el("dd", {}, when(e.recorded_at)),
          hasDetails && el("dt", {}, t("timeline_details")),
          hasDetails && el("dd", {}, layout(e.details)),
        ),
      ),
    );
  }
  if (events.length === 0) items.push(el("li", { class: "muted" }, t("timeline_none")));
  return items;
}

export async function messageView(session: Session) {
  const id = document.body.dataset.id ?? "";
  const path = `/${encodeURIComponent(id)}`;

  const region = byId("message");
  const load = async () => {
    busy(region, true);
    const [one, events] = await Promise.all([
      api<{ communication: Communication }>(path),
      api<{ events: CommunicationEvent[] }>(`${path}/events`),
    ]);
    busy(region, false);
    if (!one.ok || !events.ok) {
      const failed = one.ok ? events : one;
      if (!failed.ok)
        alert(failed, failed.status === 404 || failed.status === 400 ? t("message_not_found") : undefined);
      return null;
    }
    const c = one.body.communication;
    replace(
      byId("fields"),
      ...fields(c, session).flatMap(([key, value]) => [el("dt", {}, t(key)), el("dd", {}, value)]),
    );
    const details = c.communication_details;
    replace(
      byId("comm-details"),
      Object.keys(details).length === 0 ? el("p", { class: "muted" }, t("details_empty")) : layout(details),
    );
    replace(byId("timeline"), ...timeline(c, events.body.events));
    show(region);
    return c;
  };

  const c = await load();
  if (!c || !canManage(session.principal)) return;
  show(byId("redact"));
  byId("redact-button").addEventListener("click", async () => {
    if (!confirm(t("redact_confirm"))) return;
    const answer = await api<{ communication: Communication }>(`${path}/redact`, { method: "POST" });
    if (!answer.ok) return alert(answer);
    await load();
    notice(answer.body.message);
  });
  show(byId("status-change"));
  const form = byId<HTMLFormElement>("status-form");
  const status = byId<HTMLSelectElement>("sc-status");
  const at = byId<HTMLInputElement>("sc-at");
  status.value = c.status;
  const shown = toLocalInput();
  at.value = shown;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    // Left as shown, "when" means now, to the millisecond: the field holds whole seconds, and a
    // time truncated to the second can fall before an event recorded in that same second, which
    // the API's forward-only rule would then ignore.
    const occurredAt = at.value === shown ? new Date().toISOString() : localToIso(at.value);
    const answer = await api<{ communication: Communication }>(path, {
      method: "PATCH",
      body: { status: status.value, occurred_at: occurredAt },
    });
    if (!answer.ok) return alert(answer);
    await load();
    notice(answer.body.message);
  });
}
