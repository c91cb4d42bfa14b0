/** SendGrid's ECDSA library (what @sendgrid/eventwebhook verifies with), used by the tests to sign; untyped. */
declare module "starkbank-ecdsa";
declare module "starkbank-ecdsa/ellipticcurve/curve.js";
