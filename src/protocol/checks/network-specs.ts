import * as z from 'zod/mini';
import { describeValue } from '../violations.ts';
import { absolutePath, duration, hostname, port, regexText, str } from '../common.ts';

// Each kind's spec schema is built on its first parse (z.lazy): a worker builds only the kinds it is configured
// with, and a process that never parses a check config builds none (docs/worker-footprint.md).

/** `dns`: resolve a name with c-ares (dns.Resolver), never getaddrinfo. */
export const DnsSpec = z.lazy(() => z.strictObject({
  name: hostname,
  type: z._default(z.enum(['A', 'AAAA', 'CNAME', 'SRV']), 'A'),
  /** `ip` or `ip:port` (IPv6 in brackets); default: the nameservers of `resolvConf`. */
  server: z.optional(str(64, 1)),
  resolvConf: z._default(absolutePath, '/etc/resolv.conf'),
  /** Every answer must be one of these (detects hijacked or stale records); at least one answer is required. */
  expect: z.optional(z.array(str(253, 1)).check(z.maxLength(32))),
}));

/** `tcp`: connect and close. */
export const TcpSpec = z.lazy(() => z.strictObject({ host: hostname, port }));

const statusMatcher = () => z.union([
  z.number().check(z.int(), z.gte(100), z.lte(599)),
  z.enum(['1xx', '2xx', '3xx', '4xx', '5xx']),
], { error: (iss) => `must be a status code 100-599 or a class 1xx-5xx, got ${describeValue(iss.input)}` });

/** `http`: one request through `node:http(s)` (ADR 0008); status, body and latency assertions. */
export const HttpSpec = z.lazy(() => z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).check(z.maxLength(2048)),
  method: z._default(z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']), 'GET'),
  headers: z._default(z.record(str(128, 1), str(4096)), {}).check(z.refine((h: Record<string, string>) => Object.keys(h).length <= 32, 'at most 32 headers')),
  body: z.optional(str(65536)),
  expectStatus: z._default(z.array(statusMatcher()).check(z.minLength(1), z.maxLength(32)), ['2xx']),
  bodyContains: z.optional(str(1024, 1)),
  bodyRegex: z.optional(regexText),
  /** Dot path into a JSON body (`status.db`, `items.0.name`) and the value it must equal. */
  json: z.optional(z.strictObject({ path: str(256, 1), equals: z.union([z.string().check(z.maxLength(1024)), z.number(), z.boolean(), z.null()]) })),
  tlsVerify: z._default(z.boolean(), true),
  warnLatency: z.optional(duration),
  failLatency: z.optional(duration),
  /** follow: up to maxRedirects; none: a 3xx is the response; fail: any redirect is HTTP_REDIRECT. */
  redirects: z._default(z.enum(['follow', 'none', 'fail']), 'none'),
  maxRedirects: z._default(z.number().check(z.int(), z.gte(1), z.lte(10)), 5),
  maxBodyBytes: z._default(z.number().check(z.int(), z.gte(0), z.lte(4 * 1024 * 1024)), 1024 * 1024),
}));

/** `tls`: handshake and inspect the server certificate. */
export const TlsSpec = z.lazy(() => z.strictObject({
  host: hostname,
  port: z._default(port, 443),
  serverName: z.optional(hostname),
  warnDays: z._default(z.number().check(z.gte(0), z.lte(3650)), 14),
  failDays: z._default(z.number().check(z.gte(0), z.lte(3650)), 3),
  /** PEM bundle to trust instead of the system store. */
  caFile: z.optional(absolutePath),
}));

/** `clock`: skew against the collector's `Date` header or an SNTP server. */
export const ClockSpec = z.lazy(() => z.strictObject({
  source: z._default(z.enum(['collector', 'sntp']), 'collector'),
  /** SNTP: `host` or `host:port` (default port 123). Collector: an http(s) URL; default the configured collector. */
  server: z.optional(str(300, 1)),
  warnSkew: z._default(duration, '500ms'),
  failSkew: z._default(duration, '2s'),
}));
