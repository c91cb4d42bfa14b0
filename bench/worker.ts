/**
 * Bench-only Worker entry (never deployed): the two baselines of
 * `npm run bench`, served by the same workerd, the same bindings and the
 * same local D1 as the real app, which handles every other path.
 *  - GET /__bench/static: a static JSON body, no D1 (the runtime's floor);
 *  - GET /__bench/d1: one trivial D1 query (the floor of any request that
 *    needs the database once, which every API request does);
 *  - GET /__bench/d1-limits: the same query plus the two rate-limit calls
 *    every authenticated request makes (src/middleware/auth.ts). Locally,
 *    each limit() is a round trip to a Durable Object in this workerd
 *    (miniflare's emulation), so this shows what that emulation costs.
 */
import worker from "../src/index";

const STATIC_BODY = JSON.stringify({ success: true, message: "ok" });
const JSON_HEADERS = { "content-type": "application/json" };

export default {
  async fetch(request, env, ctx) {
    const { pathname } = new URL(request.url);
    if (pathname === "/__bench/static") return new Response(STATIC_BODY, { headers: JSON_HEADERS });
    if (pathname === "/__bench/d1") {
      const row = await env.DB.prepare("SELECT 1 AS one").first<{ one: number }>();
      return new Response(JSON.stringify({ success: true, one: row?.one ?? 0 }), { headers: JSON_HEADERS });
    }
    if (pathname === "/__bench/d1-limits") {
      const [row] = await Promise.all([
        env.DB.prepare("SELECT 1 AS one").first<{ one: number }>(),
        env.TENANT_RATE_LIMITER.limit({ key: "tenant:bench" }),
        env.USER_RATE_LIMITER.limit({ key: "user:bench" }),
      ]);
      return new Response(JSON.stringify({ success: true, one: row?.one ?? 0 }), { headers: JSON_HEADERS });
    }
    return worker.fetch(request, env, ctx);
  },
  scheduled: worker.scheduled,
} satisfies ExportedHandler<Env>;
