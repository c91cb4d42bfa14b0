/** The admin router: shards, tenant placement, tenant moves. */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../env";
import { validationHook } from "../lib/validation";
import * as handlers from "./handlers";
import { moveRoute, shardsRoute, tenantRoute } from "./routes";

export const adminRouter = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(shardsRoute, handlers.listShards)
  .openapi(tenantRoute, handlers.getTenant)
  .openapi(moveRoute, handlers.moveTenant);
