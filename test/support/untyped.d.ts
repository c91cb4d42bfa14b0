/** SendGrid's ECDSA library (what @sendgrid/eventwebhook verifies with), used by the tests to sign; untyped. */
declare module "starkbank-ecdsa";
declare module "starkbank-ecdsa/ellipticcurve/curve.js";
/** A file's text, imported with Vite's `?raw` suffix (test/console/console.test.ts reads public/_headers). */
declare module "*?raw" {
  const text: string;
  export default text;
}
