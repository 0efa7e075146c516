import type { V1Pod } from '@kubernetes/client-node';
import { z } from 'zod';
import type { Violation } from '../../src/errors.ts';
import { toViolations } from '../../src/protocol/violations.ts';
import type { PatchOp } from './inject-pod.ts';

const gvr = z.looseObject({ group: z.string().max(253), version: z.string().max(64) });

/** The parts of an AdmissionReview request the webhook reads; the rest (userInfo, options) passes unchecked. */
export const AdmissionReviewRequest = z.looseObject({
  apiVersion: z.enum(['admission.k8s.io/v1', 'admission.k8s.io/v1beta1']),
  kind: z.literal('AdmissionReview'),
  request: z.looseObject({
    uid: z.string().min(1).max(128),
    kind: gvr.extend({ kind: z.string().max(128) }),
    resource: gvr.extend({ resource: z.string().max(128) }),
    subResource: z.string().max(128).optional(),
    namespace: z.string().max(253).optional(),
    name: z.string().max(253).optional(),
    operation: z.enum(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']),
    dryRun: z.boolean().optional(),
    object: z.looseObject({}).nullable().optional(),
  }),
});
export type AdmissionReviewRequest = z.output<typeof AdmissionReviewRequest>;

export interface AdmissionResponse {
  apiVersion: string;
  kind: 'AdmissionReview';
  response: { uid: string; allowed: true; patchType?: 'JSONPatch'; patch?: string; warnings?: string[] };
}

export type ParsedReview = { ok: true; review: AdmissionReviewRequest } | { ok: false; violations: Violation[] };

/** Parses the body of POST /admission/mutate; malformed input gives violations naming the fields, never a throw. */
export function parseAdmissionReview(body: unknown): ParsedReview {
  const r = AdmissionReviewRequest.safeParse(body);
  return r.success ? { ok: true, review: r.data } : { ok: false, violations: toViolations(r.error.issues, body) };
}

/** The pod in a review that is a pod CREATE, or undefined (the webhook answers everything else unchanged). */
export function podCreate(review: AdmissionReviewRequest): V1Pod | undefined {
  const q = review.request;
  if (q.operation !== 'CREATE' || q.resource.group !== '' || q.resource.resource !== 'pods' || q.subResource) return undefined;
  // Only what injectPod reads is relied on, and it checks each part before use.
  return q.object ?? undefined;
}

// The apiserver shows warnings to the client; keep them short and few.
const MAX_WARNINGS = 16;
const MAX_WARNING_CHARS = 256;

/** An allowed answer, with the patch (base64 JSON) when there is one. */
export function allowResponse(review: AdmissionReviewRequest, patch: readonly PatchOp[] | undefined, warnings: readonly string[]): AdmissionResponse {
  const response: AdmissionResponse['response'] = { uid: review.request.uid, allowed: true };
  if (patch && patch.length > 0) {
    response.patchType = 'JSONPatch';
    response.patch = Buffer.from(JSON.stringify(patch)).toString('base64');
  }
  if (warnings.length > 0) response.warnings = warnings.slice(0, MAX_WARNINGS).map((w) => w.slice(0, MAX_WARNING_CHARS));
  return { apiVersion: review.apiVersion, kind: 'AdmissionReview', response };
}
