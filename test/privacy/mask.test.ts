/**
 * The masking rules of redaction (privacy.md, "Redaction"), on every shape
 * of `communication_details` the contract allows and on provider event
 * details; and the address normaliser erasures and the stored `address`
 * share (search.md's matching rules).
 */
import { describe, expect, it } from "vitest";
import { normaliseAddress, storedAddress } from "../../src/privacy/address";
import { maskEmail, maskPhone, maskText, redactDetails } from "../../src/privacy/mask";
import { SHAPES } from "./shapes";

describe("masking", () => {
  it.each([
    ["+9647501234567", "+9647*******67"], // the spec's own example
    ["+964 750 123 4567", "+9647*******67"], // punctuation dropped
    ["+1 (555) 123-4567", "+1555*****67"],
    ["+15551234567", "+1555*****67"],
    ["07501234567", "0750*****67"], // no +: digits masked the same way
    ["12345", "*****"], // too short to keep anything
    ["+9647*******67", "+9647*******67"], // masked already: unchanged
  ])("phone %s -> %s", (input, masked) => {
    expect(maskPhone(input)).toBe(masked);
  });

  it.each([
    ["alice@example.com", "a***@example.com"],
    ["Bob.Smith@Mail.Example.org", "B***@Mail.Example.org"],
    ["a***@example.com", "a***@example.com"], // masked already
    ["not-an-email", "***"],
    ["@example.com", "***"],
  ])("email %s -> %s", (input, masked) => {
    expect(maskEmail(input)).toBe(masked);
  });

  it("finds emails and international phone numbers inside free text, and leaves the rest", () => {
    expect(maskText("550 5.1.1 <jane.doe@example.com>: Recipient address rejected")).toBe(
      "550 5.1.1 <j***@example.com>: Recipient address rejected",
    );
    expect(maskText("Call me on +964 750 123 4567 please")).toBe("Call me on +9647*******67 please");
    for (const kept of [
      "2026-11-28T14:03:11+05:30",
      "delivery #1234",
      "2-4pm",
      "0195f3c2-6d1e-7b4a-9c3e-1a2b3c4d5e6f",
    ]) {
      expect(maskText(kept)).toBe(kept);
    }
  });
});

describe("redactDetails", () => {
  it.each(SHAPES)("$name", ({ details, redacted }) => {
    expect(redactDetails(details)).toEqual(redacted);
    // Twice is once.
    expect(redactDetails(redactDetails(details))).toEqual(redacted);
  });

  it("provider event details lose the same (a SendGrid bounce quotes the address)", () => {
    expect(
      redactDetails({
        provider: "sendgrid",
        provider_status: "bounce",
        reason: "550 5.1.1 The email account that you tried to reach does not exist: jane@example.com",
        provider_event_id: "sg-evt-1",
      }),
    ).toEqual({
      provider: "sendgrid",
      provider_status: "bounce",
      reason: "550 5.1.1 The email account that you tried to reach does not exist: j***@example.com",
      provider_event_id: "sg-evt-1",
    });
  });
});

describe("addresses (search.md's matching rules)", () => {
  it.each([
    ["+964 750 123 4567", "+9647501234567"],
    ["+964 (750) 123-4567", "+9647501234567"],
    ["+1.555.123.4567", "+15551234567"],
    ["  User@Example.COM ", "user@example.com"],
  ])("%s is %s", (input, value) => {
    expect(normaliseAddress(input)).toMatchObject({ value });
    expect(storedAddress(input)).toBe(value);
  });

  it.each([
    ["07501234567", "phone_without_plus"],
    ["964 750 123 4567", "phone_without_plus"],
    ["+12", "invalid"],
    ["hello", "invalid"],
    ["a@b", "invalid"],
  ])("%s is refused (%s)", (input, problem) => {
    expect(normaliseAddress(input)).toEqual({ problem });
  });
});
