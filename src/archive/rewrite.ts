/**
 * Rewriting an archived day (./retention.ts wrote it): erasure drops the
 * lines of erased communications, redaction masks lines in place. The same
 * care as the archive itself: the new body goes up with its SHA-256 (R2
 * refuses a body that does not match) and is read back and checked. A day
 * left with no line stays as an object of no line (`communications: "0"` in
 * its metadata), so that its marker survives a retried step (see `marker`);
 * its download answers 404, as for a day never archived (./index.ts).
 */
import { hex } from "../lib/uuid";
import { type ArchivedCommunication, archiveKey } from "./retention";

const sha256Hex = async (text: string) =>
  hex(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))));

/** What a rewrite did to one line: kept as it was, replaced, or dropped. */
export type LineChange = { keep: true } | { replace: ArchivedCommunication } | { drop: true };

export interface DayRewrite {
  /** Whether the object was written: something changed. */
  changed: boolean;
  replaced: number;
  dropped: number;
  /** Events of the dropped lines. */
  droppedEvents: number;
  /** Lines left in the day. */
  remaining: number;
  /** The object's custom metadata before this call (an earlier attempt's marker, see `marker`). */
  metadata: Record<string, string>;
}

export const parseDay = (text: string): ArchivedCommunication[] =>
  text
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as ArchivedCommunication);

const serialise = (lines: ArchivedCommunication[]) => `${lines.map((l) => JSON.stringify(l)).join("\n")}\n`;

/**
 * Applies `change` to every line of the object at `key` (undefined when
 * there is none). What `marker` returns for the rewrite is stored in the
 * object's custom metadata, so a caller retried after its write can tell
 * (and count) its own earlier rewrite.
 */
export async function rewriteArchivedObject(
  bucket: R2Bucket,
  key: string,
  change: (line: ArchivedCommunication) => LineChange,
  marker: (r: DayRewrite) => Record<string, string> = () => ({}),
): Promise<DayRewrite | undefined> {
  const object = await bucket.get(key);
  if (!object) return undefined;
  const metadata = object.customMetadata ?? {};
  const lines = parseDay(await object.text());
  const out: ArchivedCommunication[] = [];
  const result: DayRewrite = { changed: false, replaced: 0, dropped: 0, droppedEvents: 0, remaining: 0, metadata };
  for (const line of lines) {
    const c = change(line);
    if ("drop" in c) {
      result.dropped++;
      result.droppedEvents += line.events?.length ?? 0;
    } else if ("replace" in c) {
      result.replaced++;
      out.push(c.replace);
    } else out.push(line);
  }
  result.remaining = out.length;
  if (result.dropped === 0 && result.replaced === 0) return result;
  result.changed = true;
  // A day left without lines keeps one newline (an empty R2 body cannot be served without an error).
  const body = out.length ? serialise(out) : "\n";
  const sha256 = await sha256Hex(body);
  await bucket.put(key, body, {
    sha256,
    httpMetadata: { contentType: "application/x-ndjson" },
    customMetadata: { ...metadata, ...marker(result), communications: String(out.length) },
  });
  const stored = await bucket.get(key);
  if (!stored || (await sha256Hex(await stored.text())) !== sha256) {
    throw new Error(`archive ${key}: read-back checksum differs after rewrite`);
  }
  return result;
}

/** The archived day of a tenant, by day (YYYY-MM-DD). */
export const rewriteArchivedDay = (
  bucket: R2Bucket,
  tenantId: string,
  day: string,
  change: (line: ArchivedCommunication) => LineChange,
  marker?: (r: DayRewrite) => Record<string, string>,
) => rewriteArchivedObject(bucket, archiveKey(tenantId, day), change, marker);

/** `<tenant>/<YYYY-MM-DD>.ndjson` -> `YYYY-MM-DD`. */
export const dayOfKey = (key: string) => key.slice(key.lastIndexOf("/") + 1, key.lastIndexOf("."));
