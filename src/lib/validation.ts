/**
 * Turns a failed Zod parse into the one error path: an ApiError 400 whose
 * `errors` name each offending field with a localisable message. Used as the
 * OpenAPIHono `defaultHook`, so every validator (query, path, headers, body)
 * fails the same way and never returns raw `safeParse` output.
 */
import type { z } from "@hono/zod-openapi";
import { isMessageKey } from "../i18n/messages";
import { badRequest, type FieldError } from "./errors";

const fieldName = (path: readonly PropertyKey[]) => path.map(String).join(".") || "body";

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v = input;
  for (const key of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

const FORMAT_NAMES: Record<string, string> = {
  uuid: "UUID",
  url: "URL",
  datetime: "ISO 8601 date-time",
  regex: "value",
};

export function toFieldErrors(error: z.ZodError, input: unknown): FieldError[] {
  const out: FieldError[] = [];
  for (const issue of error.issues) {
    const field = fieldName(issue.path);
    switch (issue.code) {
      case "invalid_type":
        out.push({
          field,
          message: valueAt(input, issue.path) === undefined ? "field_required" : "field_invalid_type",
        });
        break;
      case "invalid_value":
        out.push({ field, message: "field_invalid_value", params: { values: issue.values.map(String).join(", ") } });
        break;
      case "invalid_format":
        out.push({
          field,
          message: "field_invalid_format",
          params: { format: FORMAT_NAMES[issue.format] ?? issue.format },
        });
        break;
      case "too_small":
        out.push({ field, message: "field_too_small", params: { min: String(issue.minimum) } });
        break;
      case "too_big":
        out.push({
          field,
          message: issue.origin === "string" ? "field_too_long" : "field_too_big",
          params: { max: String(issue.maximum) },
        });
        break;
      case "unrecognized_keys":
        for (const key of issue.keys) out.push({ field: fieldName([...issue.path, key]), message: "field_unknown" });
        break;
      case "custom": {
        // A refinement may name its message: params.key (e.g. field_customer_reserved).
        const key = (issue.params as { key?: unknown } | undefined)?.key;
        out.push({ field, message: typeof key === "string" && isMessageKey(key) ? key : "field_invalid" });
        break;
      }
      default:
        out.push({ field, message: "field_invalid" });
    }
  }
  return out;
}

/** The `defaultHook` of every OpenAPIHono router in the app. */
export const validationHook = (result: { success: boolean; error?: z.ZodError; data?: unknown }) => {
  if (!result.success && result.error) throw badRequest(toFieldErrors(result.error, result.data));
};
