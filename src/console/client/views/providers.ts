/**
 * Providers: the tenant's connections, each webhook URL with a copy
 * button, and a form to connect (or replace) or remove one. The secret goes
 * to the API once and is never shown; the form field has no name, so it
 * cannot leave in a URL even if this code did not run.
 */
import type { Provider } from "../../../db/schema";
import { SECRET_FIELD } from "../../../providers/secret-fields";
import { PROVIDER_NAMES } from "../../shared";
import { api } from "../api";
import { busy, byId, el, replace, show } from "../dom";
import { alert, notice } from "../notices";
import type { Connection } from "../shared-types";
import { formatDate, t } from "../texts";

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

export async function providersView() {
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
  await reload();
}
