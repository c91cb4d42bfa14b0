#!/usr/bin/env node
/**
 * `npm run openapi:lint`: validates the committed openapi.json with an
 * external OpenAPI 3.1 validator (@apidevtools/swagger-parser: the official
 * 3.1 JSON Schema plus $ref resolution). test/openapi/openapi.test.ts keeps that file
 * identical to what /openapi.json serves (`npx vitest run test/openapi/openapi.test.ts -u`
 * rewrites it after an intended change), so this validates the served document.
 * Then lints it with Spectral: the `spectral:oas` rules plus OWASP's API
 * Security ruleset (@stoplight/spectral-owasp-ruleset), as configured in
 * .spectral.mjs; any error fails, printed with its location. Warnings are
 * counted per rule (one line each; `--verbose` prints every warning), and
 * each rule that warns must be explained in docs/security.md, which must
 * explain no other: the list there stays what the lint reports.
 * Also checks that the API reference's script (public/docs/scalar.js, a link
 * into node_modules) resolves, since the Worker's tests cannot see assets.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { resolve } from "node:path";
import SwaggerParser from "@apidevtools/swagger-parser";

const root = resolve(import.meta.dirname, "..");
const verbose = process.argv.includes("--verbose");
const file = resolve(root, "openapi.json");
const doc = JSON.parse(readFileSync(file, "utf8"));

try {
  // validate() dereferences in place; give it a copy.
  await SwaggerParser.validate(structuredClone(doc));
} catch (err) {
  console.error(`openapi.json is not a valid OpenAPI ${doc.openapi} document:\n${err.message}`);
  process.exit(1);
}
if (!String(doc.openapi).startsWith("3.1")) {
  console.error(`openapi.json declares ${doc.openapi}, expected 3.1.x`);
  process.exit(1);
}
const operations = Object.values(doc.paths).flatMap((item) => Object.values(item));
console.log(
  `openapi.json: valid OpenAPI ${doc.openapi} (${operations.length} operations, ${Object.keys(doc.components.schemas).length} schemas)`,
);

const spectral = spawnSync(
  resolve(root, "node_modules/.bin/spectral"),
  [
    "lint",
    file,
    "--ruleset",
    resolve(root, ".spectral.mjs"),
    "--fail-severity",
    "error",
    "--format",
    "json",
    "--quiet",
  ],
  { cwd: root, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
);
let findings;
try {
  findings = JSON.parse(spectral.stdout);
  if (!Array.isArray(findings)) throw new Error("not a list");
} catch {
  console.error(`Spectral did not run:\n${spectral.stdout}${spectral.stderr}`);
  process.exit(1);
}
/** Spectral's severities: 0 error, 1 warning, 2 info, 3 hint. */
const where = (f) => `openapi.json:${f.range.start.line + 1} ${f.code} at ${f.path.join(".")}: ${f.message}`;
const errors = findings.filter((f) => f.severity === 0);
const warnings = findings.filter((f) => f.severity === 1);
if (errors.length > 0) {
  console.error(`Spectral (spectral:oas + OWASP): ${errors.length} errors\n${findings.map(where).join("\n")}`);
  process.exit(1);
}
if (spectral.status !== 0) {
  console.error(`Spectral exited with ${spectral.status}:\n${spectral.stderr}`);
  process.exit(1);
}
const byRule = new Map();
for (const w of warnings) byRule.set(w.code, (byRule.get(w.code) ?? 0) + 1);
const rules = [...byRule].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
console.log(
  `Spectral (spectral:oas + OWASP API Security): 0 errors, ${warnings.length} warnings of ${rules.length} rules (every warning: --verbose)`,
);
for (const [rule, count] of rules) console.log(`  ${String(count).padStart(4)} ${rule}`);
if (verbose) for (const w of warnings) console.log(`  ${where(w)}`);

// Every rule that still warns is explained in docs/security.md (its
// Spectral section, one "- `rule`:" item each), and nothing else is.
const security = readFileSync(resolve(root, "docs/security.md"), "utf8");
const section = security.slice(security.indexOf("\n## The API description"));
const documented = new Set([...section.matchAll(/^- `([^`]+)`:/gm)].map((m) => m[1]));
const undocumented = rules.map(([rule]) => rule).filter((rule) => !documented.has(rule));
const stale = [...documented].filter((rule) => !byRule.has(rule));
if (undocumented.length || stale.length) {
  if (undocumented.length) console.error(`docs/security.md does not explain: ${undocumented.join(", ")}`);
  if (stale.length) console.error(`docs/security.md explains rules that no longer warn: ${stale.join(", ")}`);
  console.error('Update the list in docs/security.md, "The API description" (one "- `rule`: why" item per rule).');
  process.exit(1);
}

for (const asset of ["public/docs/scalar.js", "public/docs/init.js"]) {
  const path = resolve(root, asset);
  if (!existsSync(path) || statSync(path).size === 0) {
    console.error(`${asset} is missing (run npm ci: scalar.js links into node_modules/@scalar/api-reference)`);
    process.exit(1);
  }
}
console.log("docs assets: present");
