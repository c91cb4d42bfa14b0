// Starts the API reference on /docs (the page is rendered by src/docs.ts).
// scalar.js beside this file is a link to @scalar/api-reference's standalone
// bundle in node_modules, served as a Workers static asset: the page loads
// nothing from the internet (no CDN, no web fonts, no telemetry).
Scalar.createApiReference("#app", {
  url: "/openapi.json",
  withDefaultFonts: false,
  telemetry: false,
  agent: { disabled: true },
  mcp: { disabled: true },
  showDeveloperTools: "never",
  documentDownloadType: "json",
  authentication: { preferredSecurityScheme: "bearerAuth" },
  defaultOpenAllTags: true,
  metaData: { title: "Customer Communications API" },
});
