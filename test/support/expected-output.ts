/**
 * Some output comes from workerd itself, not from a `console` call: its
 * warnings about a request (a non-ASCII header value) and the uncaught
 * rejections it reports from inside Workflows. It goes straight to the
 * Vitest process's stderr, where no test can catch it. A test that provokes
 * such output on purpose puts this tag into the value that shows up in it
 * (the header value, the error message); test/support/global-setup.ts drops
 * every write that carries the tag, and nothing else.
 */
export const EXPECTED_BY_TEST = "expected-by-test";
