import { readFileSync } from 'node:fs';
import type { V1Pod } from '@kubernetes/client-node';
import jsonpatch, { type Operation } from 'fast-json-patch';
import { Pod } from 'kubernetes-models/v1/Pod';
import { unknownFields } from './unknown-fields.ts';
import { InjectionConfig } from '../../../collector/webhook/webhook-config.ts';
import type { AdmissionResponse } from '../../../collector/webhook/admission-review.ts';

export interface Review {
  apiVersion: string;
  kind: string;
  request: { uid: string; namespace: string; operation: string; dryRun: boolean; object: V1Pod; [k: string]: unknown };
}

/** An AdmissionReview recorded from kube-apiserver v1.20 (test/fixtures/admission/capture-reviews.ts). */
export function review(name: 'plain' | 'from-replicaset' | 'overrides' | 'opted-out' | 'dry-run'): Review {
  return JSON.parse(readFileSync(new URL(`../../fixtures/admission/${name}.review.json`, import.meta.url), 'utf8')) as Review;
}

export const injection = (over: Partial<InjectionConfig> = {}): InjectionConfig => ({ ...InjectionConfig.parse({}), ...over });

/** The JSON patch an answer carries (empty when none). */
export function patchOf(a: AdmissionResponse): Operation[] {
  return a.response.patch ? (JSON.parse(Buffer.from(a.response.patch, 'base64').toString('utf8')) as Operation[]) : [];
}

/** Applies a patch the way the apiserver does (strict: every operation must apply) and returns the new pod. */
export function applied(pod: V1Pod, ops: Operation[]): V1Pod {
  return jsonpatch.applyPatch(structuredClone(pod), ops, true, false).newDocument;
}

/** Validates a pod against the Kubernetes OpenAPI schema (kubernetes-models); throws listing what is wrong. */
export function validatePod(pod: V1Pod): void {
  // The apiserver sends creationTimestamp: null for an object not yet stored; the schema has no null for it.
  const p = structuredClone(pod) as { metadata?: { creationTimestamp?: unknown; managedFields?: unknown } };
  if (p.metadata?.creationTimestamp === null) delete p.metadata.creationTimestamp;
  new Pod(p as ConstructorParameters<typeof Pod>[0]).validate();
  // The schema allows extra properties; the apiserver would drop a misspelt field of the injected sidecar.
  const unknown = unknownFields(p, 'V1Pod');
  if (unknown.length > 0) throw new Error(`unknown fields in the pod: ${unknown.join(', ')}`);
}
