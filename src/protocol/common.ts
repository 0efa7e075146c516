import { z } from 'zod';
import { parseBytes, parseDuration } from '../units.ts';

/** The protocol version every v1 message declares; a v2 can coexist by discriminating on it. */
export const API_VERSION = 'podpulse.io/v1';
export const apiVersion = z.literal(API_VERSION);

/** A bounded string: every string on the wire has a maximum length. */
export const str = (max: number, min = 0) => z.string().min(min).max(max);

/** RFC 3339 timestamp with a time zone (`Z` or an offset). */
export const timestamp = z.iso.datetime({ offset: true });

/** DNS-1123 label (namespaces, check ids): lowercase alphanumerics and '-', at most 63. */
export const dnsLabel = z
  .string()
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS-1123 label (lowercase letters, digits, "-")');

/** DNS-1123 subdomain (pod and node names), at most 253. */
export const dnsSubdomain = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be a DNS-1123 subdomain (lowercase letters, digits, "-", ".")');

/** A Kubernetes label value: may be empty, at most 63. */
export const labelValue = z
  .string()
  .max(63)
  .regex(/^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/, 'must be a Kubernetes label value');

/** Identifier for checks, templates and params: lowercase, digits, '-', '_', '.', at most 63. */
export const identifier = z
  .string()
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$/, 'must be lowercase letters, digits, "-", "_" or "." (at most 63)');

/** Release version: semver, optionally with a leading v. */
export const version = z
  .string()
  .max(64)
  .regex(/^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/, 'must be a semantic version (e.g. 1.4.2)');

export const sha256Hex = z.string().regex(/^[a-f0-9]{64}$/, 'must be 64 lowercase hex digits (sha256)');

/** A duration written as text (`10s`, `500ms`, `1m30s`), kept as text so documents round-trip unchanged. */
export const duration = z
  .string()
  .max(32)
  .refine((s) => parseDuration(s) !== undefined, {
    error: (iss) => `must be a duration such as "500ms", "10s" or "1m30s", got ${JSON.stringify(iss.input)}`,
  });

/** A byte size: an integer, or a quantity such as `64Mi` or `1G`. */
export const byteSize = z.union([z.number(), z.string().max(32)]).refine((v) => parseBytes(v) !== undefined, {
  error: (iss) => `must be a byte size such as 1048576, "64Mi" or "1G", got ${JSON.stringify(iss.input)}`,
});

export const ratio = z.number().min(0).max(1);
export const port = z.number().int().min(1).max(65535);
export const hostname = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'must be a host name or IP address');
export const absolutePath = z.string().max(4096).regex(/^\//, 'must be an absolute path');

/** A regular expression given as text; checked to compile so a bad pattern is refused when loaded. */
export const regexText = z
  .string()
  .max(1024)
  .refine(
    (s) => {
      try {
        new RegExp(s);
        return true;
      } catch {
        return false;
      }
    },
    { error: (iss) => `must be a valid regular expression, got ${JSON.stringify(iss.input)}` },
  );
