/**
 * The parts of `npm run docs:check` (scripts/docs-check.mjs): Markdown
 * links and anchors, shell blocks and their commands, and a bash session
 * that runs them as a reader would paste them. Conventions for writers are
 * in docs/operations.md, "Tested docs".
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve, sep } from "node:path";

// ------------------------------------------------------------ Markdown

/** Tracked (and new, not ignored) files of the repository ending in `ext`. */
export function repoFiles(root, pattern = "*") {
  return execFileSync("git", ["ls-files", "-co", "--exclude-standard", "--", pattern], { cwd: root, encoding: "utf8" })
    .split("\n")
    .filter((f) => f && existsSync(resolve(root, f)));
}

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([\w-]*)/;

/**
 * A Markdown file's lines, each with whether it is inside a fenced block, and
 * its fenced blocks ({ lang, start: line of the opening fence (1-based),
 * lines: [{ n, text }] }).
 */
export function parseMarkdown(text) {
  const lines = text.split("\n");
  const blocks = [];
  const inFence = [];
  let open;
  lines.forEach((line, i) => {
    const fence = FENCE.exec(line);
    if (!open && fence) {
      open = { marker: fence[1], lang: fence[2].toLowerCase(), start: i + 1, lines: [] };
      inFence.push(true);
    } else if (open && fence && fence[1][0] === open.marker[0] && fence[1].length >= open.marker.length && !fence[2]) {
      blocks.push(open);
      open = undefined;
      inFence.push(true);
    } else {
      if (open) open.lines.push({ n: i + 1, text: line });
      inFence.push(Boolean(open));
    }
  });
  return { lines, inFence, blocks };
}

/** GitHub's heading anchor: lower case, punctuation dropped (not `-` or `_`), spaces to hyphens. */
export function slug(heading) {
  return heading
    .replace(/<[^>]+>/g, "")
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/`/g, "")
    .replace(/(\*\*|__|\*)/g, "")
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
    .replace(/ /g, "-");
}

/** The anchors a Markdown file defines: its headings (duplicates numbered as GitHub does) and HTML ids. */
export function anchorsOf(text) {
  const { lines, inFence } = parseMarkdown(text);
  const anchors = new Set();
  const seen = new Map();
  lines.forEach((line, i) => {
    if (inFence[i]) return;
    const heading = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading) {
      const base = slug(heading[1]);
      const count = seen.get(base) ?? 0;
      seen.set(base, count + 1);
      anchors.add(count ? `${base}-${count}` : base);
    }
    for (const m of line.matchAll(/<a\s+(?:[^>]*\s)?(?:id|name)="([^"]+)"/g)) anchors.add(m[1]);
  });
  return anchors;
}

/** Every link a Markdown file makes outside code: inline links and images, reference definitions, HTML href/src. */
export function linksOf(text) {
  const { lines, inFence } = parseMarkdown(text);
  const links = [];
  lines.forEach((line, i) => {
    if (inFence[i]) return;
    const prose = line.replace(/(`+)[\s\S]*?\1/g, (m) => " ".repeat(m.length)); // code spans hold no links
    for (const m of prose.matchAll(/!?\[(?:[^\][]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      links.push({ line: i + 1, target: m[1] });
    }
    const ref = /^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/.exec(prose);
    if (ref) links.push({ line: i + 1, target: ref[1] });
    for (const m of prose.matchAll(/\s(?:href|src)="([^"]+)"/g)) links.push({ line: i + 1, target: m[1] });
  });
  return links;
}

/**
 * Broken relative links and anchors in `files` (paths relative to `root`):
 * [{ file, line, target, problem }]. Links with a scheme (https:, mailto:)
 * are not followed: the check needs no network.
 */
export function brokenLinks(root, files) {
  const anchorCache = new Map();
  const anchors = (path) => {
    if (!anchorCache.has(path)) anchorCache.set(path, anchorsOf(readFileSync(path, "utf8")));
    return anchorCache.get(path);
  };
  const broken = [];
  let checked = 0;
  for (const file of files) {
    const path = resolve(root, file);
    for (const { line, target } of linksOf(readFileSync(path, "utf8"))) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("//")) continue;
      checked++;
      const [rawPath, rawAnchor] = target.split(/#(.*)/s, 2);
      let decoded;
      try {
        decoded = decodeURIComponent(rawPath);
      } catch {
        broken.push({ file, line, target, problem: "not a valid URL path" });
        continue;
      }
      const dest =
        decoded === "" ? path : decoded.startsWith("/") ? join(root, decoded) : resolve(dirname(path), decoded);
      if (relative(root, dest).startsWith(`..${sep}`) || relative(root, dest) === "..") {
        broken.push({ file, line, target, problem: "points outside the repository" });
      } else if (!existsSync(dest)) {
        broken.push({ file, line, target, problem: `${relative(root, dest)} does not exist` });
      } else if (rawAnchor !== undefined && dest.endsWith(".md") && statSync(dest).isFile()) {
        if (!anchors(dest).has(decodeURIComponent(rawAnchor))) {
          broken.push({ file, line, target, problem: `no heading or id "${rawAnchor}" in ${relative(root, dest)}` });
        }
      }
    }
  }
  return { broken, checked };
}

/**
 * Top-level entries of the repository that README.md's "Layout" section
 * does not name (a folder as `name/`, a file by its name).
 */
export function unlistedTopLevel(root) {
  const readme = readFileSync(resolve(root, "README.md"), "utf8");
  const start = readme.search(/^## Layout\s*$/m);
  if (start < 0) return ["README.md has no '## Layout' section"];
  const rest = readme.slice(start + 1);
  const end = rest.search(/^## /m);
  const layout = end < 0 ? rest : rest.slice(0, end);
  const entries = new Set(
    execFileSync("git", ["ls-files", "-c", "-o", "--exclude-standard"], { cwd: root, encoding: "utf8" })
      .split("\n")
      .filter(Boolean)
      .map((f) => (f.includes("/") ? `${f.split("/")[0]}/` : f)),
  );
  const escapeRegExp = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return [...entries]
    .filter((entry) => !new RegExp(`(^|[\\s\`(,])${escapeRegExp(entry)}($|[\\s\`),.;:])`, "m").test(layout))
    .sort();
}

// ------------------------------------------------------------ shell blocks

const SHELL = new Set(["sh", "bash", "shell"]);
const SKIP = /^<!--\s*docs-check:\s*skip\b:?\s*(.*?)\s*-->$/;

/**
 * The shell blocks of a Markdown file: { start, lines, skip } where `skip`
 * is the reason given by a `<!-- docs-check: skip: reason -->` line right
 * before the fence (blank lines between allowed), or undefined. A marker
 * without a reason, or not followed by a shell block, is an error.
 */
export function shellBlocks(text) {
  const { lines, blocks } = parseMarkdown(text);
  const result = [];
  const errors = [];
  const markers = new Map(); // line index of a marker -> reason
  lines.forEach((line, i) => {
    const m = SKIP.exec(line.trim());
    if (m) markers.set(i, m[1]);
    else if (/^<!--\s*docs-check/.test(line.trim())) {
      errors.push({ line: i + 1, problem: `not a docs-check marker: ${line.trim()}` });
    }
  });
  const used = new Set();
  for (const block of blocks) {
    let i = block.start - 2;
    while (i >= 0 && lines[i].trim() === "") i--;
    const reason = markers.get(i);
    if (reason !== undefined) used.add(i);
    if (!SHELL.has(block.lang)) {
      if (reason !== undefined)
        errors.push({ line: i + 1, problem: "skip marker before a block that is not sh/bash/shell" });
      continue;
    }
    if (reason === "")
      errors.push({ line: i + 1, problem: "a skip marker needs a reason: <!-- docs-check: skip: why -->" });
    result.push({ start: block.start, lines: block.lines, skip: reason });
  }
  for (const i of markers.keys()) {
    if (!used.has(i)) errors.push({ line: i + 1, problem: "skip marker not followed by a fenced block" });
  }
  return { blocks: result, errors };
}

/** Whether `text` is one or more complete shell commands (bash parses it, nothing left open). */
function complete(text) {
  if (/\\\s*$/.test(text)) return false;
  const out = spawnSync("bash", ["-n"], { input: `${text}\n`, encoding: "utf8" });
  return out.status === 0 && !/here-document/.test(out.stderr);
}

/**
 * A block's commands, as bash would read them: a command spans its
 * continuation lines, open quotes and compound statements. Comment-only and
 * blank lines are left out. Each: { line, text, expect } where `expect` is
 * the status a `# NNN` comment states (else undefined: 2xx expected).
 */
export function commandsOf(block) {
  const commands = [];
  let pending;
  for (const { n, text } of block.lines) {
    if (!pending) {
      if (text.trim() === "" || /^\s*#/.test(text)) continue;
      pending = { line: n, lines: [] };
    }
    pending.lines.push(text);
    const joined = pending.lines.join("\n");
    if (complete(joined)) {
      const unquoted = joined.replace(/'[^']*'|"(?:\\.|[^"\\])*"/g, "''");
      const stated = /(?:^|\s)#\s*([1-5]\d\d)\b/m.exec(unquoted)?.[1];
      commands.push({ line: pending.line, text: joined, expect: stated ? Number(stated) : undefined });
      pending = undefined;
    }
  }
  if (pending) commands.push({ line: pending.line, text: pending.lines.join("\n"), incomplete: true });
  return commands;
}

// ------------------------------------------------------------ the session

const MARK = "@@docs-check";
/**
 * Every curl reports its status to stderr, after the reader's own output (a
 * `-w` of the command's own replaces it), and whether it ran with -f /
 * --fail / --fail-with-body: then curl turns an HTTP error into its exit
 * code, which the command handles (a wait loop) or fails with.
 */
const PRELUDE = `curl() {
  local fail=0 arg
  for arg in "$@"; do case "$arg" in --fail|--fail-with-body|-[a-zA-Z]*f*) fail=1;; esac; done
  command curl --write-out "%{stderr}\\n${MARK} http %{http_code} %{method} %{url_effective} fail=$fail@@\\n" "$@"
}
`;

/** The environment a reader's terminal has: no npm run variables, no node_modules/.bin on PATH. */
export function readerEnv(extra = {}) {
  const env = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(name) || name === "INIT_CWD" || name === "NODE") continue;
    env[name] = value;
  }
  env.PATH = (process.env.PATH ?? "")
    .split(":")
    .filter((dir) => dir && !dir.includes(`${sep}node_modules${sep}`) && !dir.endsWith(`${sep}node_modules`))
    .join(":");
  return { ...env, NO_COLOR: "1", ...extra };
}

/**
 * One bash, in its own process group, that runs commands one after the
 * other as pasted into one terminal (variables and `export`s carry over).
 * run() resolves { code, output, requests: [{ status, method, url }], timedOut }.
 */
export class Session {
  constructor({ cwd, env }) {
    this.dir = mkdtempSync(join(tmpdir(), "docs-check-session-"));
    this.child = spawn("bash", ["--noprofile", "--norc"], {
      cwd,
      env,
      detached: true,
      stdio: ["pipe", "pipe", "pipe"],
    });
    this.out = "";
    this.err = "";
    this.child.stdout.on("data", (d) => {
      this.out += d;
      this.wake?.();
    });
    this.child.stderr.on("data", (d) => {
      this.err += d;
      this.wake?.();
    });
    this.child.on("exit", () => this.wake?.());
    this.count = 0;
    writeFileSync(join(this.dir, "prelude.sh"), PRELUDE);
    this.child.stdin.write(`source ${JSON.stringify(join(this.dir, "prelude.sh"))}\n`);
  }

  async run(text, timeoutMs) {
    const n = ++this.count;
    const file = join(this.dir, `command-${n}.sh`);
    writeFileSync(file, `${text}\n`);
    this.out = "";
    this.err = "";
    const end = `${MARK} end ${n}`;
    this.child.stdin.write(
      `source ${JSON.stringify(file)} < /dev/null\nprintf '\\n${end} %s@@\\n' "$?"; printf '\\n${end}@@\\n' >&2\n`,
    );
    const deadline = Date.now() + timeoutMs;
    const done = () => this.out.includes(`${end} `) && this.err.includes(`${end}@@`);
    while (!done() && this.child.exitCode === null && Date.now() < deadline) {
      await new Promise((r) => {
        this.wake = r;
        setTimeout(r, 200);
      });
    }
    const finished = done();
    const code = finished ? Number(new RegExp(`${end} (\\d+)@@`).exec(this.out)[1]) : undefined;
    const requests = [...this.err.matchAll(/@@docs-check http (\d{3}) (\S+) (\S*) fail=([01])@@/g)].map((m) => ({
      status: Number(m[1]),
      method: m[2],
      url: m[3],
      fail: m[4] === "1",
    }));
    const clean = (s) =>
      s
        .split("\n")
        .filter((l) => !l.includes(MARK))
        .join("\n")
        .replace(/\n+$/, "");
    const output = [clean(this.out), clean(this.err)].filter(Boolean).join("\n");
    return { code, output, requests, timedOut: !finished && this.child.exitCode === null, exited: this.child.exitCode };
  }

  /** Ends the shell and everything it started (servers put in the background included). */
  async close() {
    for (const [signal, wait] of [
      ["SIGTERM", 5000],
      ["SIGKILL", 1000],
    ]) {
      try {
        process.kill(-this.child.pid, signal);
      } catch {
        break; // the group is gone
      }
      const until = Date.now() + wait;
      while (Date.now() < until) {
        try {
          process.kill(-this.child.pid, 0);
        } catch {
          break;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Whether a command's HTTP requests answered as its text says: each status
 * the stated one (`# 404`), else 2xx. Left to the command's exit code:
 * status 000 (no answer: connection refused), and requests made with
 * `curl -f` (curl exits 22 on an HTTP error), so a wait loop may poll.
 * Returns a problem, or undefined.
 */
export function statusProblem(command, requests) {
  const answered = requests.filter((r) => r.status !== 0 && !r.fail);
  if (command.expect !== undefined && answered.length === 0) {
    return `states HTTP ${command.expect} but made no HTTP request that was answered`;
  }
  const wrong = answered.find((r) =>
    command.expect === undefined ? r.status < 200 || r.status > 299 : r.status !== command.expect,
  );
  if (!wrong) return undefined;
  const wanted = command.expect === undefined ? "2xx (state another status with a `# NNN` comment)" : command.expect;
  return `expected HTTP ${wanted}, got ${wrong.status} (${wrong.method} ${wrong.url})`;
}
