/**
 * Headless Chromium for the scripts that drive a browser (docs:screenshot,
 * test:browser, the console's browser tests): Debian's package, installed
 * with apt-get when missing so a fresh machine (CI) needs no manual step;
 * CHROMIUM names another binary. Driven by playwright-core.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { chromium } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

/** Flags for headless Chromium on a machine with no network beyond loopback (the background ones would be refused). */
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
    ["apt-get", "update", "-qq"],
    ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"],
  ]) {
    const [cmd, ...rest] = [...sudo, ...args];
    const run = spawnSync(cmd, rest, {
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
    if (run.status !== 0) throw new Error(`${args.join(" ")} failed (exit ${run.status})`);
  }
  if (!existsSync(CHROMIUM)) throw new Error(`chromium installed but ${CHROMIUM} does not exist`);
}

/** A fresh headless browser (no profile kept: each context starts empty). */
export function launchChromium() {
  ensureChromium();
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}
