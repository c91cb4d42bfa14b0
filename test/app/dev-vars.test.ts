/**
 * `npm run dev` reuses an existing .dev.vars as it finds it; it warns when
 * the Worker would refuse its secrets (issue 16, item 9). The check is
 * scripts/lib/dev-vars.mjs, which scripts/dev.mjs runs; here it is held to
 * the Worker's own rules.
 */
import { describe, expect, it } from "vitest";
import { devVar, devVarsProblems, MIN_JWT_SECRET_BYTES } from "../../scripts/lib/dev-vars.mjs";
import { MIN_SECRET_BYTES } from "../../src/auth/tokens";

const key32 = btoa(String.fromCharCode(...new Uint8Array(32).fill(7)));

describe(".dev.vars warnings of npm run dev", () => {
  it("uses the Worker's minimum JWT_SECRET length", () => {
    expect(MIN_JWT_SECRET_BYTES).toBe(MIN_SECRET_BYTES);
  });

  it("warns about a JWT_SECRET the Worker would refuse, and a PROVIDER_SECRETS_KEY that is not 32 bytes", () => {
    const problems = devVarsProblems(`JWT_SECRET=short-secret\nPROVIDER_SECRETS_KEY=${btoa("sixteen bytes!!!")}\n`);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toContain("JWT_SECRET in .dev.vars is 12 bytes");
    expect(problems[1]).toContain("PROVIDER_SECRETS_KEY");
    expect(devVarsProblems(`JWT_SECRET="${"x".repeat(31)}"\n`)).toHaveLength(1);
  });

  it("is quiet about good values, and about a file that does not set them (npm run dev adds random ones)", () => {
    expect(devVarsProblems(`JWT_SECRET=${"a".repeat(64)}\nPROVIDER_SECRETS_KEY=${key32}\n`)).toEqual([]);
    expect(devVarsProblems(`JWT_SECRET="${"é".repeat(16)}"\n`)).toEqual([]); // 32 bytes of UTF-8
    expect(devVarsProblems("")).toEqual([]);
    expect(devVarsProblems("JWT_SECRET=\n")).toEqual([]);
    expect(devVar('OTHER=1\nJWT_SECRET="abc"\n', "JWT_SECRET")).toBe("abc");
  });
});
