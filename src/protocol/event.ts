import * as z from 'zod/mini';
import { labelValue, str, timestamp } from './common.ts';

export const EVENT_STATUSES = ['pending', 'firing', 'resolved'] as const;
export const SEVERITIES = ['info', 'warning', 'critical'] as const;

/** One piece of evidence: a check code on an instance, or a Kubernetes field. */
export const Evidence = z.strictObject({
  kind: z.enum(['check', 'kubernetes', 'heartbeat', 'fleet']),
  subject: str(512),
  field: z.optional(str(256)),
  value: z.optional(z.union([z.string().check(z.maxLength(1024)), z.number(), z.boolean(), z.null()])),
  code: z.optional(str(64)),
  at: z.optional(timestamp),
});

/**
 * A diagnosis result as a CloudEvents 1.0 event (structured mode). The podpulse extensions are severity, app,
 * tenant, fingerprint (stable identity of the problem across its lifecycle) and status.
 */
export const DiagnosisEvent = z.strictObject({
  specversion: z.literal('1.0'),
  id: str(128, 1),
  source: str(512, 1),
  type: z.string().check(z.maxLength(128), z.regex(/^io\.podpulse\.[a-z0-9]+(?:[.-][a-z0-9]+)*$/, 'must be io.podpulse.<name>')),
  subject: z.optional(str(512)),
  time: timestamp,
  datacontenttype: z._default(z.literal('application/json'), 'application/json'),
  severity: z.enum(SEVERITIES),
  app: z.optional(labelValue),
  tenant: z.optional(labelValue),
  fingerprint: z.string().check(z.regex(/^[a-f0-9]{16,64}$/, 'must be 16-64 lowercase hex digits')),
  status: z.enum(EVENT_STATUSES),
  data: z.strictObject({
    summary: str(1024, 1),
    evidence: z._default(z.array(Evidence).check(z.maxLength(100)), []),
    instances: z.optional(z.array(z.uuid()).check(z.maxLength(1000))),
    labels: z.optional(z.record(str(63, 1), str(256))),
  }),
});
export type DiagnosisEvent = z.output<typeof DiagnosisEvent>;
