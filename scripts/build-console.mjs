#!/usr/bin/env node
/**
 * Builds the console's static files (public/console/, git-ignored) from
 * src/console/client/: one minified ES module, one stylesheet and the icon. Wrangler
 * runs it before `wrangler dev` and `wrangler deploy` ([build] in
 * wrangler.toml), so a fresh clone needs no extra step. Prints the sizes;
 * `--json` prints them as JSON (the JavaScript budget check and BENCHMARKS.md
 * read that).
 */
import { copyFileSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const ROOT = resolve(import.meta.dirname, "..");
const OUT = resolve(ROOT, "public/console");
const common = { bundle: true, minify: true, legalComments: "none", logLevel: "warning", absWorkingDir: ROOT };

await build({
  ...common,
  entryPoints: ["src/console/client/main.ts"],
  outfile: resolve(OUT, "console.js"),
  format: "esm",
  target: "es2022",
  tsconfig: "src/console/client/tsconfig.json",
});
await build({ ...common, entryPoints: ["src/console/client/console.css"], outfile: resolve(OUT, "console.css") });
copyFileSync(resolve(ROOT, "src/console/client/favicon.svg"), resolve(OUT, "favicon.svg"));

const sizes = Object.fromEntries(
  ["console.js", "console.css"].map((name) => {
    const bytes = readFileSync(resolve(OUT, name));
    return [name, { bytes: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length }];
  }),
);
if (process.argv.includes("--json")) console.log(JSON.stringify(sizes));
else
  for (const [name, size] of Object.entries(sizes))
    console.log(`console: public/console/${name} ${size.bytes} bytes, ${size.gzip} bytes gzip`);
