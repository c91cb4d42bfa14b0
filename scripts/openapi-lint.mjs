#!/usr/bin/env node
/**
 * `npm run openapi:lint`: validates the committed openapi.json with an
 * external OpenAPI 3.1 validator (@apidevtools/swagger-parser: the official
 * 3.1 JSON Schema plus $ref resolution). test/openapi/openapi.test.ts keeps that file
 * identical to what /openapi.json serves (`npx vitest run test/openapi/openapi.test.ts -u`
 * rewrites it after an intended change), so this validates the served document.
 * Then lints it with Spectral: the `spectral:oas` rules plus OWASP's API
 * Security ruleset (@stoplight/spectral-owasp-ruleset), as configured in
 * .spectral.mjs; any error fails (warnings are printed; README, Security,
 * says which remain and why).
 * Also checks that the API reference's script (public/docs/scalar.js, a link
 * into node_modules) resolves, since the Worker's tests cannot see assets.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { resolve } from "node:path";
import SwaggerParser from "@apidevtools/swagger-parser";

const root = resolve(import.meta.dirname, "..");
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
  ["lint", file, "--ruleset", resolve(root, ".spectral.mjs"), "--fail-severity", "error", "--format", "text"],
  { cwd: root, encoding: "utf8" },
);
const findings = `${spectral.stdout}${spectral.stderr}`.trim().split("\n").filter(Boolean);
const errors = findings.filter((line) => / error /.test(line));
const warnings = findings.filter((line) => / warning /.test(line));
if (spectral.status !== 0 || errors.length > 0) {
  console.error(`Spectral (spectral:oas + OWASP): ${errors.length} errors\n${findings.join("\n")}`);
  process.exit(1);
}
console.log(`Spectral (spectral:oas + OWASP API Security): 0 errors, ${warnings.length} warnings`);

for (const asset of ["public/docs/scalar.js", "public/docs/init.js"]) {
  const path = resolve(root, asset);
  if (!existsSync(path) || statSync(path).size === 0) {
    console.error(`${asset} is missing (run npm ci: scalar.js links into node_modules/@scalar/api-reference)`);
    process.exit(1);
  }
}
console.log("docs assets: present");
