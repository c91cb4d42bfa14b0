/**
 * Runs once in the Vitest process (not in workerd), before any test file.
 * Drops from stderr and stdout the runtime output that a test provoked on
 * purpose and tagged with EXPECTED_BY_TEST (./expected-output.ts): a passing
 * run prints only its summary. Everything else passes through unchanged.
 */
import process from "node:process";
import { EXPECTED_BY_TEST } from "./expected-output";

type Write = typeof process.stderr.write;

export function setup() {
  const restore: (() => void)[] = [];
  for (const stream of [process.stdout, process.stderr]) {
    const write: Write = stream.write.bind(stream);
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      if (String(chunk).includes(EXPECTED_BY_TEST)) return true;
      return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
    }) as Write;
    restore.push(() => {
      stream.write = write;
    });
  }
  return () => {
    for (const undo of restore) undo();
  };
}
