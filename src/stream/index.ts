/** The live stream's router: route definitions bound to their handlers. */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../env";
import { validationHook } from "../lib/validation";
import * as handlers from "./handlers";
import { streamRoute, ticketRoute } from "./routes";

export const streamRouter = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(streamRoute, handlers.stream)
  .openapi(ticketRoute, handlers.issueTicket);
