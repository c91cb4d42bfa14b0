/** The URL rules of subscriptions (src/subscriptions/url.ts), on the parser's normal form of every spelling. */
import { describe, expect, it } from "vitest";
import { checkUrl, isNonPublicHost, type UrlRules } from "../../src/subscriptions/url";

const rules = { allowLoopback: false, ownHosts: ["api.example.com"] };
const problem = (url: string, r: UrlRules = rules) => {
  const out = checkUrl(url, r);
  return "problem" in out ? out.problem : undefined;
};

describe("checkUrl", () => {
  it.each([
    "https://crm.example.com/hooks",
    "https://crm.example.com:8443/hooks?x=1",
    "https://8.8.8.8/hook",
    "https://[2606:4700:4700::1111]/hook",
    "https://api.example.com.evil.test/hook",
  ])("accepts %s", (url) => {
    expect(problem(url)).toBeUndefined();
  });

  it.each([
    ["http://crm.example.com/hooks", "field_url_scheme"],
    ["ftp://crm.example.com/hooks", "field_url_scheme"],
    ["https://user:pass@crm.example.com/", "field_url_credentials"],
    ["https://user@crm.example.com/", "field_url_credentials"],
    ["not a url", "field_url_invalid"],
    [`https://crm.example.com/${"a".repeat(2040)}`, "field_url_invalid"],
    ["https://api.example.com/x", "field_url_own_host"],
    ["https://API.Example.com./x", "field_url_own_host"],
    ["https://api.example.com:443/x", "field_url_own_host"],
  ])("refuses %s: %s", (url, expected) => {
    expect(problem(url)).toBe(expected);
  });

  it.each([
    "https://127.0.0.1/",
    "https://127.1/",
    "https://0x7f.1/",
    "https://0x7f000001/",
    "https://0177.0.0.1/",
    "https://2130706433/",
    "https://127.0.0.1./",
    "https://%31%32%37.0.0.1/",
    "https://１２７.０.０.１/",
    "https://0.0.0.0/",
    "https://10.1.2.3/",
    "https://172.16.0.1/",
    "https://172.31.255.255/",
    "https://192.168.1.1/",
    "https://169.254.169.254/latest/meta-data",
    "https://100.64.0.1/",
    "https://100.127.255.254/",
    "https://224.0.0.1/",
    "https://255.255.255.255/",
    "https://[::1]/",
    "https://[::]/",
    "https://[0:0:0:0:0:0:0:1]/",
    "https://[::ffff:127.0.0.1]/",
    "https://[::ffff:7f00:1]/",
    "https://[::ffff:10.0.0.1]/",
    "https://[::127.0.0.1]/",
    "https://[64:ff9b::a9fe:a9fe]/",
    "https://[2002:c0a8:0101::1]/",
    "https://[fc00::1]/",
    "https://[fd12:3456:789a::1]/",
    "https://[fe80::1]/",
    "https://[ff02::1]/",
    "https://localhost/",
    "https://LOCALHOST./",
    "https://app.localhost/",
  ])("refuses the non-public host of %s", (url) => {
    expect(problem(url)).toBe("field_url_private");
  });

  it("OUTBOUND_ALLOW_LOOPBACK allows http and https on 127.0.0.1, [::1] and localhost, any port, and nothing else", () => {
    const dev = { allowLoopback: true };
    for (const url of [
      "http://127.0.0.1:31800/hook",
      "http://[::1]:9/x",
      "http://localhost:3000/",
      "https://localhost/",
    ]) {
      expect(problem(url, dev), url).toBeUndefined();
    }
    expect(problem("http://10.0.0.1/", dev)).toBe("field_url_scheme");
    expect(problem("https://10.0.0.1/", dev)).toBe("field_url_private");
    expect(problem("http://127.0.0.2/", dev)).toBe("field_url_scheme");
    expect(problem("http://127.0.0.1:31800/hook")).toBe("field_url_scheme");
  });

  it("public ranges next to the blocked ones are not refused", () => {
    for (const host of ["172.32.0.1", "100.128.0.1", "11.0.0.1", "192.169.0.1", "[2001:4860:4860::8888]"]) {
      expect(isNonPublicHost(host), host).toBe(false);
    }
  });
});
