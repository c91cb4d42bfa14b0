/**
 * The signed-in user: the pasted bearer token, kept in this tab's
 * sessionStorage only (never a URL, a cookie, localStorage or a log), and
 * what its claims allow. The claims are read, not verified: the API verifies
 * the token on every call and answers 401 to a bad one, which ends the
 * session here too. They only decide which views to offer, with the rules
 * the API enforces (src/auth/permissions.ts).
 */
import { type CallerClaims, type Principal, toPrincipal } from "../../auth/permissions";
import type { ConsoleKey } from "../../i18n/console";

const TOKEN = "cc.token";
const TENANT = "cc.tenant";
/** A message for the next page load (after a sign-out or an expiry the page reloads, so no data stays on screen). */
const FLASH = "cc.flash";
/** Keys of everything the console keeps in the tab; all dropped at sign-out. */
export const PAGES = "cc.pages";

export interface Session {
  token: string;
  principal: Principal;
  /** Expiry, in milliseconds since the epoch. */
  expiresAt: number;
  /** The tenant a system administrator chose (their token names none). */
  tenantId: string | null;
}

function decodePayload(token: string): Record<string, unknown> | null {
  const parts = token.split(".");
  if (parts.length !== 3 || !parts[1]) return null;
  try {
    const base64 = parts[1].replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(base64), (ch) => ch.charCodeAt(0));
    const payload: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return payload && typeof payload === "object" && !Array.isArray(payload)
      ? (payload as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

const str = (v: unknown) => (typeof v === "string" ? v : null);

/** The session a token would open, or why it cannot. */
export function read(token: string): Session | { error: ConsoleKey } {
  const payload = decodePayload(token);
  const sub = str(payload?.sub);
  const exp = payload?.exp;
  if (!payload || !sub || typeof exp !== "number") return { error: "token_malformed" };
  if (exp * 1000 <= Date.now()) return { error: "token_expired" };
  const claims: CallerClaims = {
    sub,
    tenant_id: str(payload.tenant_id),
    permissions: Array.isArray(payload.permissions) ? payload.permissions.filter((p) => typeof p === "string") : [],
    is_system_admin: payload.is_system_admin === true,
    role: str(payload.role),
    customer_id: str(payload.customer_id),
  };
  const principal = toPrincipal(claims);
  return {
    token,
    principal,
    expiresAt: exp * 1000,
    tenantId: principal.tenantId ?? (principal.isSystemAdmin ? sessionStorage.getItem(TENANT) : null),
  };
}

/** The tab's session, if it has one that has not expired; an expired one is dropped. */
export function current(): Session | { error: ConsoleKey } | null {
  const token = sessionStorage.getItem(TOKEN);
  if (!token) return null;
  const session = read(token);
  if ("error" in session) {
    forget();
    return { error: session.error === "token_expired" ? "session_expired" : session.error };
  }
  return session;
}

export function save(session: Session) {
  sessionStorage.setItem(TOKEN, session.token);
}

export function chooseTenant(tenantId: string) {
  sessionStorage.setItem(TENANT, tenantId);
}

function forget() {
  for (const key of [TOKEN, TENANT, PAGES]) sessionStorage.removeItem(key);
}

/** Ends the session and reloads the page, so nothing of what it showed stays; `why` is shown after the reload. */
let ending = false;
export function end(why: ConsoleKey) {
  if (ending) return;
  ending = true;
  forget();
  sessionStorage.setItem(FLASH, why);
  location.reload();
}

/** The message left by `end()`, once. */
export function takeFlash(): ConsoleKey | null {
  const flash = sessionStorage.getItem(FLASH) as ConsoleKey | null;
  sessionStorage.removeItem(FLASH);
  return flash;
}

/** Ends the session when its token expires (checked again when the tab comes back, as timers sleep in hidden tabs). */
export function watchExpiry(session: Session) {
  const expired = () => Date.now() >= session.expiresAt;
  const check = () => {
    if (expired()) end("session_expired");
  };
  // setTimeout holds at most 2^31-1 ms (24.8 days); a longer token is checked again then.
  const arm = (): void => {
    setTimeout(
      () => {
        if (expired()) end("session_expired");
        else arm();
      },
      Math.min(session.expiresAt - Date.now() + 50, 2 ** 31 - 1),
    );
  };
  arm();
  document.addEventListener("visibilitychange", check);
}
