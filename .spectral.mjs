// Spectral ruleset for `npm run openapi:lint` (scripts/openapi-lint.mjs):
// the OpenAPI rules plus OWASP's API Security Top 10 rules.
import owasp from "@stoplight/spectral-owasp-ruleset";
import { oas } from "@stoplight/spectral-rulesets";

export default { extends: [oas, owasp] };
