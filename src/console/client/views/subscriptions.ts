/**
 * Subscriptions (manage:operations:tenant): the list; a form to create one,
 * whose signing secret is shown once with a copy button (as after a
 * rotation) and forgotten from the page when the user says it is stored or
 * leaves; pause and resume; a new secret; delete; and each one's delivery
 * log (the last 7 days, a page at a time) with a replay form. URLs,
 * descriptions and receivers' answers are text.
 */
import { api } from "../api";
import { busy, byId, el, replace, show } from "../dom";
import { alert, clearAlert, notice } from "../notices";
import type { Delivery, Subscription, SubscriptionDetail, SubscriptionWithSecret } from "../shared-types";
import { formatDate, formatNumber, label, localToIso, t } from "../texts";
import { copy } from "./providers";

const when = (iso: string | null) => (iso ? el("time", { datetime: iso }, formatDate(iso)) : t("none"));
const path = (id: string, tail = "") => `/subscriptions/${encodeURIComponent(id)}${tail}`;

/** Shows a secret the API returned this once; the page keeps it only in that field, until "stored". */
function showSecret(secret: string) {
  const panel = byId("secret-once");
  const input = byId<HTMLInputElement>("secret-value");
  input.value = secret;
  show(panel);
  panel.focus();
}

function hideSecret() {
  byId<HTMLInputElement>("secret-value").value = "";
  show(byId("secret-once"), false);
}

export async function subscriptionsView() {
  const table = byId("subscriptions");
  const tbody = table.querySelector("tbody") as HTMLElement;

  const reload = async () => {
    busy(table, true);
    const answer = await api<{ subscriptions: Subscription[] }>("/subscriptions");
    busy(table, false);
    if (!answer.ok) return alert(answer);
    replace(tbody, ...answer.body.subscriptions.map(subscriptionRow));
    show(byId("subscriptions-none"), answer.body.subscriptions.length === 0);
  };

  /** Runs an action on a subscription; reloads the list and says what the API said. */
  const act = async (
    request: Promise<{ ok: true; body: { message: string } } | { ok: false; status: number; message?: string }>,
    after?: (body: any) => void,
  ) => {
    const answer = await request;
    if (!answer.ok) return alert(answer);
    await reload();
    after?.(answer.body);
    notice(answer.body.message);
  };

  function subscriptionRow(s: Subscription): HTMLTableRowElement {
    const url = s.url;
    const button = (text: string, aria: string, onClick: () => void, danger = false) => {
      const b = el("button", { type: "button", "aria-label": aria, class: danger ? "danger" : undefined }, text);
      b.addEventListener("click", onClick);
      return b;
    };
    const paused = s.status !== "active";
    const toggle = paused
      ? button(t("sub_resume"), t("sub_resume_label", { url }), () =>
          act(api(path(s.id), { method: "PATCH", body: { status: "active" } })),
        )
      : button(t("sub_pause"), t("sub_pause_label", { url }), () =>
          act(api(path(s.id), { method: "PATCH", body: { status: "paused" } })),
        );
    const rotate = button(t("sub_rotate"), t("sub_rotate_label", { url }), () => {
      if (!confirm(t("sub_rotate_confirm", { url }))) return;
      void act(api<{ subscription: SubscriptionWithSecret }>(path(s.id, "/secret"), { method: "POST" }), (body) =>
        showSecret(body.subscription.secret),
      );
    });
    const remove = button(
      t("sub_delete"),
      t("sub_delete_label", { url }),
      () => {
        if (!confirm(t("sub_delete_confirm", { url }))) return;
        if (openId === s.id) closeDeliveries();
        void act(api(path(s.id), { method: "DELETE" }));
      },
      true,
    );
    const log = button(t("sub_deliveries"), t("sub_deliveries_label", { url }), () => void openDeliveries(s));
    return el(
      "tr",
      { "data-id": s.id },
      el("td", { "data-label": t("col_url") }, el("span", { dir: "ltr", class: "break" }, url)),
      el("td", { "data-label": t("col_events") }, s.events.map((e) => label("event", e)).join(", ")),
      el(
        "td",
        { "data-label": t("col_description") },
        s.description ? el("span", { dir: "auto" }, s.description) : el("span", { class: "muted" }, t("none")),
      ),
      el(
        "td",
        { "data-label": t("col_status") },
        el("span", { class: `badge ${s.status}` }, label("sub_status", s.status)),
      ),
      el("td", { "data-label": t("field_created_at") }, when(s.created_at)),
      el("td", { "data-label": t("col_actions") }, el("div", { class: "row-actions" }, toggle, log, rotate, remove)),
    );
  }

  // The delivery log of one subscription at a time, below the list.
  const panel = byId("deliveries");
  const logTable = byId("delivery-log");
  const logBody = logTable.querySelector("tbody") as HTMLElement;
  const more = byId<HTMLButtonElement>("deliveries-more");
  let openId: string | null = null;
  let cursor: string | undefined;

  const deliveryRow = (d: Delivery) =>
    el(
      "tr",
      {},
      el(
        "td",
        { "data-label": t("col_event") },
        el("span", {}, label("event", d.type)),
        " ",
        el("code", { dir: "ltr" }, d.event_id),
      ),
      el(
        "td",
        { "data-label": t("col_status") },
        el("span", { class: `badge ${d.status}` }, label("delivery_status", d.status)),
      ),
      el("td", { "data-label": t("col_attempts") }, formatNumber(d.attempts)),
      el(
        "td",
        { "data-label": t("col_last_answer") },
        d.last_status_code !== null
          ? el("span", { dir: "ltr" }, `HTTP ${d.last_status_code}`)
          : d.last_error
            ? label("delivery_error", d.last_error)
            : t("none"),
        d.last_response ? el("pre", { class: "response", dir: "ltr" }, d.last_response) : null,
      ),
      el("td", { "data-label": t("col_last_attempt") }, when(d.last_attempt_at)),
      el("td", { "data-label": t("col_next_attempt") }, when(d.next_attempt_at)),
    );

  const loadDeliveries = async (id: string) => {
    busy(logTable, true);
    const answer = await api<{ deliveries: Delivery[]; next_cursor: string | null }>(path(id, "/deliveries"), {
      query: { limit: "25", cursor },
    });
    busy(logTable, false);
    if (openId !== id) return;
    if (!answer.ok) return alert(answer);
    logBody.append(...answer.body.deliveries.map(deliveryRow));
    show(byId("deliveries-none"), logBody.childElementCount === 0);
    cursor = answer.body.next_cursor ?? undefined;
    show(more, cursor !== undefined);
  };
  more.addEventListener("click", () => openId && void loadDeliveries(openId));

  async function openDeliveries(s: Subscription) {
    openId = s.id;
    cursor = undefined;
    replace(logBody);
    replace(byId("deliveries-heading"), t("deliveries_heading", { url: s.url }));
    replace(byId("delivery-counts"));
    show(panel);
    panel.focus();
    const [detail] = await Promise.all([api<{ subscription: SubscriptionDetail }>(path(s.id)), loadDeliveries(s.id)]);
    if (detail.ok && openId === s.id) {
      const n = detail.body.subscription.delivery_counts;
      byId("delivery-counts").textContent = t("deliveries_counts", {
        succeeded: formatNumber(n.succeeded),
        failed: formatNumber(n.failed),
        pending: formatNumber(n.pending),
      });
    }
  }
  function closeDeliveries() {
    openId = null;
    show(panel, false);
  }
  byId("deliveries-close").addEventListener("click", closeDeliveries);
  byId<HTMLFormElement>("replay-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!openId) return;
    const since = byId<HTMLInputElement>("rp-since").value;
    const until = byId<HTMLInputElement>("rp-until").value;
    const answer = await api(path(openId, "/replay"), {
      method: "POST",
      body: { since: localToIso(since), ...(until ? { until: localToIso(until) } : {}) },
    });
    if (!answer.ok) return alert(answer);
    notice(answer.body.message);
  });

  // The secret shown once.
  byId("secret-copy").addEventListener("click", () => void copy(byId<HTMLInputElement>("secret-value")));
  byId("secret-done").addEventListener("click", hideSecret);

  // Creating one.
  const form = byId<HTMLFormElement>("sub-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const events = [...form.querySelectorAll<HTMLInputElement>('input[name="events"]:checked')].map((i) => i.value);
    if (events.length === 0) return alert({ status: 400 }, t("sub_events_needed"));
    clearAlert();
    const description = byId<HTMLInputElement>("sb-description").value.trim();
    const answer = await api<{ subscription: SubscriptionWithSecret }>("/subscriptions", {
      method: "POST",
      body: { url: byId<HTMLInputElement>("sb-url").value.trim(), events, ...(description ? { description } : {}) },
    });
    if (!answer.ok) return alert(answer);
    form.reset();
    await reload();
    showSecret(answer.body.subscription.secret);
    notice(answer.body.message);
  });

  await reload();
}
