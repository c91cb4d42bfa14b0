/**
 * The two formats of an export (search.md, Export), as lines: NDJSON, one
 * communication per line as the API returns it; CSV per RFC 4180 with a
 * header row, every cell that a spreadsheet program would run as a formula
 * neutralised.
 * @see https://www.rfc-editor.org/rfc/rfc4180
 * @see https://owasp.org/www-community/attacks/CSV_Injection
 */
import type { Communication } from "../communications/schemas";

export type ExportFormat = "ndjson" | "csv";

export const MEDIA_TYPES: Record<ExportFormat, string> = {
  ndjson: "application/x-ndjson; charset=utf-8",
  csv: "text/csv; charset=utf-8",
};

/** The CSV's columns, in order (search.md). */
export const CSV_COLUMNS = [
  "id",
  "created_at",
  "updated_at",
  "customer_id",
  "delivery_id",
  "type",
  "direction",
  "status",
  "provider",
  "provider_message_id",
  "content",
  "sender",
  "recipient",
  "communication_details",
] as const;

/**
 * The first characters a spreadsheet reads as the start of a formula (OWASP:
 * = + - @, tab, carriage return), and the apostrophe itself: a cell that
 * starts with one of them gets a leading apostrophe, which spreadsheets take
 * as "text" and do not show. Prefixing cells that already start with an
 * apostrophe too keeps the rule reversible: remove one leading apostrophe
 * from a cell whose next character is one of these, and the value is back.
 */
export const FORMULA_STARTS = ["=", "+", "-", "@", "\t", "\r", "'"] as const;

export function neutralise(value: string): string {
  return FORMULA_STARTS.some((c) => value.startsWith(c)) ? `'${value}` : value;
}

/** One RFC 4180 field: quoted (quotes doubled) when it holds a quote, a comma, CR or LF. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** A party's address as one cell: its phone, else its email, else empty (the rest is in communication_details). */
function party(details: Record<string, unknown>, key: "sender" | "recipient"): string | null {
  const value = details[key];
  if (!value || typeof value !== "object" || Array.isArray(value)) return null;
  const { phone, email } = value as { phone?: unknown; email?: unknown };
  if (typeof phone === "string" && phone) return phone;
  if (typeof email === "string" && email) return email;
  return null;
}

function cells(c: Communication): (string | null)[] {
  return [
    c.id,
    c.created_at,
    c.updated_at,
    c.customer_id,
    c.delivery_id,
    c.type,
    c.direction,
    c.status,
    c.provider,
    c.provider_message_id,
    c.content,
    party(c.communication_details, "sender"),
    party(c.communication_details, "recipient"),
    JSON.stringify(c.communication_details),
  ];
}

const CRLF = "\r\n";

/**
 * What a file starts with. The CSV opens with a UTF-8 byte order mark:
 * without it, Excel reads a CSV in the machine's code page and shows
 * Arabic, Kurdish and Persian text as mojibake (parsers from npm and
 * Python's utf-8-sig read it as a BOM).
 */
export function head(format: ExportFormat): string {
  return format === "csv" ? `\uFEFF${CSV_COLUMNS.join(",")}${CRLF}` : "";
}

/** Lines for a page of communications. */
export function lines(format: ExportFormat, rows: Communication[]): string {
  if (format === "ndjson") return rows.map((c) => `${JSON.stringify(c)}\n`).join("");
  return rows
    .map(
      (c) =>
        cells(c)
          .map((v) => (v === null ? "" : csvField(neutralise(v))))
          .join(",") + CRLF,
    )
    .join("");
}
