/**
 * What every bench script does with wrangler, in one place: the `bench`
 * environment of wrangler.toml (its entry is bench/worker.ts), a fresh local
 * state with the bench tenant placed, the Worker bundled once the way
 * `wrangler deploy` does, and `wrangler dev` of that bundle. Used by
 * scripts/bench.mjs and scripts/bench/privacy.mjs (Node >= 22.5: node:sqlite,
 * loaded only when a state is prepared, after the callers' version check).
 */
import { spawn, spawnSync } from "node:child_process";
import { readdirSync, rmSync } from "node:fs";
import { resolve } from "node:path";
import { ROOT } from "../lib/local.mjs";

/** The bench's environment of wrangler.toml. */
export const ENV = ["--env", "bench"];

const WRANGLER_ENV = { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** wrangler, quiet and without metrics; throws with its output when it fails. */
export function wrangler(args, extra = {}) {
  const res = spawnSync("wrangler", args, { cwd: ROOT, encoding: "utf8", env: WRANGLER_ENV, ...extra });
  if (res.status !== 0) throw new Error(`wrangler ${args.join(" ")} failed:\n${res.stdout}\n${res.stderr}`);
  return res;
}

/**
 * A fresh local state at `dir`: both databases migrated by wrangler, the
 * bench tenant placed on SHARD_0 in the directory. Returns the shard's
 * SQLite file, for the bulk seed.
 */
export async function benchState(dir, tenantId, now) {
  const { DatabaseSync } = await import("node:sqlite");
  rmSync(dir, { recursive: true, force: true });
  wrangler(["d1", "migrations", "apply", "SHARD_0", "--local", ...ENV, "--persist-to", dir]);
  wrangler(["d1", "migrations", "apply", "DIRECTORY", "--local", ...ENV, "--persist-to", dir]);
  const d1Dir = resolve(dir, "v3/d1/miniflare-D1DatabaseObject");
  const files = readdirSync(d1Dir)
    .filter((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite")
    .map((f) => resolve(d1Dir, f));
  // The bench config has one shard and the directory: tell them apart by their tables.
  const hasTable = (file, table) => {
    const db = new DatabaseSync(file);
    try {
      return Boolean(db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table));
    } finally {
      db.close();
    }
  };
  const shardFile = files.find((f) => hasTable(f, "communications"));
  const directoryFile = files.find((f) => hasTable(f, "tenants"));
  if (!shardFile || !directoryFile) throw new Error(`no shard or directory database under ${d1Dir}`);
  const directory = new DatabaseSync(directoryFile);
  try {
    directory
      .prepare("INSERT INTO tenants (tenant_id, shard, frozen, created_at) VALUES (?, 'SHARD_0', 0, ?)")
      .run(tenantId, new Date(now).toISOString());
  } finally {
    directory.close();
  }
  return shardFile;
}

/**
 * Bundles bench/worker.ts once into .wrangler/bench/<name>, the way
 * `wrangler deploy` does, for `startWorker` to serve with --no-bundle: the
 * bench runs the deployed code, and edits to src/ during a run do not
 * rebuild and restart the Worker.
 */
export function buildWorker(name) {
  const out = resolve(ROOT, `.wrangler/bench/${name}`);
  rmSync(out, { recursive: true, force: true });
  wrangler(["deploy", "--dry-run", ...ENV, "--outdir", out]);
  return resolve(out, "worker.js");
}

/**
 * `wrangler dev` of the bundle on 127.0.0.1:`port`, resolved once
 * /__bench/static answers. With `logs`, the Worker logs at info level and
 * every JSON line it prints is kept in `lines`; without, wrangler logs
 * warnings only (the app's request lines would cost the measured loop).
 * Runs in its own process group (`pgid`), stopped with all it spawned.
 */
export async function startWorker({ dir, script, port, inspectorPort, vars, logs = false }) {
  const child = spawn(
    "wrangler",
    [
      "dev",
      script,
      "--no-bundle",
      ...ENV,
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--inspector-port",
      String(inspectorPort),
      "--persist-to",
      dir,
      ...Object.entries(vars).flatMap(([name, value]) => ["--var", `${name}:${value}`]),
      "--show-interactive-dev-session=false",
      ...(logs ? [] : ["--log-level", "warn"]),
    ],
    { cwd: ROOT, detached: true, stdio: ["ignore", "pipe", "pipe"], env: WRANGLER_ENV },
  );
  const lines = [];
  let partial = "";
  // Always drained; with `logs`, the app's JSON lines (one per request, and the jobs') are kept.
  child.stdout.on("data", (d) => {
    if (!logs) return;
    const parts = (partial + d).split("\n");
    partial = parts.pop() ?? "";
    for (const line of parts) {
      const at = line.indexOf("{");
      if (at < 0) continue;
      try {
        lines.push(JSON.parse(line.slice(at)));
      } catch {}
    }
  });
  let output = "";
  child.stderr.on("data", (d) => {
    output = (output + d).slice(-4000);
  });
  const stop = () => {
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {}
  };
  process.once("exit", stop);
  const origin = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited:\n${output}`);
    try {
      if ((await fetch(`${origin}/__bench/static`)).ok) {
        return { stop, lines, pgid: child.pid, exited: new Promise((r) => child.once("exit", r)) };
      }
    } catch {}
    await sleep(200);
  }
  stop();
  throw new Error(`wrangler dev did not answer on ${origin}:\n${output}`);
}
