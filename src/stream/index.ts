/** The live stream's router: route definitions bound to their handlers. */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../env";
import { validationHook } from "../lib/validation";
import * as handlers from "./handlers";
import { streamRoute, ticketRoute } from "./routes";
import { ChangeEvent } from "./schemas";

export const streamRouter = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(streamRoute, handlers.stream)
  .openapi(ticketRoute, handlers.issueTicket);

// The JSON of each event frame: named in the document, though a text body cannot $ref it.
streamRouter.openAPIRegistry.register("ChangeEvent", ChangeEvent);
