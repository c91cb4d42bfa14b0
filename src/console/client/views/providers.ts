/**
 * Providers: the tenant's connections, each webhook URL with a copy
 * button, and a form to connect (or replace) or remove one (staff with
 * manage:operations:tenant); then the provider events that matched no
 * message (any tenant staff). The secret goes to the API once and is never
 * shown; the form field has no name, so it cannot leave in a URL even if
 * this code did not run.
 */
import { canManage } from "../../../auth/permissions";
import type { Provider } from "../../../db/schema";
import { SECRET_FIELD } from "../../../providers/secret-fields";
import { PROVIDER_NAMES } from "../../shared";
import { api } from "../api";
import { busy, byId, el, replace, show } from "../dom";
import { alert, notice } from "../notices";
import type { Session } from "../session";
import type { Connection, UnmatchedEvent } from "../shared-types";
import { formatDate, label, t } from "../texts";

const SECRET_LABEL = { twilio: "secret_twilio", sendgrid: "secret_sendgrid", standard: "secret_standard" } as const;

/** Copies `input`'s value; where the clipboard is refused, selects it for the user to copy. */
export async function copy(input: HTMLInputElement) {
  try {
    await navigator.clipboard.writeText(input.value);
    notice(t("copied"));
  } catch {
    input.focus();
    input.select();
    notice(t("copy_failed"));
  }
}

function connectionRow(p: Connection, reload: () => Promise<void>): HTMLTableRowElement {
  const name = PROVIDER_NAMES[p.provider] ?? p.provider;
  const url = el("input", {
    type: "text",
    readonly: true,
    dir: "ltr",
    class: "url",
    "aria-label": t("webhook_url_label", { provider: name }),
  });
  url.value = p.webhook_url;
  const copyButton = el("button", { type: "button", "aria-label": t("copy_label", { provider: name }) }, t("copy"));
  copyButton.addEventListener("click", () => copy(url));
  const remove = el(
    "button",
    { type: "button", class: "danger", "aria-label": t("remove_label", { provider: name }) },
    t("remove"),
  );
  remove.addEventListener("click", async () => {
    if (!confirm(t("remove_confirm", { provider: name }))) return;
    const answer = await api(`/providers/${encodeURIComponent(p.provider)}`, { method: "DELETE" });
    if (!answer.ok) return alert(answer);
    await reload();
    notice(answer.body.message);
  });
  return el(
    "tr",
    { "data-provider": p.provider },
    el("th", { scope: "row", "data-label": t("col_provider") }, name),
    el("td", { "data-label": t("col_webhook_url") }, el("div", { class: "copy" }, url, copyButton)),
    el("td", { "data-label": t("field_created_at") }, el("time", { datetime: p.created_at }, formatDate(p.created_at))),
    el("td", { "data-label": t("field_updated_at") }, el("time", { datetime: p.updated_at }, formatDate(p.updated_at))),
    el("td", { "data-label": t("col_actions") }, remove),
  );
}

/** A provider's product name; a name sent on the standard route is shown as it came (text). */
const providerName = (p: string | null) =>
  p === null ? t("none") : p in PROVIDER_NAMES ? PROVIDER_NAMES[p as Provider] : el("span", { dir: "ltr" }, p);

const when = (iso: string) => el("time", { datetime: iso }, formatDate(iso));

function unmatchedRow(e: UnmatchedEvent): HTMLTableRowElement {
  return el(
    "tr",
    {},
    el("td", { "data-label": t("col_provider") }, providerName(e.provider)),
    el("td", { "data-label": t("filter_provider_message_id") }, el("span", { dir: "ltr" }, e.provider_message_id)),
    el(
      "td",
      { "data-label": t("col_status") },
      e.status ? el("span", { class: `badge ${e.status}` }, label("status", e.status)) : t("none"),
    ),
    el("td", { "data-label": t("col_provider_status") }, el("span", { dir: "ltr" }, e.provider_status)),
    el("td", { "data-label": t("col_occurred") }, when(e.occurred_at)),
    el("td", { "data-label": t("col_received") }, when(e.received_at)),
    el("td", { "data-label": t("col_expires") }, when(e.expires_at)),
  );
}

/** The unmatched provider events, newest first, a page at a time ("Show more" follows the cursor). */
async function unmatchedSection() {
  const table = byId("unmatched");
  const tbody = table.querySelector("tbody") as HTMLElement;
  const more = byId<HTMLButtonElement>("unmatched-more");
  let cursor: string | undefined;
  const load = async () => {
    busy(table, true);
    const answer = await api<{ events: UnmatchedEvent[]; next_cursor: string | null }>("/providers/unmatched", {
      query: { limit: "25", cursor },
    });
    busy(table, false);
    if (!answer.ok) return alert(answer);
    tbody.append(...answer.body.events.map(unmatchedRow));
    show(byId("unmatched-none"), tbody.childElementCount === 0);
    cursor = answer.body.next_cursor ?? undefined;
    show(more, cursor !== undefined);
  };
  more.addEventListener("click", () => void load());
  await load();
}

export async function providersView(session: Session) {
  if (!canManage(session.principal)) return unmatchedSection();
  show(byId("connections"));
  const table = byId("providers");
  const reload = async () => {
    busy(table, true);
    const answer = await api<{ providers: Connection[] }>("/providers");
    busy(table, false);
    if (!answer.ok) return alert(answer);
    const rows = answer.body.providers;
    replace(table.querySelector("tbody") as HTMLElement, ...rows.map((p) => connectionRow(p, reload)));
    show(byId("providers-none"), rows.length === 0);
  };

  const form = byId<HTMLFormElement>("connect-form");
  const provider = byId<HTMLSelectElement>("cp-provider");
  const secret = byId<HTMLInputElement>("cp-secret");
  const secretLabel = form.querySelector('label[for="cp-secret"]') as HTMLLabelElement;
  const relabel = () => {
    secretLabel.textContent = t(SECRET_LABEL[provider.value as Provider]);
  };
  provider.addEventListener("change", relabel);
  relabel();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const kind = provider.value as Provider;
    const answer = await api(`/providers/${encodeURIComponent(kind)}`, {
      method: "PUT",
      body: { [SECRET_FIELD[kind]]: secret.value.trim() },
    });
    if (!answer.ok) return alert(answer);
    secret.value = "";
    await reload();
    notice(answer.body.message);
  });
  await Promise.all([reload(), unmatchedSection()]);
}
