/** The subscriptions router (events out, issue 18): route definitions bound to their handlers. */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../env";
import { validationHook } from "../lib/validation";
import * as handlers from "./handlers";
import {
  createSubscriptionRoute,
  deleteSubscriptionRoute,
  deliveriesRoute,
  getSubscriptionRoute,
  listSubscriptionsRoute,
  replayRoute,
  rotateSecretRoute,
  updateSubscriptionRoute,
} from "./routes";

export const subscriptionsRouter = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(createSubscriptionRoute, handlers.create)
  .openapi(listSubscriptionsRoute, handlers.list)
  .openapi(getSubscriptionRoute, handlers.get)
  .openapi(updateSubscriptionRoute, handlers.update)
  .openapi(deleteSubscriptionRoute, handlers.remove)
  .openapi(rotateSecretRoute, handlers.rotate)
  .openapi(deliveriesRoute, handlers.deliveries)
  .openapi(replayRoute, handlers.replay);
