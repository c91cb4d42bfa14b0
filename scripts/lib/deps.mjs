/**
 * What is installed is used (issue 17): every dependency and dev dependency
 * of package.json is imported by a tracked source file (the service, a test,
 * a script, the configs), or its command is run by an npm script or a
 * script, or a tracked link points into it (public/docs/scalar.js); and
 * every package a source file imports is declared, not just present because
 * something else depends on it. Markdown does not count as a use.
 */
import { execFileSync } from "node:child_process";
import { lstatSync, readFileSync, readlinkSync } from "node:fs";
import { builtinModules } from "node:module";
import { resolve } from "node:path";

const CODE = /\.(?:[cm]?[jt]s|toml)$/;
/** Static imports and re-exports, side-effect imports, dynamic imports, require. */
const IMPORTS = [
  /^\s*(?:import|export)\s[^;]*?\bfrom\s*["']([^"'./][^"']*)["']/gm,
  /^\s*import\s*["']([^"'./][^"']*)["']/gm,
  /\bimport\s*\(\s*["']([^"'./][^"']*)["']\s*\)/g,
  /\brequire\s*\(\s*["']([^"'./][^"']*)["']\s*\)/g,
];

/** The package a bare import specifier names (`hono/client` -> `hono`), or undefined for builtins and runtime modules. */
function packageOf(specifier) {
  if (/^(?:node|cloudflare|virtual):/.test(specifier) || builtinModules.includes(specifier.split("/")[0])) return;
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

/** Problems, one line each; empty when every dependency is used and every import declared. */
export function checkDependencies(root) {
  const pkg = JSON.parse(readFileSync(resolve(root, "package.json"), "utf8"));
  const declared = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {})]);
  const files = execFileSync("git", ["ls-files", "-co", "--exclude-standard"], { cwd: root, encoding: "utf8" })
    .split("\n")
    .filter(Boolean);

  const imported = new Map(); // package -> first file importing it
  const links = [];
  let code = "";
  for (const file of files) {
    const path = resolve(root, file);
    let stat;
    try {
      stat = lstatSync(path);
    } catch {
      continue; // deleted in the work tree
    }
    if (stat.isSymbolicLink()) {
      links.push(readlinkSync(path));
      continue;
    }
    if (!CODE.test(file) || file === "worker-configuration.d.ts") continue;
    const text = readFileSync(path, "utf8");
    code += `\n${text}`;
    for (const pattern of IMPORTS) {
      for (const m of text.matchAll(pattern)) {
        const name = packageOf(m[1]);
        if (name && !imported.has(name)) imported.set(name, file);
      }
    }
  }
  const scripts = Object.values(pkg.scripts ?? {}).join("\n");

  const commandsOf = (name) => {
    try {
      const { bin } = JSON.parse(readFileSync(resolve(root, "node_modules", name, "package.json"), "utf8"));
      return typeof bin === "string" ? [name.split("/").pop()] : Object.keys(bin ?? {});
    } catch {
      return [];
    }
  };
  const runs = (command) =>
    new RegExp(`(?:^|[\\s;&|(])${command}(?:\\s|$)`, "m").test(scripts) ||
    code.includes(`"${command}"`) ||
    code.includes(`node_modules/.bin/${command}`);

  const problems = [];
  for (const name of declared) {
    const used =
      imported.has(name) ||
      commandsOf(name).some(runs) ||
      links.some((target) => target.includes(`node_modules/${name}/`));
    if (!used) problems.push(`${name} is declared in package.json but nothing uses it: remove it`);
  }
  for (const [name, file] of imported) {
    if (!declared.has(name)) problems.push(`${file} imports ${name}, which package.json does not declare`);
  }
  return { problems, declared: declared.size };
}
