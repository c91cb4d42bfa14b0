/**
 * Where a subscription may send events (../shared/spec/events.md,
 * Subscriptions: URLs): https only, no user name or password, at most 2,048
 * characters, and never a host that is an IP literal in a loopback, private,
 * link-local, carrier-grade NAT, unique-local or otherwise non-public range
 * (IPv4 or IPv6), `localhost`, or this service's own host. Checked when a
 * subscription is created or changed, and again before every attempt (the
 * rules or OUTBOUND_ALLOW_LOOPBACK may have changed since).
 *
 * The URL is parsed by the WHATWG URL parser first, which turns every
 * spelling of an IPv4 address into its dotted form (`0x7f.1`, `0177.0.0.1`,
 * `2130706433`, `127.0.0.1.`, percent-encoded or full-width digits all
 * become `127.0.0.1`) and every IPv6 literal into its compressed form
 * (`[::ffff:127.0.0.1]` becomes `[::ffff:7f00:1]`): the ranges are checked on
 * that one form, never on the text as given.
 *
 * Names that resolve to private addresses are not refused here (DNS is not
 * ours to check in a Worker); Cloudflare's fetch does not reach private
 * networks from a deployed Worker.
 */
import type { MessageKey } from "../i18n/messages";

export const MAX_URL_LENGTH = 2048;

/** Why a URL is refused: the message key of the field error on `url`. */
export type UrlProblem = Extract<
  MessageKey,
  "field_url_invalid" | "field_url_scheme" | "field_url_credentials" | "field_url_private" | "field_url_own_host"
>;

export interface UrlRules {
  /** OUTBOUND_ALLOW_LOOPBACK: http and https on 127.0.0.1, [::1] and localhost, any port. */
  allowLoopback: boolean;
  /**
   * This service's own hosts and ports (`URL.host` of a request it served,
   * and PUBLIC_BASE_URL's when set): a subscription may not point back at any.
   */
  ownHosts?: readonly string[];
}

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "[::1]", "localhost"]);

/** IPv4 ranges that are not public (RFC 6890 and friends), as [first octets, prefix length]. */
const IPV4_BLOCKED: [number[], number][] = [
  [[0], 8], // "this network"; 0.0.0.0 reaches the local host on many systems
  [[10], 8], // private
  [[100, 64], 10], // carrier-grade NAT
  [[127], 8], // loopback
  [[169, 254], 16], // link-local (cloud metadata services live here)
  [[172, 16], 12], // private
  [[192, 0, 0], 24], // IETF protocol assignments
  [[192, 0, 2], 24], // documentation
  [[192, 88, 99], 24], // 6to4 relay anycast
  [[192, 168], 16], // private
  [[198, 18], 15], // benchmarking
  [[198, 51, 100], 24], // documentation
  [[203, 0, 113], 24], // documentation
  [[224], 4], // multicast
  [[240], 4], // reserved, and 255.255.255.255
];

const v4Number = (octets: number[]) => octets.reduce((n, o) => n * 256 + o, 0);

function ipv4Blocked(octets: number[]): boolean {
  const n = v4Number(octets);
  return IPV4_BLOCKED.some(([prefix, bits]) => {
    const base = v4Number([...prefix, 0, 0, 0, 0].slice(0, 4));
    const size = 2 ** (32 - bits);
    return n >= base && n < base + size;
  });
}

/** A dotted IPv4 address as the URL parser writes it, else undefined. */
function parseIpv4(host: string): number[] | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return undefined;
  const octets = m.slice(1).map(Number);
  return octets.every((o) => o <= 255) ? octets : undefined;
}

/** `[...]` as the URL parser writes it -> eight 16-bit groups, else undefined. */
function parseIpv6(host: string): number[] | undefined {
  if (!host.startsWith("[") || !host.endsWith("]")) return undefined;
  let text = host.slice(1, -1).toLowerCase();
  // The parser writes no embedded IPv4, but accept it anyway.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4?.[1]) {
    const octets = parseIpv4(v4[1]);
    if (!octets) return undefined;
    const [a = 0, b = 0, c = 0, d = 0] = octets;
    text = `${text.slice(0, -v4[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const parse = (part: string) => (part ? part.split(":").map((g) => Number.parseInt(g, 16)) : []);
  const head = parse(halves[0] ?? "");
  const tail = parse(halves[1] ?? "");
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  const groups = [...head, ...new Array(Math.max(0, fill)).fill(0), ...tail];
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined;
}

const embeddedV4 = (hi: number, lo: number) => [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff];

function ipv6Blocked(g: number[]): boolean {
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = g;
  const zeroTo = (n: number) => g.slice(0, n).every((x) => x === 0);
  if (zeroTo(8)) return true; // :: unspecified
  if (zeroTo(7) && g7 === 1) return true; // ::1 loopback
  // IPv4-mapped ::ffff:a.b.c.d and IPv4-compatible ::a.b.c.d: the IPv4 rules apply.
  if (zeroTo(5) && g5 === 0xffff) return ipv4Blocked(embeddedV4(g6, g7));
  if (zeroTo(6)) return ipv4Blocked(embeddedV4(g6, g7));
  // IPv4/IPv6 translation 64:ff9b::/96 and 64:ff9b:1::/48.
  if (g0 === 0x64 && g1 === 0xff9b && (g2 === 1 || (g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0)))
    return g2 === 1 || ipv4Blocked(embeddedV4(g6, g7));
  if (g0 === 0x2002) return ipv4Blocked(embeddedV4(g1, g2)); // 6to4 carries an IPv4 address
  if (g0 === 0x100 && g1 === 0 && g2 === 0 && g3 === 0) return true; // discard-only 100::/64
  if (g0 === 0x2001 && g1 === 0xdb8) return true; // documentation
  if ((g0 & 0xfe00) === 0xfc00) return true; // unique-local fc00::/7
  if ((g0 & 0xffc0) === 0xfe80) return true; // link-local fe80::/10
  if ((g0 & 0xffc0) === 0xfec0) return true; // site-local fec0::/10 (deprecated)
  if ((g0 & 0xff00) === 0xff00) return true; // multicast
  return false;
}

/** Whether a host (as `URL.host` without port gives it) is not a public destination. */
export function isNonPublicHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.+$/, "");
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  const v4 = parseIpv4(host);
  if (v4) return ipv4Blocked(v4);
  const v6 = parseIpv6(host);
  if (v6) return ipv6Blocked(v6);
  // Not an IP literal (the parser turns every IPv4 spelling into the dotted
  // form), so a name: public as far as this check can tell.
  return false;
}

/** host[:port] in lower case without a trailing dot on the name (`API.example.com.:443` is `api.example.com:443`). */
const normalHost = (host: string) => host.toLowerCase().replace(/\.+(?=:\d+$|$)/, "");

/**
 * The URL as it will be called (the parser's normal form), or the problem.
 * Length is checked on the text as given.
 */
export function checkUrl(input: string, rules: UrlRules): { url: string } | { problem: UrlProblem } {
  if (input.length > MAX_URL_LENGTH) return { problem: "field_url_invalid" };
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return { problem: "field_url_invalid" };
  }
  const hostname = url.hostname.toLowerCase();
  const loopbackAllowed =
    rules.allowLoopback &&
    (url.protocol === "http:" || url.protocol === "https:") &&
    LOOPBACK_HOSTS.has(hostname.replace(/\.+$/, ""));
  if (url.protocol !== "https:" && !loopbackAllowed) return { problem: "field_url_scheme" };
  if (url.username || url.password) return { problem: "field_url_credentials" };
  if (!hostname) return { problem: "field_url_invalid" };
  if (!loopbackAllowed && isNonPublicHost(hostname)) return { problem: "field_url_private" };
  if (rules.ownHosts?.some((own) => normalHost(url.host) === normalHost(own))) return { problem: "field_url_own_host" };
  if (url.href.length > MAX_URL_LENGTH) return { problem: "field_url_invalid" };
  return { url: url.href };
}
