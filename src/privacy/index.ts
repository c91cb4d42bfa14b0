/** The privacy router: erasures, redaction of one communication, settings (privacy.md). */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { AuthedEnv } from "../env";
import { validationHook } from "../lib/validation";
import * as handlers from "./handlers";
import {
  createErasureRoute,
  getErasureRoute,
  getSettingsRoute,
  listErasuresRoute,
  putSettingsRoute,
  redactRoute,
} from "./routes";

export const privacyRouter = new OpenAPIHono<AuthedEnv>({ defaultHook: validationHook })
  .openapi(createErasureRoute, handlers.createErasure)
  .openapi(listErasuresRoute, handlers.listErasuresHandler)
  .openapi(getErasureRoute, handlers.getErasureHandler)
  .openapi(redactRoute, handlers.redact)
  .openapi(getSettingsRoute, handlers.getSettings)
  .openapi(putSettingsRoute, handlers.putSettings);
