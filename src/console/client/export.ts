/**
 * Export: the Messages view's current filters downloaded as CSV or NDJSON
 * (GET .../export). The export needs the bearer token, which a plain link
 * cannot carry without putting it in the URL, so the file is fetched with
 * the token in the header and handed to the browser as a Blob download.
 * The whole file passes through the tab's memory; an export too big for
 * that is one for the API (README, Finding and exporting).
 */
import { apiUrl, authorization, type Query } from "./api";
import { el } from "./dom";
import { alert, notice } from "./notices";
import { end } from "./session";
import { t } from "./texts";

export type ExportFormat = "csv" | "ndjson";

const TYPES: Record<ExportFormat, string> = { csv: "text/csv", ndjson: "application/x-ndjson" };

export async function download(filters: Query, format: ExportFormat) {
  notice(t("export_started"));
  let res: Response;
  try {
    res = await fetch(apiUrl("/export", { ...filters, limit: undefined, format }), {
      headers: { authorization: authorization(), accept: `${TYPES[format]}, application/json` },
      cache: "no-store",
      credentials: "omit",
      referrerPolicy: "no-referrer",
    });
  } catch {
    return alert({ status: 0 });
  }
  if (res.status === 401) return end("token_refused");
  if (!res.ok) {
    const body = await res.json().catch(() => undefined);
    return alert({ status: res.status, message: body?.message, errors: body?.errors });
  }
  let blob: Blob;
  try {
    blob = await res.blob();
  } catch {
    // The export aborts the transfer when it fails part-way: nothing partial is saved.
    return alert({ status: 0 });
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19);
  const file = `communications-${stamp}.${format}`;
  const url = URL.createObjectURL(new Blob([blob], { type: TYPES[format] }));
  const link = el("a", { href: url, download: file, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  // Revoked once the browser has taken the file.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  notice(t("export_done", { file }));
}
