/**
 * Privacy (manage:operations:tenant; issue 21's API): request an erasure
 * (confirmed first: it cannot be undone) and follow it (the list polls while
 * one is queued or running), the redaction setting, and the audit log with
 * its filters. Addresses typed for an erasure go to the API in the request
 * body only; entries' details are laid out as text.
 */
import { api, type Query } from "../api";
import { busy, byId, el, replace, show } from "../dom";
import { alert, notice } from "../notices";
import type { AuditEntry, Erasure, PrivacySettings } from "../shared-types";
import { formatDate, formatNumber, label, localToIso, t } from "../texts";
import { layout } from "./message";

const when = (iso: string | null) => (iso ? el("time", { datetime: iso }, formatDate(iso)) : t("none"));
const ltr = (text: string) => el("span", { dir: "ltr", class: "break" }, text);
/** While an erasure is queued or running, the list is read again this often. */
const POLL_MS = 3000;

/** A list read a page at a time, newest first; "Show more" follows the cursor. */
function pagedTable<T>(opts: {
  table: string;
  none: string;
  more: string;
  path: string;
  key: string;
  row: (item: T) => HTMLTableRowElement;
  loaded?: (items: T[]) => void;
}) {
  const table = byId(opts.table);
  const tbody = table.querySelector("tbody") as HTMLElement;
  const more = byId<HTMLButtonElement>(opts.more);
  let cursor: string | undefined;
  let query: Query = {};
  let items: T[] = [];
  const load = async (fresh: boolean) => {
    if (fresh) cursor = undefined;
    busy(table, true);
    const answer = await api<Record<string, unknown> & { next_cursor: string | null }>(opts.path, {
      query: { ...query, limit: "25", cursor },
    });
    busy(table, false);
    if (!answer.ok) return alert(answer);
    const page = answer.body[opts.key] as T[];
    items = fresh ? page : [...items, ...page];
    if (fresh) replace(tbody);
    tbody.append(...page.map(opts.row));
    show(byId(opts.none), items.length === 0);
    cursor = answer.body.next_cursor ?? undefined;
    show(more, cursor !== undefined);
    opts.loaded?.(items);
  };
  more.addEventListener("click", () => void load(false));
  return {
    load,
    filter: (q: Query) => {
      query = q;
      return load(true);
    },
  };
}

function erasureRow(e: Erasure): HTMLTableRowElement {
  return el(
    "tr",
    { "data-id": e.id },
    el("td", { "data-label": t("col_requested") }, when(e.created_at)),
    el("td", { "data-label": t("col_customer") }, ltr(e.customer_id)),
    el(
      "td",
      { "data-label": t("col_reference") },
      e.reference ? el("span", { dir: "auto" }, e.reference) : el("span", { class: "muted" }, t("none")),
    ),
    el(
      "td",
      { "data-label": t("col_status") },
      el("span", { class: `badge erasure-${e.status}` }, label("erasure_status", e.status)),
    ),
    el(
      "td",
      { "data-label": t("col_erased") },
      t("erased_counts", {
        communications: formatNumber(e.erased.communications),
        events: formatNumber(e.erased.events),
        archived_days: formatNumber(e.erased.archived_days),
      }),
    ),
    el("td", { "data-label": t("col_finished") }, when(e.finished_at)),
  );
}

function auditRow(a: AuditEntry): HTMLTableRowElement {
  const actor = a.actor.is_system_admin ? t("role_system_admin") : (a.actor.role ?? t("role_customer"));
  return el(
    "tr",
    { "data-id": a.id },
    el("td", { "data-label": t("col_time") }, when(a.created_at)),
    el("td", { "data-label": t("col_action") }, label("audit", a.action)),
    el("td", { "data-label": t("col_actor") }, el("span", { dir: "auto" }, actor), " ", ltr(a.actor.sub)),
    el("td", { "data-label": t("col_target") }, ltr(`${a.target.kind}: ${a.target.id}`)),
    el("td", { "data-label": t("col_details") }, layout(a.details)),
    el("td", { "data-label": t("col_request") }, el("code", { dir: "ltr" }, a.request_id)),
  );
}

export async function privacyView() {
  // Erasures, polled while one is not finished.
  let poll: ReturnType<typeof setTimeout> | undefined;
  const erasures = pagedTable<Erasure>({
    table: "erasures",
    none: "erasures-none",
    more: "erasures-more",
    path: "/erasures",
    key: "erasures",
    row: erasureRow,
    loaded: (items) => {
      clearTimeout(poll);
      if (items.some((e) => e.status === "pending" || e.status === "running"))
        poll = setTimeout(() => void erasures.load(true), POLL_MS);
    },
  });
  byId("erasures-refresh").addEventListener("click", () => void erasures.load(true));

  const form = byId<HTMLFormElement>("erasure-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const customer = byId<HTMLInputElement>("er-customer").value.trim();
    if (!confirm(t("erasure_confirm", { customer }))) return;
    const addresses = byId<HTMLTextAreaElement>("er-addresses")
      .value.split(/\r?\n/)
      .map((a) => a.trim())
      .filter(Boolean);
    const reference = byId<HTMLInputElement>("er-reference").value.trim();
    const answer = await api<{ erasure: Erasure }>("/erasures", {
      method: "POST",
      body: { customer_id: customer, ...(addresses.length ? { addresses } : {}), ...(reference ? { reference } : {}) },
    });
    if (!answer.ok) return alert(answer);
    form.reset();
    await erasures.load(true);
    notice(answer.body.message);
  });

  // The redaction setting.
  const days = byId<HTMLInputElement>("st-days");
  const showSettings = (s: PrivacySettings) => {
    days.value = s.redact_after_days === null ? "" : String(s.redact_after_days);
    const now =
      s.redact_after_days === null
        ? t("settings_keep")
        : t("settings_days_now", { days: formatNumber(s.redact_after_days) });
    byId("settings-now").textContent = s.updated_at
      ? `${now} ${t("settings_changed", { when: formatDate(s.updated_at) })}`
      : now;
  };
  byId<HTMLFormElement>("settings-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = days.value.trim();
    const answer = await api<{ settings: PrivacySettings }>("/settings", {
      method: "PUT",
      body: { redact_after_days: value === "" ? null : Number(value) },
    });
    if (!answer.ok) return alert(answer);
    showSettings(answer.body.settings);
    notice(answer.body.message);
  });

  // The audit log and its filters.
  const audit = pagedTable<AuditEntry>({
    table: "audit",
    none: "audit-none",
    more: "audit-more",
    path: "/audit",
    key: "entries",
    row: auditRow,
  });
  const auditForm = byId<HTMLFormElement>("audit-form");
  auditForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = (id: string) => byId<HTMLInputElement | HTMLSelectElement>(id).value.trim() || undefined;
    const after = value("au-after");
    const before = value("au-before");
    void audit.filter({
      action: value("au-action"),
      actor: value("au-actor"),
      created_after: after && localToIso(after),
      created_before: before && localToIso(before),
    });
  });

  const settings = api<{ settings: PrivacySettings }>("/settings").then((answer) => {
    if (answer.ok) showSettings(answer.body.settings);
    else alert(answer);
  });
  await Promise.all([erasures.load(true), settings, audit.load(true)]);
}
