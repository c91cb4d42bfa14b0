/**
 * Keyset cursors: opaque to clients, they carry the sort order and the last
 * id of the page. Ids are UUIDv7 and unique, so "after this id" is a stable
 * position: rows inserted while a client walks the pages never shift it, and
 * every row that existed when the walk started is returned exactly once.
 */
import { badRequest } from "../lib/errors";
import { UUID } from "../lib/uuid";

const toBase64Url = (s: string) => btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

export function encodeCursor(order: "desc" | "asc", lastId: string): string {
  return toBase64Url(`${order === "desc" ? "d" : "a"}:${lastId}`);
}

export function decodeCursor(cursor: string, order: "desc" | "asc"): string {
  let decoded = "";
  try {
    decoded = atob(cursor.replace(/-/g, "+").replace(/_/g, "/"));
  } catch {
    // fall through to the invalid cursor error
  }
  const [tag, id] = decoded.split(":");
  if (tag !== (order === "desc" ? "d" : "a") || !id || !UUID.test(id) || id !== id.toLowerCase()) {
    throw badRequest([{ field: "cursor", message: "field_invalid" }]);
  }
  return id;
}
