/**
 * GET /delivery/customer-communications/export: the route's description,
 * once (search.md, Export). Streamed bodies are described as text, with
 * the shape of one NDJSON line as a named component the description
 * names (#/components/schemas/Communication).
 */
import { z } from "@hono/zod-openapi";
import { mayRead } from "../communications/access";
import { BASE_PATH } from "../communications/routes";
import { Communication, EXAMPLE_COMMUNICATION, ExportQuery } from "../communications/schemas";
import { everyResponse, searchErrors, streamed } from "../openapi/responses";
import { protectedRoute } from "../openapi/route";
import { CSV_COLUMNS, FORMULA_STARTS, head, lines } from "./format";

/** A streamed body has no length of its own; the document's string limit (OWASP string-limit) is JSON's largest safe integer. */
const STREAM_MAX_LENGTH = Number.MAX_SAFE_INTEGER;

/**
 * One CSV row as its header names the columns: text, as CSV has no types
 * (empty for null). A cell is never longer than the D1 row it comes from (2 MB).
 */
const CommunicationCsvRow = z
  .object(Object.fromEntries(CSV_COLUMNS.map((c) => [c, z.string().max(2_000_000)])))
  .openapi("CommunicationCsvRow", { description: "One row of an export's CSV, by the header's column names." });

/** Rows per D1 query of an export, and per count against the caller's rate limit. */
export const EXPORT_PAGE_ROWS = 1000;

export const exportRoute = protectedRoute(
  mayRead,
  { reads: true },
  {
    method: "get",
    path: `${BASE_PATH}/export`,
    operationId: "exportCustomerCommunications",
    summary: "Export Customer Communications",
    description: `Every communication the caller may see that matches the list's filters (all of them, \`address\` and \`q\` included; not \`page\`, \`limit\` or \`cursor\`), newest first (or \`sort_order=asc\`), streamed as NDJSON or CSV: the first rows leave before the last are read, and memory does not grow with the number of rows. The same permissions as the list: staff see the tenant, a customer only their own (a customer's copy of their data, GDPR article 15). The export counts against the caller's rate limit once per ${EXPORT_PAGE_ROWS.toLocaleString("en")} rows; when a count is refused, the export waits one rate-limit window and tries again, and is cut if refused again. A failure part-way (or a cut) aborts the response: the client sees a transfer error, never a clean end with rows missing.`,
    request: { query: ExportQuery },
    responses: {
      200: {
        description: `The export. \`application/x-ndjson\`: one \`Communication\` per line, as the list returns it. \`text/csv\` (RFC 4180, UTF-8 with a byte order mark, CRLF line ends): a header row, then ${CSV_COLUMNS.map((c) => `\`${c}\``).join(", ")}; \`sender\` and \`recipient\` are that party's phone, else its email; \`communication_details\` is JSON; empty for null. A cell starting with ${FORMULA_STARTS.map((c) => JSON.stringify(c)).join(", ")} gets a leading \`'\` (spreadsheets never run it as a formula; removing that one apostrophe gives the value back).`,
        headers: {
          ...everyResponse,
          "Content-Disposition": {
            description: 'attachment; filename="communications-<tenant>-<UTC date>.<ndjson|csv>"',
            required: true,
            schema: { type: "string", maxLength: 200 },
            example: 'attachment; filename="communications-6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b-2026-11-28.csv"',
          },
        },
        // One response in two media types: the content of two streamed() descriptions.
        content: {
          ...streamed({
            mediaType: "application/x-ndjson",
            description: "",
            item: { name: "Communication", schema: Communication },
            maxLength: STREAM_MAX_LENGTH,
            example: { summary: "One communication per line", value: lines("ndjson", [EXAMPLE_COMMUNICATION]) },
          }).content,
          ...streamed({
            mediaType: "text/csv",
            description: "",
            item: { name: "CommunicationCsvRow", schema: CommunicationCsvRow },
            maxLength: STREAM_MAX_LENGTH,
            example: {
              summary: "The header row and one communication (after the byte order mark)",
              value: head("csv").slice(1) + lines("csv", [EXAMPLE_COMMUNICATION]),
            },
          }).content,
        },
      },
      ...searchErrors,
    },
  },
);
