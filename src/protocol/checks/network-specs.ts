import { z } from 'zod';
import { describeValue } from '../violations.ts';
import { absolutePath, duration, hostname, port, regexText, str } from '../common.ts';

/** `dns`: resolve a name with c-ares (dns.Resolver), never getaddrinfo. */
export const DnsSpec = z.strictObject({
  name: hostname,
  type: z.enum(['A', 'AAAA', 'CNAME', 'SRV']).default('A'),
  /** `ip` or `ip:port` (IPv6 in brackets); default: the nameservers of `resolvConf`. */
  server: str(64, 1).optional(),
  resolvConf: absolutePath.default('/etc/resolv.conf'),
  /** Every answer must be one of these (detects hijacked or stale records); at least one answer is required. */
  expect: z.array(str(253, 1)).max(32).optional(),
});

/** `tcp`: connect and close. */
export const TcpSpec = z.strictObject({ host: hostname, port });

const statusMatcher = z.union([
  z.number().int().min(100).max(599),
  z.enum(['1xx', '2xx', '3xx', '4xx', '5xx']),
], { error: (iss) => `must be a status code 100-599 or a class 1xx-5xx, got ${describeValue(iss.input)}` });

/** `http`: one request with undici; status, body and latency assertions. */
export const HttpSpec = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).max(2048),
  method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']).default('GET'),
  headers: z.record(str(128, 1), str(4096)).default({}).refine((h) => Object.keys(h).length <= 32, 'at most 32 headers'),
  body: str(65536).optional(),
  expectStatus: z.array(statusMatcher).min(1).max(32).default(['2xx']),
  bodyContains: str(1024, 1).optional(),
  bodyRegex: regexText.optional(),
  /** Dot path into a JSON body (`status.db`, `items.0.name`) and the value it must equal. */
  json: z.strictObject({ path: str(256, 1), equals: z.union([z.string().max(1024), z.number(), z.boolean(), z.null()]) }).optional(),
  tlsVerify: z.boolean().default(true),
  warnLatency: duration.optional(),
  failLatency: duration.optional(),
  /** follow: up to maxRedirects; none: a 3xx is the response; fail: any redirect is HTTP_REDIRECT. */
  redirects: z.enum(['follow', 'none', 'fail']).default('none'),
  maxRedirects: z.number().int().min(1).max(10).default(5),
  maxBodyBytes: z.number().int().min(0).max(4 * 1024 * 1024).default(1024 * 1024),
});

/** `tls`: handshake and inspect the server certificate. */
export const TlsSpec = z.strictObject({
  host: hostname,
  port: port.default(443),
  serverName: hostname.optional(),
  warnDays: z.number().min(0).max(3650).default(14),
  failDays: z.number().min(0).max(3650).default(3),
  /** PEM bundle to trust instead of the system store. */
  caFile: absolutePath.optional(),
});

/** `clock`: skew against the collector's `Date` header or an SNTP server. */
export const ClockSpec = z.strictObject({
  source: z.enum(['collector', 'sntp']).default('collector'),
  /** SNTP: `host` or `host:port` (default port 123). Collector: an http(s) URL; default the configured collector. */
  server: str(300, 1).optional(),
  warnSkew: duration.default('500ms'),
  failSkew: duration.default('2s'),
});
