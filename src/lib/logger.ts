/**
 * One JSON object per line, the shape Workers Logs indexes
 * (observability in wrangler.toml): `level`, `msg`, then snake_case fields.
 * Never log bound query values or customer content (see error-handler.ts).
 */
type Fields = Record<string, unknown>;
type Level = "info" | "warn" | "error";

const sinks: Record<Level, (line: string) => void> = {
  info: (line) => console.log(line),
  warn: (line) => console.warn(line),
  error: (line) => console.error(line),
};

const write = (level: Level, msg: string, fields?: Fields) => sinks[level](JSON.stringify({ level, msg, ...fields }));

export const log = {
  info: (msg: string, fields?: Fields) => write("info", msg, fields),
  warn: (msg: string, fields?: Fields) => write("warn", msg, fields),
  error: (msg: string, fields?: Fields) => write("error", msg, fields),
};
