/**
 * CPU profile of the bench Worker while autocannon loads one URL, taken over
 * the DevTools protocol of `wrangler dev --inspector-port`. Prints the
 * functions with the most self time, and self time per source module when
 * BUNDLE names the unminified bundle being served (esbuild marks where each
 * module starts with a `// path` line). Used to find the hot path's cost:
 *   [BUNDLE=.wrangler/bench/worker/worker.js] \
 *   node scripts/bench/profile.mjs <inspector-port> <url> [token] [seconds] [method] [body]
 */
import { readFileSync } from "node:fs";
import autocannon from "autocannon";
import WebSocket from "ws";

const [port, url, token, seconds = "5", method = "GET", body] = process.argv.slice(2);
// wrangler's inspector proxy (--inspector-port); it relays to the user worker.
const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
await new Promise((r, j) => {
  ws.on("open", r);
  ws.on("error", j);
});
let seq = 0;
const waiters = [];
ws.on("message", (data) => {
  const msg = JSON.parse(String(data));
  for (const w of waiters.splice(0)) if (!w(msg)) waiters.push(w);
});
/** Sends a command; resolves with the first message `done` accepts (the proxy renumbers ids). */
const send = (method, params = {}, done = (m) => m.result !== undefined) =>
  new Promise((r) => {
    waiters.push((m) => {
      if (!done(m)) return false;
      r(m);
      return true;
    });
    ws.send(JSON.stringify({ id: ++seq, method, params }));
  });
await send("Profiler.enable");
await send("Profiler.setSamplingInterval", { interval: 100 });
await send("Profiler.start");
const headers = token ? { authorization: `Bearer ${token}` } : {};
if (body) headers["content-type"] = "application/json";
const res = await autocannon({ url, method, headers, body, connections: 8, duration: Number(seconds) });
const { result } = await send("Profiler.stop", {}, (m) => m.result?.profile !== undefined);
ws.close();
const { nodes, samples, timeDeltas } = result.profile;
const byId = new Map(nodes.map((n) => [n.id, n]));
const self = new Map();
samples.forEach((id, i) => {
  const n = byId.get(id);
  const f = n.callFrame;
  const key = `${f.functionName || "(anon)"} ${f.url.split("/").slice(-2).join("/")}:${f.lineNumber}`;
  self.set(key, (self.get(key) ?? 0) + (timeDeltas[i] ?? 0));
});
// Inclusive time per function (a function counted once per stack).
const parent = new Map();
for (const n of nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const inclusive = new Map();
samples.forEach((id, i) => {
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const f = byId.get(cur).callFrame;
    const key = `${f.functionName || "(anon)"} ${f.url.split("/").slice(-2).join("/")}:${f.lineNumber}`;
    if (seen.has(key)) continue;
    seen.add(key);
    inclusive.set(key, (inclusive.get(key) ?? 0) + (timeDeltas[i] ?? 0));
  }
});
const total = [...self.values()].reduce((a, b) => a + b, 0);
console.log(`${res.requests.average} req/s, p50 ${res.latency.p50} ms; profile ${Math.round(total / 1000)} ms`);
for (const [k, v] of [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 40)) {
  console.log(`${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
}
if (process.env.BUNDLE) {
  // Module start lines of the bundle; a sample's line falls in the last one before it.
  const starts = [];
  readFileSync(process.env.BUNDLE, "utf8")
    .split("\n")
    .forEach((line, i) => {
      const m = /^\/\/ ((?:node_modules\/)?(@[^/]+\/[^/]+|[^/]+)\/?\S*)$/.exec(line);
      if (m?.[1] && !m[1].includes(" ")) {
        const group = m[1].startsWith("node_modules/") ? m[2] : m[1].split("/").slice(0, 2).join("/");
        starts.push([i, group]);
      }
    });
  const moduleAt = (line) => {
    let found = "(bundle prelude)";
    for (const [start, group] of starts) {
      if (start > line) break;
      found = group;
    }
    return found;
  };
  const perModule = new Map();
  samples.forEach((id, i) => {
    const f = byId.get(id).callFrame;
    const key =
      f.url.endsWith(".js") && !f.url.startsWith("cloudflare")
        ? moduleAt(f.lineNumber)
        : f.url.split(":")[0] || f.functionName;
    perModule.set(key, (perModule.get(key) ?? 0) + (timeDeltas[i] ?? 0));
  });
  console.log("\nself time per module:");
  for (const [k, v] of [...perModule.entries()].sort((a, b) => b[1] - a[1]).slice(0, 30)) {
    console.log(`${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
  }
}
console.log("\ninclusive:");
for (const [k, v] of [...inclusive.entries()].sort((a, b) => b[1] - a[1]).slice(0, 60)) {
  console.log(`${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
}
