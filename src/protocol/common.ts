// zod/mini, not zod: the agent's bundles carry these schemas into every pod, and zod classic cannot be tree-shaken
// (its whole core and forty locales come along); the namespace import keeps only the functions used (docs/adr/0007).
import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';
import { parseBytes, parseDuration } from '../units.ts';

// Issue messages read outside parseWith (which words every issue itself) come from the global locale. zod classic
// registers English on its first schema; zod/mini registers none, so register it here for the same messages.
if (!z.config().localeError) z.config(en());

/** The protocol version every v1 message declares; a v2 can coexist by discriminating on it. */
export const API_VERSION = 'podpulse.io/v1';
export const apiVersion = z.literal(API_VERSION);

/** A bounded string: every string on the wire has a maximum length. */
export const str = (max: number, min = 0) => z.string().check(z.minLength(min), z.maxLength(max));

/** RFC 3339 timestamp with a time zone (`Z` or an offset). */
export const timestamp = z.iso.datetime({ offset: true });

/** DNS-1123 label (namespaces, check ids): lowercase alphanumerics and '-', at most 63. */
export const dnsLabel = z
  .string()
  .check(z.maxLength(63), z.regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS-1123 label (lowercase letters, digits, "-")'));

/** DNS-1123 subdomain (pod and node names), at most 253. */
export const dnsSubdomain = z
  .string()
  .check(z.maxLength(253), z.regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be a DNS-1123 subdomain (lowercase letters, digits, "-", ".")'));

/** A Kubernetes label value: may be empty, at most 63. */
export const labelValue = z
  .string()
  .check(z.maxLength(63), z.regex(/^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/, 'must be a Kubernetes label value'));

/** Identifier for checks, templates and params: lowercase, digits, '-', '_', '.', at most 63. */
export const identifier = z
  .string()
  .check(z.maxLength(63), z.regex(/^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$/, 'must be lowercase letters, digits, "-", "_" or "." (at most 63)'));

/** Release version: semver, optionally with a leading v. */
export const version = z
  .string()
  .check(z.maxLength(64), z.regex(/^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/, 'must be a semantic version (e.g. 1.4.2)'));

export const sha256Hex = z.string().check(z.regex(/^[a-f0-9]{64}$/, 'must be 64 lowercase hex digits (sha256)'));

/** A duration written as text (`10s`, `500ms`, `1m30s`), kept as text so documents round-trip unchanged. */
export const duration = z.string().check(
  z.maxLength(32),
  z.refine((s: string) => parseDuration(s) !== undefined, {
    error: (iss) => `must be a duration such as "500ms", "10s" or "1m30s", got ${JSON.stringify(iss.input)}`,
  }),
);

/** A byte size: an integer, or a quantity such as `64Mi` or `1G`. */
export const byteSize = z.union([z.number(), z.string().check(z.maxLength(32))]).check(
  z.refine((v: number | string) => parseBytes(v) !== undefined, {
    error: (iss) => `must be a byte size such as 1048576, "64Mi" or "1G", got ${JSON.stringify(iss.input)}`,
  }),
);

export const ratio = z.number().check(z.gte(0), z.lte(1));
export const port = z.number().check(z.int(), z.gte(1), z.lte(65535));
export const hostname = z.string().check(z.minLength(1), z.maxLength(253), z.regex(/^[A-Za-z0-9_.:-]+$/, 'must be a host name or IP address'));
export const absolutePath = z.string().check(z.maxLength(4096), z.regex(/^\//, 'must be an absolute path'));

/** A regular expression given as text; checked to compile so a bad pattern is refused when loaded. */
export const regexText = z.string().check(
  z.maxLength(1024),
  z.refine(
    (s: string) => {
      try {
        new RegExp(s);
        return true;
      } catch {
        return false;
      }
    },
    { error: (iss) => `must be a valid regular expression, got ${JSON.stringify(iss.input)}` },
  ),
);
