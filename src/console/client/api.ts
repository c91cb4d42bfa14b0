/**
 * The console's only way to the data: the public API on this origin, with
 * the user's bearer token in the Authorization header (never in the URL),
 * the page's language (so the API's messages and field errors come back in
 * it) and, for a system administrator, the chosen tenant.
 */

import { end, type Session } from "./session";
import { lang } from "./texts";

/** The API's base path, as the server rendered it into the page. */
export const API_BASE = document.body.dataset.api ?? "";

export interface FieldError {
  field: string;
  message: string;
}

export type Answer<T> =
  | { ok: true; status: number; body: T & { message: string } }
  | { ok: false; status: number; message?: string; errors?: FieldError[] };

let session: Session | undefined;
export const useSession = (s: Session) => {
  session = s;
};

export type Query = Record<string, string | undefined>;

/** The API URL of `path` (relative to the base), with the query's non-empty values, the language and tenant. */
export function apiUrl(path: string, query: Query = {}): URL {
  const url = new URL(`${API_BASE}${path}`, location.origin);
  for (const [name, value] of Object.entries(query)) if (value) url.searchParams.set(name, value);
  if (session?.tenantId && session.principal.isSystemAdmin) url.searchParams.set("tenant_id", session.tenantId);
  url.searchParams.set("language", lang);
  return url;
}

/** The Authorization header of the signed-in user (for calls that are not JSON: the export). */
export function authorization(): string {
  if (!session) throw new Error("authorization() before sign-in");
  return `Bearer ${session.token}`;
}

/** One API call. A 401 ends the session (the token expired or was refused): the promise then never settles. */
export async function api<T>(
  path: string,
  opts: { method?: string; query?: Query; body?: unknown } = {},
): Promise<Answer<T>> {
  if (!session) throw new Error("api() before sign-in");
  const headers: Record<string, string> = { authorization: `Bearer ${session.token}`, accept: "application/json" };
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(apiUrl(path, opts.query), {
      method: opts.method ?? "GET",
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      cache: "no-store",
      credentials: "omit",
      referrerPolicy: "no-referrer",
    });
  } catch {
    return { ok: false, status: 0 };
  }
  if (res.status === 401) {
    end(Date.now() >= session.expiresAt ? "session_expired" : "token_refused");
    return new Promise(() => {});
  }
  let body: any;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  if (res.ok && body) return { ok: true, status: res.status, body };
  return { ok: false, status: res.status, message: body?.message, errors: body?.errors };
}
