/** The communications router: route definitions bound to their handlers. */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../env";
import { validationHook } from "../lib/validation";
import * as handlers from "./handlers";
import { createCommunicationRoute, eventsRoute, getRoute, listRoute, updateStatusRoute } from "./routes";

export const communicationsRouter = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(listRoute, handlers.list)
  .openapi(createCommunicationRoute, handlers.create)
  .openapi(getRoute, handlers.get)
  .openapi(updateStatusRoute, handlers.updateStatus)
  .openapi(eventsRoute, handlers.events);

export { BASE_PATH } from "./routes";
