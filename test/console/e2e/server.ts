/**
 * Global setup of the console's browser tests (vitest.console.config.ts):
 * one Worker for the whole run, served by `wrangler dev` from a fresh local
 * state directory (migrated, built; scripts/lib/local-worker.mjs), with its
 * own JWT and provider keys. Ports: CONSOLE_TEST_PORT and
 * CONSOLE_TEST_INSPECTOR_PORT, else free loopback ports.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { ensureChromium } from "../../../scripts/lib/chromium.mjs";
import { startLocalWorker } from "../../../scripts/lib/local-worker.mjs";

declare module "vitest" {
  export interface ProvidedContext {
    consoleOrigin: string;
    jwtSecret: string;
  }
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => ok(typeof address === "object" && address ? address.port : 0));
    });
  });
}

export default async function setup(project: TestProject) {
  ensureChromium();
  const port = Number(process.env.CONSOLE_TEST_PORT) || (await freePort());
  const inspectorPort = Number(process.env.CONSOLE_TEST_INSPECTOR_PORT) || (await freePort());
  const persist = mkdtempSync(join(tmpdir(), "cc-console-e2e-"));
  const jwtSecret = randomBytes(32).toString("hex");
  const worker = startLocalWorker({
    persist,
    port,
    inspectorPort,
    vars: { JWT_SECRET: jwtSecret, PROVIDER_SECRETS_KEY: randomBytes(32).toString("base64") },
  });
  await worker.ready();
  project.provide("consoleOrigin", `http://127.0.0.1:${port}`);
  project.provide("jwtSecret", jwtSecret);
  return () => {
    worker.stop();
    rmSync(persist, { recursive: true, force: true });
  };
}
