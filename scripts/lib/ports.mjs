/**
 * Loopback ports for the local scripts. A script that starts a server takes
 * its ports from its options, else from these: never a fixed number, so two
 * checkouts (or a test run beside a dev server) never collide.
 */
import { createServer } from "node:net";

/** Whether nothing listens on 127.0.0.1:port right now. */
export function isFree(port) {
  return new Promise((ok) => {
    const server = createServer();
    server.once("error", () => ok(false));
    server.listen(port, "127.0.0.1", () => server.close(() => ok(true)));
  });
}

/** A port nobody listens on right now, chosen by the system (none of `not`). */
export async function freePort(not = []) {
  for (;;) {
    const port = await new Promise((ok, fail) => {
      const server = createServer();
      server.once("error", fail);
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address();
        server.close(() => ok(port));
      });
    });
    if (!not.includes(port)) return port;
  }
}

/** The first free port from `start` up (the familiar default when it is free, the next one when not). */
export async function firstFreeFrom(start, not = []) {
  for (let port = start; port < start + 200; port++) {
    if (!not.includes(port) && (await isFree(port))) return port;
  }
  throw new Error(`no free port between ${start} and ${start + 199}`);
}

/** An option's port: the given value when there is one, else `fallback()`. */
export async function portOption(value, fallback) {
  if (value === undefined || value === "") return fallback();
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`not a port: ${value}`);
  return port;
}
