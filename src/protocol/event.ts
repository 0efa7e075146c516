import { z } from 'zod';
import { labelValue, str, timestamp } from './common.ts';

export const EVENT_STATUSES = ['pending', 'firing', 'resolved'] as const;
export const SEVERITIES = ['info', 'warning', 'critical'] as const;

/** One piece of evidence: a check code on an instance, or a Kubernetes field. */
export const Evidence = z.strictObject({
  kind: z.enum(['check', 'kubernetes', 'heartbeat', 'fleet']),
  subject: str(512),
  field: str(256).optional(),
  value: z.union([z.string().max(1024), z.number(), z.boolean(), z.null()]).optional(),
  code: str(64).optional(),
  at: timestamp.optional(),
});

/**
 * A diagnosis result as a CloudEvents 1.0 event (structured mode). The podpulse extensions are severity, app,
 * tenant, fingerprint (stable identity of the problem across its lifecycle) and status.
 */
export const DiagnosisEvent = z.strictObject({
  specversion: z.literal('1.0'),
  id: str(128, 1),
  source: str(512, 1),
  type: z.string().max(128).regex(/^io\.podpulse\.[a-z0-9]+(?:[.-][a-z0-9]+)*$/, 'must be io.podpulse.<name>'),
  subject: str(512).optional(),
  time: timestamp,
  datacontenttype: z.literal('application/json').default('application/json'),
  severity: z.enum(SEVERITIES),
  app: labelValue.optional(),
  tenant: labelValue.optional(),
  fingerprint: z.string().regex(/^[a-f0-9]{16,64}$/, 'must be 16-64 lowercase hex digits'),
  status: z.enum(EVENT_STATUSES),
  data: z.strictObject({
    summary: str(1024, 1),
    evidence: z.array(Evidence).max(100).default([]),
    instances: z.array(z.uuid()).max(1000).optional(),
    labels: z.record(str(63, 1), str(256)).optional(),
  }),
});
export type DiagnosisEvent = z.output<typeof DiagnosisEvent>;
