import type { Logger } from '../../src/log/logger.ts';
import type { Violation } from '../../src/errors.ts';
import { allowResponse, parseAdmissionReview, podCreate, type AdmissionResponse } from './admission-review.ts';
import { injectPod, type InjectionContext, type InjectionResult } from './inject-pod.ts';

export type MutateOutcome = 'injected' | 'unchanged' | 'error';

export interface MutateHandlerOptions {
  /** The current injection context (config, detected cluster version, daemon config); read per request. */
  context: () => InjectionContext;
  log: Logger;
  /** Called for every review answered, dryRun included (metrics). */
  onOutcome?: (outcome: MutateOutcome) => void;
  /** Called after a real (not dryRun) injection: the only place anything about a pod is recorded. */
  onInjected?: (pod: { namespace: string; name: string; mode: 'native' | 'classic' }) => void;
}

export type MutateAnswer = { status: 200; body: AdmissionResponse } | { status: 400; violations: Violation[] };

/**
 * POST /admission/mutate. A malformed review is a 400 (the apiserver logs it and, with failurePolicy Ignore, admits
 * the pod); every well-formed review is allowed, with a patch when the pod gets the sidecar. An internal failure
 * admits the pod unchanged with a warning: the probe never stands between a team and its pod.
 */
export function createMutateHandler(opts: MutateHandlerOptions): (body: unknown) => MutateAnswer {
  const log = opts.log;
  return (body) => {
    const parsed = parseAdmissionReview(body);
    if (!parsed.ok) return { status: 400, violations: parsed.violations };
    const review = parsed.review;
    const q = review.request;
    const pod = podCreate(review);
    if (!pod) {
      opts.onOutcome?.('unchanged');
      return { status: 200, body: allowResponse(review, undefined, []) };
    }
    const namespace = q.namespace ?? pod.metadata?.namespace ?? '';
    const name = pod.metadata?.name ?? (pod.metadata?.generateName ? `${pod.metadata.generateName}*` : '');
    let result: InjectionResult;
    try {
      result = injectPod(pod, namespace, opts.context());
    } catch (err) {
      log.error({ err, namespace, pod: name, uid: q.uid }, 'injection failed; admitting the pod unchanged');
      opts.onOutcome?.('error');
      return { status: 200, body: allowResponse(review, undefined, [`podpulse: the probe was not injected (internal error: ${(err as Error).message}); the pod is admitted unchanged`]) };
    }
    if (!result.injected) {
      log.debug({ namespace, pod: name, reason: result.reason }, 'pod not injected');
      opts.onOutcome?.('unchanged');
      return { status: 200, body: allowResponse(review, undefined, result.warnings) };
    }
    opts.onOutcome?.('injected');
    if (q.dryRun !== true) opts.onInjected?.({ namespace, name, mode: result.mode });
    return { status: 200, body: allowResponse(review, result.patch, result.warnings) };
  };
}
