/** The shared local scripts the browser tests reuse (plain ES modules). */
declare module "*/scripts/lib/chromium.mjs" {
  import type { Browser } from "playwright-core";
  export const CHROMIUM: string;
  export const CHROMIUM_ARGS: string[];
  export function ensureChromium(): void;
  export function launchChromium(): Promise<Browser>;
}
declare module "*/scripts/lib/local-worker.mjs" {
  export function startLocalWorker(opts: {
    persist: string;
    port: number;
    inspectorPort: number;
    vars: Record<string, string>;
  }): { logFile: string; ready(): Promise<void>; stop(): void };
}
declare module "*/scripts/build-console.mjs";
