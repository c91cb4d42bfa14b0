#!/usr/bin/env node
/**
 * `npm run docs:check`: the docs, tested (issue 17). In order:
 *  1. a self-test: the checker runs on Markdown written to fail (a broken
 *     link and anchor, a failing command, a wrong HTTP status, a bad skip
 *     marker) and must report each, and pass the good parts;
 *  2. every relative link and anchor in every Markdown file of the
 *     repository resolves, and README's "Layout" names every top-level file
 *     and folder;
 *  3. a fresh local server, started as `npm run dev` starts it, on a
 *     throw-away `--persist-to` state (migrated by it) and free ports, with
 *     its own dev-server record (DEV_SERVER_FILE), so it runs beside yours;
 *  4. every shell block (sh, bash, shell) of README.md, then docs/*.md in
 *     name order, one command at a time, in one bash that starts with the
 *     `export` lines the server printed: as a reader pastes them into a
 *     terminal (no node_modules/.bin on PATH). A command fails the check
 *     when it exits non-zero, or when one of its HTTP requests (curl)
 *     answers other than its `# NNN` comment states (2xx without one).
 *     A block after `<!-- docs-check: skip: why -->` is not run.
 * It stops at the first failure and prints the file and line, the command,
 * its output, and the end of the local server's log.
 *
 *   npm run docs:check [-- FILE.md ...] [--links-only] [--verbose] [--timeout SECONDS]
 *
 * With files, only those: their links, and their blocks (after the export
 * lines). --verbose prints every command and its output as it runs.
 * Writing docs for it: docs/operations.md, "Tested docs".
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import {
  brokenLinks,
  commandsOf,
  readerEnv,
  repoFiles,
  Session,
  shellBlocks,
  statusProblem,
  unlistedTopLevel,
} from "./lib/docs-check.mjs";
import { ROOT } from "./lib/local.mjs";
import { freePort } from "./lib/ports.mjs";

/** More skipped blocks than this fails the check: the docs must stay runnable, not marked away. */
const MAX_SKIPPED = 5;

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    "links-only": { type: "boolean", default: false },
    verbose: { type: "boolean", default: false },
    timeout: { type: "string", default: "240" },
  },
});
const TIMEOUT_MS = Number(opts.timeout) * 1000;
const started = Date.now();
const say = (line) => console.log(`docs:check: ${line}`);
const indent = (text, prefix = "  | ") =>
  text
    .split("\n")
    .map((l) => `${prefix}${l}`)
    .join("\n");

class Failure extends Error {}

/** Runs the shell blocks of one file; returns counts, or throws Failure with the whole report. */
async function runFile(session, file, text, { log, verbose } = {}) {
  const { blocks, errors } = shellBlocks(text);
  if (errors.length) throw new Failure(errors.map((e) => `${file}:${e.line}: ${e.problem}`).join("\n"));
  const result = { blocks: 0, commands: 0, requests: 0, skipped: [] };
  for (const block of blocks) {
    if (block.skip !== undefined) {
      result.skipped.push(`${file}:${block.start} (${block.skip})`);
      continue;
    }
    result.blocks++;
    for (const command of commandsOf(block)) {
      const where = `${file}:${command.line}`;
      const shown = indent(command.text, "  $ ");
      if (command.incomplete) throw new Failure(`${where}: the block ends inside this command\n${shown}`);
      if (verbose) console.log(`${where}\n${shown}`);
      const run = await session.run(command.text, TIMEOUT_MS);
      if (verbose && run.output) console.log(indent(run.output));
      result.commands++;
      result.requests += run.requests.length;
      const problem = run.timedOut
        ? `did not finish within ${TIMEOUT_MS / 1000} s`
        : run.code === undefined
          ? `the shell ended (exit ${run.exited})`
          : run.code !== 0
            ? `exited with ${run.code}`
            : statusProblem(command, run.requests);
      if (problem) {
        const logTail =
          log && existsSync(log) ? readFileSync(log, "utf8").trimEnd().split("\n").slice(-20).join("\n") : "";
        throw new Failure(
          [
            `${where}: ${problem}`,
            shown,
            run.output ? `  output:\n${indent(run.output)}` : "  (no output)",
            logTail ? `  the local server's log, last lines:\n${indent(logTail)}` : "",
          ]
            .filter(Boolean)
            .join("\n"),
        );
      }
    }
  }
  return result;
}

/** The checker on Markdown made to fail: each planted fault must be reported, the rest must pass. */
async function selfTest() {
  const dir = mkdtempSync(join(tmpdir(), "docs-check-self-test-"));
  const server = createServer((req, res) => {
    res.statusCode = req.url === "/ok" ? 200 : 404;
    res.end(req.url === "/ok" ? '{"ok":true}' : '{"ok":false}');
  });
  const port = await freePort();
  await new Promise((ok) => server.listen(port, "127.0.0.1", ok));
  const session = new Session({ cwd: dir, env: readerEnv({ ORIGIN: `http://127.0.0.1:${port}` }) });
  const fence = "```";
  const problems = [];
  const expectFailure = async (name, markdown, pattern) => {
    try {
      await runFile(session, `${name}.md`, markdown);
      problems.push(`${name}: not reported`);
    } catch (err) {
      if (!(err instanceof Failure)) throw err;
      if (!pattern.test(err.message)) problems.push(`${name}: reported as\n${err.message}`);
    }
  };
  try {
    mkdirSync(join(dir, "docs"));
    writeFileSync(join(dir, "docs/b.md"), "# B\n\n## Second part\n");
    writeFileSync(
      join(dir, "a.md"),
      `# A\n\n[fine](docs/b.md#second-part) [own](#a) [gone](docs/nope.md)\n[no anchor](docs/b.md#nowhere) \`[code](x.md)\`\n\n${fence}sh\n[in a block](y.md)\n${fence}\n`,
    );
    const { broken } = brokenLinks(dir, ["a.md", "docs/b.md"]);
    const got = broken.map((b) => `${b.file}:${b.line} ${b.target}`).sort();
    const want = ["a.md:3 docs/nope.md", "a.md:4 docs/b.md#nowhere"];
    if (JSON.stringify(got) !== JSON.stringify(want)) problems.push(`links: found ${got.join(", ") || "none"}`);

    const passing = [
      `${fence}sh`,
      "X=$(echo one)        # a value later commands use",
      'curl -s "$ORIGIN/ok"',
      'curl -s "$ORIGIN/missing"          # 404',
      "curl -s -X POST \\",
      '  "$ORIGIN/ok" -d \'{"note": "a quoted # 500 is no status"}\'',
      'for i in 1 2; do curl -s "$ORIGIN/ok"; done',
      'for i in 1 2; do curl -sf -o /dev/null "$ORIGIN/missing" && break; done; true    # -f: left to the exit code',
      'test "$X" = one',
      fence,
      "",
      "<!-- docs-check: skip: cannot run here -->",
      `${fence}sh`,
      "false",
      fence,
    ].join("\n");
    const ok = await runFile(session, "passing.md", passing);
    if (ok.commands !== 7 || ok.requests !== 7 || ok.skipped.length !== 1) {
      problems.push(`passing block: ${JSON.stringify(ok)}`);
    }
    await expectFailure("exit", `${fence}sh\ntrue\nfalse\n${fence}\n`, /^exit\.md:3: exited with 1/);
    await expectFailure(
      "status",
      `${fence}bash\ncurl -s "$ORIGIN/missing"\n${fence}\n`,
      /^status\.md:2: expected HTTP 2xx.*got 404/,
    );
    await expectFailure(
      "stated",
      `${fence}sh\ncurl -s \\\n  "$ORIGIN/ok"   # 404\n${fence}\n`,
      /^stated\.md:2: expected HTTP 404, got 200/,
    );
    await expectFailure("unset", `${fence}sh\ncurl -sf "$ORIGIN/$UNSET_ID" >/dev/null\n${fence}\n`, /exited with 22/);
    await expectFailure("reason", `<!-- docs-check: skip -->\n${fence}sh\ntrue\n${fence}\n`, /needs a reason/);
    await expectFailure("marker", `<!-- docs-check: skip: x -->\n\ntext\n`, /not followed by a fenced block/);
    await expectFailure("open", `${fence}sh\necho "never closed\n${fence}\n`, /ends inside this command/);
  } finally {
    await session.close();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  if (problems.length) throw new Failure(`the self-test failed:\n${problems.join("\n")}`);
}

/** `npm run dev` on a throw-away state and free ports; resolves once it answers, with its export lines. */
async function startDevServer(tmp) {
  const port = await freePort();
  const inspectorPort = await freePort([port]);
  const record = join(tmp, "dev-server.json");
  const log = join(tmp, "dev.log");
  const out = openSync(log, "w");
  const child = spawn(
    "npm",
    ["run", "-s", "dev", "--", "--port", String(port), "--inspector-port", String(inspectorPort)].concat([
      "--persist-to",
      join(tmp, "state"),
    ]),
    { cwd: ROOT, env: { ...process.env, DEV_SERVER_FILE: record }, detached: true, stdio: ["ignore", out, out] },
  );
  const stop = async () => {
    for (const [signal, wait] of [
      ["SIGTERM", 10_000],
      ["SIGKILL", 1000],
    ]) {
      try {
        process.kill(-child.pid, signal);
      } catch {
        return;
      }
      const until = Date.now() + wait;
      while (Date.now() < until && child.exitCode === null && child.signalCode === null) {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  const deadline = Date.now() + 180_000;
  while (!existsSync(record)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Failure(`npm run dev did not start (see below)\n${indent(readFileSync(log, "utf8"))}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const exports = readFileSync(log, "utf8")
    .split("\n")
    .filter((l) => l.startsWith("export "));
  if (exports.length === 0)
    throw new Failure(`npm run dev printed no export lines\n${indent(readFileSync(log, "utf8"))}`);
  return { log, record, exports: exports.join("\n"), stop };
}

async function main() {
  const all = repoFiles(ROOT, "*.md");
  const given = positionals.map((f) => relative(ROOT, resolve(f)));
  for (const f of given) if (!all.includes(f)) throw new Failure(`${f} is not a Markdown file of this repository`);
  const runnable = given.length
    ? given
    : ["README.md", ...all.filter((f) => /^docs\/[^/]+\.md$/.test(f)).sort()].filter((f) => all.includes(f));

  await selfTest();

  const { broken, checked } = brokenLinks(ROOT, given.length ? given : all);
  if (broken.length) {
    throw new Failure(
      `${broken.length} broken link${broken.length > 1 ? "s" : ""}:\n${broken.map((b) => `  ${b.file}:${b.line}: ${b.target}: ${b.problem}`).join("\n")}`,
    );
  }
  let layout = "";
  if (!given.length || given.includes("README.md")) {
    const missing = unlistedTopLevel(ROOT);
    if (missing.length) throw new Failure(`README.md's Layout section does not name: ${missing.join(", ")}`);
    layout = "; README's Layout names every top-level file and folder";
  }
  say(
    `self-test passed; ${checked} relative links and anchors in ${(given.length ? given : all).length} Markdown files resolve${layout}`,
  );
  if (opts["links-only"]) return;

  // Every shell block must parse before a server is started for them.
  const texts = new Map(runnable.map((f) => [f, readFileSync(resolve(ROOT, f), "utf8")]));
  for (const [file, text] of texts) {
    const { errors } = shellBlocks(text);
    if (errors.length) throw new Failure(errors.map((e) => `${file}:${e.line}: ${e.problem}`).join("\n"));
  }

  const tmp = mkdtempSync(join(tmpdir(), "docs-check-"));
  let server;
  let session;
  const cleanUp = async () => {
    await session?.close();
    await server?.stop();
    rmSync(tmp, { recursive: true, force: true });
  };
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.once(signal, async () => {
      await cleanUp();
      process.exit(130);
    });
  }
  try {
    server = await startDevServer(tmp);
    const port = await freePort();
    session = new Session({
      cwd: ROOT,
      env: readerEnv({
        DEV_SERVER_FILE: server.record,
        // For a block that starts a server of its own: `--port "${PORT:-8788}"`.
        PORT: String(port),
        INSPECTOR_PORT: String(await freePort([port])),
      }),
    });
    const exported = await session.run(server.exports, 30_000);
    if (exported.code !== 0) throw new Failure(`the export lines of npm run dev failed:\n${indent(exported.output)}`);
    const totals = { blocks: 0, commands: 0, requests: 0, skipped: [] };
    for (const [file, text] of texts) {
      const result = await runFile(session, file, text, { log: server.log, verbose: opts.verbose });
      totals.blocks += result.blocks;
      totals.commands += result.commands;
      totals.requests += result.requests;
      totals.skipped.push(...result.skipped);
    }
    const withBlocks = [...texts.keys()].filter((f) => shellBlocks(texts.get(f)).blocks.length > 0);
    say(
      `${totals.commands} commands of ${totals.blocks} shell blocks (${withBlocks.join(", ")}) ran as pasted after npm run dev's export lines, ${totals.requests} HTTP requests answered as stated (${Math.round((Date.now() - started) / 1000)} s)`,
    );
    if (totals.skipped.length) say(`skipped (${totals.skipped.length}): ${totals.skipped.join("; ")}`);
    if (totals.skipped.length > MAX_SKIPPED) {
      throw new Failure(`${totals.skipped.length} blocks are skipped, more than ${MAX_SKIPPED}: make them runnable`);
    }
  } finally {
    await cleanUp();
  }
}

try {
  await main();
} catch (err) {
  if (!(err instanceof Failure)) throw err;
  console.error(`docs:check failed: ${err.message}`);
  process.exit(1);
}
