/** @jsxImportSource hono/jsx */
/**
 * The console's pages, rendered with Hono's JSX: the frame (header, sign-in,
 * navigation, live regions) and each view's skeleton (headings, forms,
 * empty tables), in the reader's language. Nothing here knows the user: the
 * token lives in the tab's sessionStorage and never reaches this code; the
 * client (src/console/client/) fills the views from the API with it. Every
 * value placed in the page is escaped by the JSX renderer; the client's
 * texts travel as JSON in a non-executable script element.
 */

import { raw } from "hono/html";
import type { Child } from "hono/jsx";
import { BASE_PATH } from "../communications/routes";
import { AUDIT_ACTIONS, COMMUNICATION_TYPES, DIRECTIONS, PROVIDERS, STATUSES } from "../db/schema";
import { EVENT_TYPES } from "../events/event";
import { type ConsoleKey, consoleCatalogue, consoleText } from "../i18n/console";
import type { Language } from "../i18n/messages";
import { CONSOLE_ICON, CONSOLE_SCRIPT, CONSOLE_STYLES } from "./policy";
import { CONSOLE_PATH, DEFAULT_PAGE_SIZE, FILTERS, PAGE_SIZES, PROVIDER_NAMES } from "./shared";

export const RTL: ReadonlySet<Language> = new Set(["ar", "ku", "fa"]);

/** Each language by its own name, as language pickers show them. */
const LANGUAGE_NAMES: Record<Language, string> = { en: "English", ar: "العربية", ku: "کوردی", fa: "فارسی" };

export type View = "messages" | "message" | "providers" | "subscriptions" | "privacy";

export interface PageProps {
  lang: Language;
  view: View;
  /** The path of this page, for the language form. */
  path: string;
  /** The page's query (filters, cursor), echoed in forms and kept across a language change. */
  query: Record<string, string>;
  /** The message id of the message view. */
  id?: string;
}

/** JSON that can sit in a <script> element: no `<` (so no `</script>`), no line separators. */
export const scriptJson = (value: unknown) =>
  JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");

export const consoleHref = (path: string, lang: Language, params: Record<string, string> = {}) => {
  const search = new URLSearchParams({ ...params, language: lang });
  return `${path}?${search}`;
};

const VIEW_TITLE: Record<View, ConsoleKey> = {
  messages: "nav_messages",
  message: "message_heading",
  providers: "nav_providers",
  subscriptions: "nav_subscriptions",
  privacy: "nav_privacy",
};

export function Page(props: PageProps) {
  const { lang, view, path, query } = props;
  const t = (key: ConsoleKey, params?: Record<string, string | number>) => consoleText(lang, key, params);
  const current = (v: View) => (v === view || (v === "messages" && view === "message") ? "page" : undefined);
  return (
    <html lang={lang} dir={RTL.has(lang) ? "rtl" : "ltr"}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <title>{t("page_title", { view: t(VIEW_TITLE[view]) })}</title>
        <link rel="icon" href={CONSOLE_ICON} type="image/svg+xml" />
        <link rel="stylesheet" href={CONSOLE_STYLES} />
        <script type="module" src={CONSOLE_SCRIPT} />
        <script type="application/json" id="cc-texts">
          {raw(scriptJson(consoleCatalogue[lang]))}
        </script>
      </head>
      <body data-view={view} data-lang={lang} data-id={props.id} data-api={BASE_PATH}>
        <a class="skip" href="#main">
          {t("skip_to_main")}
        </a>
        <header class="top">
          <p class="brand">{t("app_name")}</p>
          <nav id="nav" aria-label={t("nav_label")} hidden>
            <ul>
              <li>
                <a href={consoleHref(CONSOLE_PATH, lang)} data-needs="read" aria-current={current("messages")}>
                  {t("nav_messages")}
                </a>
              </li>
              <li>
                <a
                  href={consoleHref(`${CONSOLE_PATH}/providers`, lang)}
                  data-needs="staff"
                  aria-current={current("providers")}
                  hidden
                >
                  {t("nav_providers")}
                </a>
              </li>
              <li>
                <a
                  href={consoleHref(`${CONSOLE_PATH}/subscriptions`, lang)}
                  data-needs="manage"
                  aria-current={current("subscriptions")}
                  hidden
                >
                  {t("nav_subscriptions")}
                </a>
              </li>
              <li>
                <a
                  href={consoleHref(`${CONSOLE_PATH}/privacy`, lang)}
                  data-needs="manage"
                  aria-current={current("privacy")}
                  hidden
                >
                  {t("nav_privacy")}
                </a>
              </li>
            </ul>
          </nav>
          <div id="session" class="session" hidden>
            <p id="who" />
            <form id="tenant-form" class="inline" hidden>
              <label for="tenant-input">{t("tenant_label")}</label>
              <input id="tenant-input" type="text" dir="ltr" autocomplete="off" spellcheck={false} size={36} />
              <button type="submit">{t("tenant_apply")}</button>
            </form>
            <button type="button" id="sign-out">
              {t("sign_out_button")}
            </button>
          </div>
          <form class="inline language" method="get" action={path}>
            <label for="language-select">{t("language_label")}</label>
            <select id="language-select" name="language">
              {Object.entries(LANGUAGE_NAMES).map(([code, name]) => (
                <option value={code} lang={code} selected={code === lang}>
                  {name}
                </option>
              ))}
            </select>
            {Object.entries(query)
              .filter(([name]) => name !== "language")
              .map(([name, value]) => (
                <input type="hidden" name={name} value={value} />
              ))}
            <button type="submit">{t("language_apply")}</button>
          </form>
        </header>
        <main id="main" tabindex={-1}>
          <div id="notice" class="notice" role="status" aria-live="polite" />
          <div id="alert" class="alert" role="alert" />
          <noscript>
            <p>{t("needs_javascript")}</p>
          </noscript>
          <section id="sign-in" class="card narrow" aria-labelledby="sign-in-heading" hidden>
            <h1 id="sign-in-heading" tabindex={-1}>
              {t("sign_in_heading")}
            </h1>
            <p id="sign-in-intro">{t("sign_in_intro")}</p>
            {/* No name on the token field: a form submitted without the script sends nothing. */}
            <form id="sign-in-form" method="post" action={CONSOLE_PATH}>
              <label for="token-input">{t("token_label")}</label>
              <input
                id="token-input"
                type="password"
                dir="ltr"
                autocomplete="off"
                spellcheck={false}
                required
                aria-describedby="sign-in-intro"
              />
              <button type="submit">{t("sign_in_button")}</button>
            </form>
          </section>
          <section id="no-access" class="card narrow" aria-labelledby="no-access-heading" hidden>
            <h1 id="no-access-heading" tabindex={-1}>
              {t(VIEW_TITLE[view])}
            </h1>
            <p id="no-access-text">{t("no_access")}</p>
          </section>
          <section id="view" aria-labelledby="view-heading" hidden>
            {view === "messages" && <MessagesView {...props} t={t} />}
            {view === "message" && <MessageView {...props} t={t} />}
            {view === "providers" && <ProvidersView {...props} t={t} />}
            {view === "subscriptions" && <SubscriptionsView {...props} t={t} />}
            {view === "privacy" && <PrivacyView {...props} t={t} />}
          </section>
        </main>
      </body>
    </html>
  );
}

type ViewProps = PageProps & { t: (key: ConsoleKey, params?: Record<string, string | number>) => string };

/**
 * A list the client script fills (its tbody), busy until then: the one
 * shape of every table of the console (columns are header cells, in order).
 */
function DataTable(props: { id: string; caption: string; columns: string[]; class?: string }) {
  return (
    <div class="table-wrap">
      <table id={props.id} class={props.class} aria-busy="true">
        <caption>{props.caption}</caption>
        <thead>
          <tr>
            {props.columns.map((column) => (
              <th scope="col">{column}</th>
            ))}
          </tr>
        </thead>
        <tbody />
      </table>
    </div>
  );
}

/** "Show more" under a cursor-paged table, hidden until the client knows there is a next page. */
function ShowMore(props: { id: string; label: string }) {
  return (
    <p>
      <button type="button" id={props.id} hidden>
        {props.label}
      </button>
    </p>
  );
}

function Field(props: { id: string; label: string; children: Child; class?: string; staffOnly?: boolean }) {
  return (
    <div class={props.class ?? "field"} data-staff-only={props.staffOnly ? "" : undefined}>
      <label for={props.id}>{props.label}</label>
      {props.children}
    </div>
  );
}

function Choice(props: {
  id: string;
  name: string;
  label: string;
  values: readonly string[];
  text: (v: string) => string;
  any: string;
  selected?: string;
}) {
  return (
    <Field id={props.id} label={props.label}>
      <select id={props.id} name={props.name}>
        <option value="">{props.any}</option>
        {props.values.map((v) => (
          <option value={v} selected={v === props.selected}>
            {props.text(v)}
          </option>
        ))}
      </select>
    </Field>
  );
}

function MessagesView({ lang, query, t }: ViewProps) {
  const text = (prefix: string) => (v: string) => t(`${prefix}_${v}` as ConsoleKey);
  const input = (id: string, name: (typeof FILTERS)[number], label: ConsoleKey, type = "text", staffOnly = false) => (
    <Field id={id} label={t(label)} staffOnly={staffOnly}>
      <input id={id} name={name} type={type} value={query[name] ?? ""} dir="ltr" autocomplete="off" />
    </Field>
  );
  const limit = query.limit ?? String(DEFAULT_PAGE_SIZE);
  return (
    <>
      <h1 id="view-heading" tabindex={-1}>
        {t("messages_heading")}
      </h1>
      <p id="own-note" hidden>
        {t("own_messages_note")}
      </p>
      <form id="filters" class="card filters" method="get" action={CONSOLE_PATH} aria-labelledby="filters-heading">
        <h2 id="filters-heading">{t("filters_heading")}</h2>
        <input type="hidden" name="language" value={lang} />
        <div class="grid">
          {input("f-customer", "customer_id", "filter_customer", "text", true)}
          {input("f-delivery", "delivery_id", "filter_delivery")}
          <Choice
            id="f-type"
            name="type"
            label={t("filter_type")}
            values={COMMUNICATION_TYPES}
            text={text("type")}
            any={t("filter_any")}
            selected={query.type}
          />
          <Choice
            id="f-status"
            name="status"
            label={t("filter_status")}
            values={STATUSES}
            text={text("status")}
            any={t("filter_any")}
            selected={query.status}
          />
          <Choice
            id="f-direction"
            name="direction"
            label={t("filter_direction")}
            values={DIRECTIONS}
            text={text("direction")}
            any={t("filter_any")}
            selected={query.direction}
          />
          {input("f-after", "created_after", "filter_created_after", "datetime-local")}
          {input("f-before", "created_before", "filter_created_before", "datetime-local")}
          {input("f-provider", "provider", "filter_provider")}
          {input("f-provider-id", "provider_message_id", "filter_provider_message_id")}
          {input("f-address", "address", "filter_address")}
          <Field id="f-q" label={t("filter_q")}>
            <input id="f-q" name="q" type="search" value={query.q ?? ""} dir="auto" autocomplete="off" />
          </Field>
          <Field id="f-limit" label={t("filter_limit")}>
            <select id="f-limit" name="limit">
              {PAGE_SIZES.map((n) => (
                <option value={String(n)} selected={String(n) === limit}>
                  {new Intl.NumberFormat(lang).format(n)}
                </option>
              ))}
            </select>
          </Field>
        </div>
        <div class="actions">
          <button type="submit">{t("filters_apply")}</button>
          <a href={consoleHref(CONSOLE_PATH, lang)}>{t("filters_clear")}</a>
        </div>
      </form>
      <div class="toolbar">
        <p id="summary" class="summary" aria-live="polite" />
        <div class="tools">
          <button type="button" id="live-toggle" aria-pressed={query.live === "1" ? "true" : "false"}>
            {t("live_label")}
          </button>
          <fieldset class="inline export">
            <legend>{t("export_label")}</legend>
            <button type="button" id="export-csv" aria-describedby="export-hint">
              {t("export_csv")}
            </button>
            <button type="button" id="export-ndjson" aria-describedby="export-hint">
              {t("export_ndjson")}
            </button>
          </fieldset>
        </div>
      </div>
      <p id="export-hint" class="hint">
        {t("export_hint")}
      </p>
      <p id="live-status" class="live-status" role="status" aria-live="polite" />
      <DataTable
        id="messages"
        class="messages"
        caption={t("messages_caption")}
        columns={[
          t("col_time"),
          t("col_channel"),
          t("col_direction"),
          t("col_status"),
          t("col_address"),
          t("col_content"),
        ]}
      />
      <p id="empty" hidden>
        {t("messages_empty")}
      </p>
      <nav id="pager" class="pager" aria-label={t("pager_label")}>
        <a id="page-newer" href={consoleHref(CONSOLE_PATH, lang)} rel="prev" hidden>
          {t("page_newer")}
        </a>
        <a id="page-older" href={consoleHref(CONSOLE_PATH, lang)} rel="next" hidden>
          {t("page_older")}
        </a>
      </nav>
    </>
  );
}

function MessageView({ lang, query, t }: ViewProps) {
  return (
    <>
      <p>
        <a id="back" href={consoleHref(CONSOLE_PATH, lang, backFilters(query))}>
          {t("back_to_messages")}
        </a>
      </p>
      <h1 id="view-heading" tabindex={-1}>
        {t("message_heading")}
      </h1>
      <div id="message" aria-busy="true" hidden>
        <section class="card" aria-labelledby="details-heading">
          <h2 id="details-heading">{t("details_heading")}</h2>
          <dl id="fields" class="fields" />
        </section>
        <section class="card" aria-labelledby="comm-details-heading">
          <h2 id="comm-details-heading">{t("comm_details_heading")}</h2>
          <div id="comm-details" />
        </section>
        <section class="card" aria-labelledby="timeline-heading">
          <h2 id="timeline-heading">{t("timeline_heading")}</h2>
          <ol id="timeline" class="timeline" />
        </section>
        <section id="status-change" class="card" aria-labelledby="status-change-heading" hidden>
          <h2 id="status-change-heading">{t("status_change_heading")}</h2>
          <p id="status-change-hint">{t("status_change_hint")}</p>
          <form id="status-form" class="grid">
            <Field id="sc-status" label={t("status_new")}>
              <select id="sc-status" required aria-describedby="status-change-hint">
                {STATUSES.map((s) => (
                  <option value={s}>{t(`status_${s}` as ConsoleKey)}</option>
                ))}
              </select>
            </Field>
            <Field id="sc-at" label={t("status_occurred_at")}>
              <input id="sc-at" type="datetime-local" step="1" required dir="ltr" />
            </Field>
            <div class="actions">
              <button type="submit">{t("status_submit")}</button>
            </div>
          </form>
        </section>
        <section id="redact" class="card" aria-labelledby="redact-heading" hidden>
          <h2 id="redact-heading">{t("redact_heading")}</h2>
          <p id="redact-hint">{t("redact_hint")}</p>
          <button type="button" id="redact-button" class="danger" aria-describedby="redact-hint">
            {t("redact_submit")}
          </button>
        </section>
      </div>
    </>
  );
}

/** The Messages view's filters survive a visit to a message and back. */
const backFilters = (query: Record<string, string>) =>
  Object.fromEntries([...FILTERS, "cursor"].filter((f) => query[f]).map((f) => [f, query[f] as string]));

function ProvidersView({ t }: ViewProps) {
  return (
    <>
      <h1 id="view-heading" tabindex={-1}>
        {t("providers_heading")}
      </h1>
      {/* Connections need manage:operations:tenant; the unmatched events any tenant staff may read. */}
      <div id="connections" hidden>
        <p>{t("providers_intro")}</p>
        <DataTable
          id="providers"
          caption={t("providers_caption")}
          columns={[
            t("col_provider"),
            t("col_webhook_url"),
            t("field_created_at"),
            t("field_updated_at"),
            t("col_actions"),
          ]}
        />
        <p id="providers-none" hidden>
          {t("providers_none")}
        </p>
        <section class="card narrow" aria-labelledby="connect-heading">
          <h2 id="connect-heading">{t("connect_heading")}</h2>
          <p id="connect-hint">{t("connect_hint")}</p>
          <form id="connect-form">
            <Field id="cp-provider" label={t("connect_provider")}>
              <select id="cp-provider">
                {PROVIDERS.map((p) => (
                  <option value={p}>{PROVIDER_NAMES[p]}</option>
                ))}
              </select>
            </Field>
            <Field id="cp-secret" label={t("secret_twilio")}>
              <input
                id="cp-secret"
                type="password"
                dir="ltr"
                autocomplete="off"
                spellcheck={false}
                required
                aria-describedby="connect-hint"
              />
            </Field>
            <div class="actions">
              <button type="submit">{t("connect_submit")}</button>
            </div>
          </form>
        </section>
      </div>
      <section aria-labelledby="unmatched-heading">
        <h2 id="unmatched-heading">{t("unmatched_heading")}</h2>
        <p>{t("unmatched_intro")}</p>
        <DataTable
          id="unmatched"
          caption={t("unmatched_caption")}
          columns={[
            t("col_provider"),
            t("filter_provider_message_id"),
            t("col_status"),
            t("col_provider_status"),
            t("col_occurred"),
            t("col_received"),
            t("col_expires"),
          ]}
        />
        <p id="unmatched-none" hidden>
          {t("unmatched_none")}
        </p>
        <ShowMore id="unmatched-more" label={t("show_more")} />
      </section>
    </>
  );
}

function SubscriptionsView({ t }: ViewProps) {
  return (
    <>
      <h1 id="view-heading" tabindex={-1}>
        {t("subscriptions_heading")}
      </h1>
      <p>{t("subscriptions_intro")}</p>
      <section id="secret-once" class="card secret" aria-labelledby="secret-heading" tabindex={-1} hidden>
        <h2 id="secret-heading">{t("sub_secret_heading")}</h2>
        <p id="secret-hint">{t("sub_secret_once")}</p>
        <div class="copy">
          <input
            id="secret-value"
            type="text"
            readonly
            dir="ltr"
            class="url"
            aria-label={t("sub_secret_heading")}
            aria-describedby="secret-hint"
          />
          <button type="button" id="secret-copy">
            {t("copy")}
          </button>
          <button type="button" id="secret-done">
            {t("sub_secret_done")}
          </button>
        </div>
      </section>
      <DataTable
        id="subscriptions"
        caption={t("subscriptions_caption")}
        columns={[
          t("col_url"),
          t("col_events"),
          t("col_description"),
          t("col_status"),
          t("field_created_at"),
          t("col_actions"),
        ]}
      />
      <p id="subscriptions-none" hidden>
        {t("subscriptions_none")}
      </p>
      <section id="deliveries" class="card" aria-labelledby="deliveries-heading" tabindex={-1} hidden>
        <h2 id="deliveries-heading">{t("sub_deliveries")}</h2>
        <p>{t("deliveries_intro")}</p>
        <p id="delivery-counts" />
        <DataTable
          id="delivery-log"
          caption={t("deliveries_caption")}
          columns={[
            t("col_event"),
            t("col_status"),
            t("col_attempts"),
            t("col_last_answer"),
            t("col_last_attempt"),
            t("col_next_attempt"),
          ]}
        />
        <p id="deliveries-none" hidden>
          {t("deliveries_none")}
        </p>
        <ShowMore id="deliveries-more" label={t("show_more")} />
        <h3 id="replay-heading">{t("replay_heading")}</h3>
        <p id="replay-hint">{t("replay_hint")}</p>
        <form id="replay-form" class="grid" aria-labelledby="replay-heading">
          <Field id="rp-since" label={t("replay_since")}>
            <input id="rp-since" type="datetime-local" step="1" required dir="ltr" aria-describedby="replay-hint" />
          </Field>
          <Field id="rp-until" label={t("replay_until")}>
            <input id="rp-until" type="datetime-local" step="1" dir="ltr" />
          </Field>
          <div class="actions">
            <button type="submit">{t("replay_submit")}</button>
            <button type="button" id="deliveries-close">
              {t("deliveries_close")}
            </button>
          </div>
        </form>
      </section>
      <section class="card narrow" aria-labelledby="sub-create-heading">
        <h2 id="sub-create-heading">{t("sub_create_heading")}</h2>
        <form id="sub-form">
          <Field id="sb-url" label={t("sub_url")}>
            <input id="sb-url" type="url" required dir="ltr" autocomplete="off" spellcheck={false} />
          </Field>
          <fieldset class="choices">
            <legend>{t("sub_events")}</legend>
            {EVENT_TYPES.map((e) => (
              <label>
                <input type="checkbox" name="events" value={e} checked />
                {t(`event_${e}` as ConsoleKey)}
              </label>
            ))}
          </fieldset>
          <Field id="sb-description" label={t("sub_description")}>
            <input id="sb-description" type="text" maxlength={500} dir="auto" autocomplete="off" />
          </Field>
          <div class="actions">
            <button type="submit">{t("sub_create_submit")}</button>
          </div>
        </form>
      </section>
    </>
  );
}

function PrivacyView({ t }: ViewProps) {
  return (
    <>
      <h1 id="view-heading" tabindex={-1}>
        {t("privacy_heading")}
      </h1>
      <p>{t("privacy_intro")}</p>
      <section class="card narrow" aria-labelledby="erasure-heading">
        <h2 id="erasure-heading">{t("erasure_heading")}</h2>
        <p id="erasure-hint">{t("erasure_hint")}</p>
        <form id="erasure-form">
          <Field id="er-customer" label={t("erasure_customer")}>
            <input
              id="er-customer"
              type="text"
              required
              dir="ltr"
              autocomplete="off"
              spellcheck={false}
              aria-describedby="erasure-hint"
            />
          </Field>
          <Field id="er-addresses" label={t("erasure_addresses")}>
            <textarea id="er-addresses" rows={3} dir="ltr" autocomplete="off" spellcheck={false} />
          </Field>
          <Field id="er-reference" label={t("erasure_reference")}>
            <input id="er-reference" type="text" maxlength={200} dir="auto" autocomplete="off" />
          </Field>
          <div class="actions">
            <button type="submit" class="danger">
              {t("erasure_submit")}
            </button>
          </div>
        </form>
      </section>
      <section aria-labelledby="erasures-heading">
        <h2 id="erasures-heading">{t("erasures_heading")}</h2>
        <p>
          <button type="button" id="erasures-refresh">
            {t("erasures_refresh")}
          </button>
        </p>
        <DataTable
          id="erasures"
          caption={t("erasures_caption")}
          columns={[
            t("col_requested"),
            t("col_customer"),
            t("col_reference"),
            t("col_status"),
            t("col_erased"),
            t("col_finished"),
          ]}
        />
        <p id="erasures-none" hidden>
          {t("erasures_none")}
        </p>
        <ShowMore id="erasures-more" label={t("show_more")} />
      </section>
      <section class="card narrow" aria-labelledby="settings-heading">
        <h2 id="settings-heading">{t("settings_heading")}</h2>
        <p id="settings-hint">{t("settings_hint")}</p>
        <p id="settings-now" aria-live="polite" />
        <form id="settings-form">
          <Field id="st-days" label={t("settings_days")}>
            <input id="st-days" type="number" min={1} max={3650} step={1} dir="ltr" aria-describedby="settings-hint" />
          </Field>
          <div class="actions">
            <button type="submit">{t("settings_submit")}</button>
          </div>
        </form>
      </section>
      <section aria-labelledby="audit-heading">
        <h2 id="audit-heading">{t("audit_heading")}</h2>
        <p>{t("audit_intro")}</p>
        <form id="audit-form" class="card filters grid" aria-labelledby="audit-heading">
          <Choice
            id="au-action"
            name="action"
            label={t("audit_filter_action")}
            values={AUDIT_ACTIONS}
            text={(v) => t(`audit_${v}` as ConsoleKey)}
            any={t("filter_any")}
          />
          <Field id="au-actor" label={t("audit_filter_actor")}>
            <input id="au-actor" name="actor" type="text" dir="ltr" autocomplete="off" />
          </Field>
          <Field id="au-after" label={t("filter_created_after")}>
            <input id="au-after" name="created_after" type="datetime-local" dir="ltr" />
          </Field>
          <Field id="au-before" label={t("filter_created_before")}>
            <input id="au-before" name="created_before" type="datetime-local" dir="ltr" />
          </Field>
          <div class="actions">
            <button type="submit">{t("audit_filters_apply")}</button>
          </div>
        </form>
        <DataTable
          id="audit"
          caption={t("audit_caption")}
          columns={[
            t("col_time"),
            t("col_action"),
            t("col_actor"),
            t("col_target"),
            t("col_details"),
            t("col_request"),
          ]}
        />
        <p id="audit-none" hidden>
          {t("audit_none")}
        </p>
        <ShowMore id="audit-more" label={t("show_more")} />
      </section>
    </>
  );
}
