/**
 * The page's two live regions (src/console/page.tsx): `#notice`
 * (role="status", polite) says what just happened; `#alert` (role="alert")
 * says what went wrong, with each field error the API named, in the API's
 * words (it answers in the page's language).
 */
import type { FieldError } from "./api";
import { byId, el, replace } from "./dom";
import { t } from "./texts";

export function notice(text: string) {
  clearAlert();
  replace(byId("notice"), el("p", {}, text));
}

export function clearAlert() {
  replace(byId("alert"));
}

export function alert(answer: { status: number; message?: string; errors?: FieldError[] }, fallback?: string) {
  const message =
    answer.status === 0
      ? t("error_network")
      : (fallback ?? answer.message ?? t("error_status", { status: answer.status }));
  const errors = answer.errors ?? [];
  replace(byId("notice"));
  replace(
    byId("alert"),
    el("p", {}, message),
    errors.length > 0 && el("ul", {}, ...errors.map((e) => el("li", {}, e.message))),
  );
}
