/**
 * Headless Chromium for the scripts and the console's browser tests: Debian's
 * package (installed with apt-get when missing, so a fresh CI machine gets
 * it), driven by playwright-core. The flags keep it from calling home: on a
 * closed network its background requests would otherwise fail or hang.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { chromium } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Installs Debian's `chromium` (apt-get) if CHROMIUM does not exist. */
export function ensureChromium() {
  if (existsSync(CHROMIUM)) return;
  console.log(`${CHROMIUM} not found: installing Debian's chromium (apt-get)`);
  const sudo = process.getuid?.() === 0 ? [] : ["sudo"];
  for (const args of [
    ["apt-get", "update"],
    ["apt-get", "install", "-y", "--no-install-recommends", "chromium"],
  ]) {
    const [cmd, ...rest] = [...sudo, ...args];
    const run = spawnSync(cmd, rest, { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
    if (run.status !== 0) throw new Error(`${args.join(" ")} failed (exit ${run.status})`);
  }
  if (!existsSync(CHROMIUM)) throw new Error(`chromium installed but ${CHROMIUM} does not exist`);
}

/** A fresh headless browser (no profile kept: each context starts empty). */
export function launchChromium() {
  ensureChromium();
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}
