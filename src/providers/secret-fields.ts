/**
 * The field of a provider connection's PUT body that carries its secret
 * (../shared/spec/webhooks.md): read by the route (./routes.ts) and by the
 * console's connect form (src/console/client/), so neither repeats it.
 */
export const SECRET_FIELD = { twilio: "auth_token", sendgrid: "public_key", standard: "secret" } as const;
