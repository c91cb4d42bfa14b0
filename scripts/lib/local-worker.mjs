/**
 * A built Worker served by `wrangler dev` on loopback, on a fresh local state
 * directory, for the load scripts (scripts/load.mjs, scripts/load-webhooks.mjs):
 *  1. `persist` emptied (unless `reset: false`: a caller that prepared it),
 *     then the directory and every shard migrated (scripts/migrate.mjs;
 *     `migrate: false` leaves the databases as they are);
 *  2. a build of the Worker (`wrangler deploy --dry-run`), served with
 *     `--no-bundle`: wrangler dev reloads on every source change, and a reload
 *     answers in-flight requests with a 503 of its own (`dist`: a build
 *     already made, shared by several Workers);
 *  3. `wrangler dev` with the given secrets as `--var`, its output in
 *     <persist>/wrangler-dev.log, in its own process group so that `stop()`
 *     ends wrangler and workerd and nothing else (also on exit and on a
 *     signal).
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, openSync, rmSync } from "node:fs";
import { resolve } from "node:path";
import { ROOT } from "./local.mjs";

const ENV = { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" };

/** A wrangler command, run to completion in the project's root. */
export const wrangler = (args) => spawnSync("npx", ["wrangler", ...args], { cwd: ROOT, encoding: "utf8", env: ENV });

function mustRun(cmd, args) {
  const out = spawnSync(cmd, args, { cwd: ROOT, encoding: "utf8", env: ENV });
  if (out.status !== 0) {
    console.error(out.stdout, out.stderr);
    process.exit(1);
  }
}

/**
 * Starts the Worker; `vars` are passed as `--var NAME:value`; `prepare(persist)`,
 * if given, runs after the migrations and before the server opens the
 * databases (a bulk seed). Returns the
 * log file's path, `ready()` (resolves once /openapi.json answers, within
 * 60 s), `stop()`, and `pgid`: the process group of wrangler and its workerd
 * (for reading their CPU time from /proc), and `restart()`.
 */
export function startLocalWorker({ persist, port, inspectorPort, vars, migrate = true, reset = true, dist, prepare }) {
  if (reset) rmSync(persist, { recursive: true, force: true });
  mkdirSync(persist, { recursive: true });
  if (migrate) mustRun("node", ["scripts/migrate.mjs", "--local", "--persist-to", persist]);
  prepare?.(persist);
  if (!dist) {
    dist = resolve(persist, "dist");
    mustRun("npx", ["wrangler", "deploy", "--dry-run", "--outdir", dist, "--env="]);
  }

  const logFile = resolve(persist, "wrangler-dev.log");
  const log = openSync(logFile, "w");
  const launch = () =>
    spawn(
      "npx",
      [
        "wrangler",
        "dev",
        resolve(dist, "index.js"),
        // Named, not found by walking up from the script: `dist` may lie outside the project.
        "--config",
        resolve(ROOT, "wrangler.toml"),
        // A script given on the command line is served without the config's
        // static assets unless they are named again (the console's and /docs' files).
        "--assets",
        resolve(ROOT, "public"),
        "--no-bundle",
        "--ip",
        "127.0.0.1",
        "--port",
        String(port),
        "--inspector-port",
        String(inspectorPort),
        "--persist-to",
        persist,
        ...Object.entries(vars).flatMap(([name, value]) => ["--var", `${name}:${value}`]),
        "--show-interactive-dev-session=false",
      ],
      { cwd: ROOT, stdio: ["ignore", log, log], env: ENV, detached: true },
    );
  let dev = launch();
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    try {
      process.kill(-dev.pid, "SIGTERM");
    } catch {
      // already gone
    }
  };
  process.on("exit", stop);
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.on(signal, () => {
      stop();
      process.exit(130);
    });
  }

  const ready = async () => {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      try {
        if ((await fetch(`http://127.0.0.1:${port}/openapi.json`)).ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`wrangler dev did not answer on port ${port} within 60 s (see ${logFile})`);
  };
  /**
   * Stops wrangler and its workerd and starts them again on the same state
   * (a deploy or a crash, as clients see it); resolves once it answers.
   */
  const restart = async () => {
    const old = dev;
    const exited = new Promise((ok) => (old.exitCode !== null ? ok() : old.once("exit", ok)));
    stop();
    await exited;
    // Until the old workerd has let go of the port.
    for (let i = 0; i < 100; i++) {
      try {
        await fetch(`http://127.0.0.1:${port}/openapi.json`);
        await new Promise((r) => setTimeout(r, 100));
      } catch {
        break;
      }
    }
    dev = launch();
    stopped = false;
    await ready();
  };
  return {
    logFile,
    ready,
    stop,
    restart,
    get pgid() {
      return dev.pid;
    },
  };
}
