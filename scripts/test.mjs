#!/usr/bin/env node
/**
 * `npm test`: every check, in order, stopping at the first that fails.
 *
 *   types   npm run typecheck: wrangler types --check (the generated Env is current), tsc --noEmit
 *   lint    npm run lint: biome check .
 *   deps    every dependency used, every imported package declared (scripts/lib/deps.mjs)
 *   vitest  every test in workerd (its own quiet reporter: failures and the summary)
 *   openapi npm run openapi:lint (validator, Spectral, the warnings explained in docs/security.md)
 *   build   the Worker bundle (wrangler deploy --dry-run); README's size figure within 5% of it
 *   console the console in headless Chromium against wrangler dev (npm run test:console)
 *   docs    npm run docs:check (every shell block of README.md and docs/*.md, every link)
 *
 * A stage that passes prints one summary (a few lines for vitest and
 * openapi); a stage that fails prints its whole output, then the command to
 * run it again alone. `npm test -- vitest docs` runs only the named stages.
 */
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { delimiter, resolve } from "node:path";
import { checkDependencies } from "./lib/deps.mjs";
import { ROOT } from "./lib/local.mjs";

const env = { ...process.env, PATH: `${resolve(ROOT, "node_modules/.bin")}${delimiter}${process.env.PATH}` };

class StageError extends Error {
  constructor(output, command) {
    super(`${command} failed`);
    this.output = output;
    this.command = command;
  }
}

/** Runs a command to completion, its output kept; throws StageError with the output when it fails. */
function run(command, args, extraEnv = {}) {
  const out = spawnSync(command, args, {
    cwd: ROOT,
    env: { ...env, ...extraEnv },
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  const output = `${out.stdout ?? ""}${out.stderr ?? ""}${out.error ? `\n${out.error.message}` : ""}`;
  if (out.status !== 0) throw new StageError(output, [command, ...args].join(" "));
  return output;
}

/** Runs a command with its output going straight to this terminal (it is quiet on success itself). */
function stream(command, args) {
  return new Promise((ok, fail) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: "inherit" });
    child.on("error", fail);
    child.on("exit", (code, signal) =>
      code === 0 ? ok("") : fail(new StageError("", `${[command, ...args].join(" ")} (${signal ?? `exit ${code}`})`)),
    );
  });
}

/** Bundle size: README.md states it as "<n> KiB minified, <n> KiB gzipped"; it must stay within 5% of the build's. */
function checkBundleFigure(buildOutput) {
  const built = /Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/.exec(buildOutput);
  if (!built) throw new StageError(buildOutput, "wrangler deploy --dry-run (no 'Total Upload' line)");
  const [minified, gzipped] = [Number(built[1]), Number(built[2])];
  const readme = readFileSync(resolve(ROOT, "README.md"), "utf8");
  const stated = /(\d+) KiB minified, (\d+) KiB gzipped/.exec(readme);
  const near = (said, real) => Math.abs(said - real) <= real * 0.05;
  if (!stated || !near(Number(stated[1]), minified) || !near(Number(stated[2]), gzipped)) {
    const line = stated ? readme.slice(0, stated.index).split("\n").length : undefined;
    throw new StageError(
      `README.md${line ? `:${line} says "${stated[0]}"` : " states no bundle size"}; the build is ${minified} KiB minified, ${gzipped} KiB gzipped.\n` +
        `Write "${Math.round(minified)} KiB minified, ${Math.round(gzipped)} KiB gzipped" there.\n`,
      "the bundle size figure in README.md",
    );
  }
  return `${minified} KiB minified, ${gzipped} KiB gzipped (README.md: ${stated[1]} / ${stated[2]})`;
}

const STAGES = {
  types: {
    what: "npm run typecheck",
    run() {
      run("npm", ["run", "-s", "typecheck"], { WRANGLER_HIDE_BANNER: "true" });
      return "worker-configuration.d.ts is current (wrangler types --check); tsc --noEmit: no errors";
    },
  },
  lint: {
    what: "npm run lint",
    run: () => run("npm", ["run", "-s", "lint"]).trim().split("\n").at(-1),
  },
  deps: {
    what: "every dependency used, every import declared",
    run() {
      const { problems, declared } = checkDependencies(ROOT);
      if (problems.length)
        throw new StageError(`${problems.join("\n")}\n`, "the dependency check (scripts/lib/deps.mjs)");
      return `${declared} dependencies, each used; every imported package declared`;
    },
  },
  vitest: {
    what: "vitest run",
    streams: true,
    run: () => stream("vitest", ["run"]),
  },
  openapi: {
    what: "npm run openapi:lint",
    run: () =>
      run("node", ["scripts/openapi-lint.mjs"])
        .trim()
        .split("\n")
        .filter((line) => !line.startsWith("docs assets"))
        .join("\n"),
  },
  build: {
    what: "npm run build",
    run: () => checkBundleFigure(run("npm", ["run", "-s", "build"], { WRANGLER_HIDE_BANNER: "true" })),
  },
  console: {
    what: "npm run test:console",
    streams: true,
    run: () => stream("vitest", ["run", "--config", "vitest.console.config.ts"]),
  },
  docs: {
    what: "npm run docs:check",
    streams: true,
    run: () => stream("node", ["scripts/docs-check.mjs"]),
  },
};

const wanted = process.argv.slice(2);
for (const name of wanted) {
  if (!STAGES[name]) {
    console.error(`unknown stage ${name}; stages: ${Object.keys(STAGES).join(", ")}`);
    process.exit(2);
  }
}
const started = Date.now();
const seconds = (since) => `${Math.round((Date.now() - since) / 1000)} s`;
for (const [name, stage] of Object.entries(STAGES)) {
  if (wanted.length && !wanted.includes(name)) continue;
  const t0 = Date.now();
  if (stage.streams) console.log(`${name}: ${stage.what}`);
  try {
    const summary = await stage.run();
    const [first, ...rest] = String(summary ?? "").split("\n");
    if (stage.streams) console.log(`✓ ${name} (${seconds(t0)})`);
    else console.log([`✓ ${name}: ${first} (${seconds(t0)})`, ...rest].join("\n"));
  } catch (err) {
    if (!(err instanceof StageError)) throw err;
    if (err.output) process.stdout.write(err.output.endsWith("\n") ? err.output : `${err.output}\n`);
    console.log(`✗ ${name}: ${err.command} (${seconds(t0)}); alone: npm test -- ${name}`);
    process.exit(1);
  }
}
console.log(`npm test: all passed in ${seconds(started)}`);
