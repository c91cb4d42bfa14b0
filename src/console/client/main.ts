/**
 * The console's client: one small script for every view
 * (src/console/page.tsx says which with `data-view`). It signs the user in
 * with a pasted token, offers the views the token's permissions allow (the
 * API's own rules: src/auth/permissions.ts), and starts the view.
 */
import { canManage, canReadTenant, mayReadCommunications } from "../../auth/permissions";
import type { ConsoleKey } from "../../i18n/console";
import { useSession } from "./api";
import { byId, show } from "./dom";
import { alert, notice } from "./notices";
import * as session from "./session";
import { t } from "./texts";
import { messageView } from "./views/message";
import { messagesView } from "./views/messages";
import { privacyView } from "./views/privacy";
import { providersView } from "./views/providers";
import { subscriptionsView } from "./views/subscriptions";

type ViewName = "messages" | "message" | "providers" | "subscriptions" | "privacy";
const VIEWS: Record<
  ViewName,
  { allowed: (s: session.Session) => boolean; start: (s: session.Session) => Promise<void> }
> = {
  messages: { allowed: (s) => mayReadCommunications(s.principal), start: messagesView },
  message: { allowed: (s) => mayReadCommunications(s.principal), start: messageView },
  // Connections need manage:operations:tenant; the unmatched provider events any tenant staff may read.
  providers: { allowed: (s) => canReadTenant(s.principal), start: providersView },
  subscriptions: { allowed: (s) => canManage(s.principal), start: subscriptionsView },
  privacy: { allowed: (s) => canManage(s.principal), start: privacyView },
};
/** What each navigation link needs (`data-needs` in the page). */
const NEEDS: Record<string, (s: session.Session) => boolean> = {
  read: (s) => mayReadCommunications(s.principal),
  staff: (s) => canReadTenant(s.principal),
  manage: (s) => canManage(s.principal),
};

function signIn(message: ConsoleKey | null) {
  show(byId("sign-in"));
  const form = byId<HTMLFormElement>("sign-in-form");
  const input = byId<HTMLInputElement>("token-input");
  if (message) {
    const flash = t(message);
    if (message === "signed_out") notice(flash);
    else alert({ status: 401 }, flash);
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const token = input.value.trim().replace(/^Bearer\s+/i, "");
    const opened = session.read(token);
    if ("error" in opened) {
      alert({ status: 400 }, t(opened.error));
      input.focus();
      return;
    }
    input.value = "";
    session.save(opened);
    show(byId("sign-in"), false);
    start(opened);
    byId("main").focus();
  });
  input.focus();
}

function who(s: session.Session): string {
  const p = s.principal;
  const role = p.role ?? (p.isSystemAdmin ? t("role_system_admin") : t("role_customer"));
  return t("signed_in_as", { who: role });
}

function start(s: session.Session) {
  useSession(s);
  session.watchExpiry(s);
  show(byId("session"));
  byId("who").textContent = who(s);
  byId("sign-out").addEventListener("click", () => session.end("signed_out"), { once: true });
  for (const link of byId("nav").querySelectorAll<HTMLAnchorElement>("a[data-needs]")) {
    show(link, NEEDS[link.dataset.needs ?? ""]?.(s) ?? false);
  }
  show(byId("nav"));

  const view = VIEWS[document.body.dataset.view as ViewName];
  if (!view) return;
  const refuse = (text: ConsoleKey) => {
    byId("no-access-text").textContent = t(text);
    show(byId("no-access"));
  };
  if (!mayReadCommunications(s.principal)) return refuse("no_access");
  if (!view.allowed(s)) return refuse("view_not_allowed");
  if (s.principal.isSystemAdmin && !s.tenantId) {
    const form = byId<HTMLFormElement>("tenant-form");
    show(form);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const tenant = byId<HTMLInputElement>("tenant-input").value.trim();
      if (!tenant) return;
      session.chooseTenant(tenant);
      location.reload();
    });
    return refuse("tenant_needed");
  }
  show(byId("view"));
  void view.start(s);
}

const flash = session.takeFlash();
const opened = session.current();
if (opened === null || "error" in opened) signIn(opened?.error ?? flash);
else start(opened);
