import type { FastifyInstance } from 'fastify';
import type { OperatorAuth } from '../../auth/operator-auth.ts';
import { HttpError } from '../../api/http-error.ts';
import { RecordConflictError, timeSortableId, type RecordStore } from '../../store/record-store.ts';
import type { Store } from '../../store/store.ts';
import { KINDS, type ControlState } from '../control-state.ts';
import { authorOf, jsonBody, notFound } from '../json-body.ts';
import { analyzeStep, groupStats } from './rollout-analysis.ts';
import { selectedInstances, type RolloutController } from './rollout-controller.ts';
import { RolloutRequest, type Rollout, type RolloutSelector } from './rollout-spec.ts';

export interface RolloutRoutesOptions {
  store: Store & RecordStore;
  state: ControlState;
  controller: RolloutController;
  operatorAuth: OperatorAuth;
}

const rejected = (status: 400 | 409, message: string, path?: string) =>
  new HttpError(status, 'PODPULSE_ERR_ROLLOUT_REJECTED', 'bad_request', message, path ? { violations: [{ path, message }] } : {});

/** Two selectors can select the same instance unless some field is set to different values in both. */
function overlaps(a: RolloutSelector, b: RolloutSelector): boolean {
  return (['tenant', 'namespace', 'app'] as const).every((f) => a[f] === undefined || b[f] === undefined || a[f] === b[f]);
}

/** `/api/v1/rollouts`: start (admin), list and show with per-step numbers (viewer), pause / resume / abort (admin). */
export function rolloutRoutes(app: FastifyInstance, o: RolloutRoutesOptions): void {
  const viewer = { onRequest: o.operatorAuth.require('viewer') };
  const admin = { onRequest: o.operatorAuth.require('admin') };

  app.post('/api/v1/rollouts', admin, async (req, reply) => {
    const body = jsonBody(req, RolloutRequest, 'rollout request');
    req.audit = { action: 'rollout.start', details: { target: body.target, selector: body.selector } };
    await o.state.refreshIfChanged();
    if (!o.state.releases.has(body.target)) throw rejected(400, `release ${body.target} does not exist; publish it first (GET /api/v1/releases lists the stored ones)`, 'target');
    const busy = o.state.rollouts.find((r) => (r.status === 'running' || r.status === 'paused') && overlaps(r.selector, body.selector));
    if (busy) throw rejected(409, `rollout ${busy.id} (${busy.target}, ${busy.status}) covers some of the same instances; finish or abort it first`, 'selector');
    const now = Date.now();
    const instances = await selectedInstances(o.store, body.selector);
    const fromVersions: Record<string, number> = {};
    for (const i of instances) fromVersions[i.agent.workerVersion] = (fromVersions[i.agent.workerVersion] ?? 0) + 1;
    const r: Rollout = {
      id: `ro-${timeSortableId(now).toLowerCase()}`, target: body.target, selector: body.selector, steps: body.steps, analysis: body.analysis,
      status: 'running', createdBy: authorOf(req), createdAt: now, updatedAt: now, fromVersions, baseline: groupStats(instances, now), currentStep: 0, stepStates: [],
    };
    await o.store.putRecord(KINDS.rollout, r.id, r, { expectedVersion: 0 });
    req.audit.details = { id: r.id, target: r.target, selector: r.selector };
    await o.state.changed();
    void o.controller.tick();
    return reply.code(201).send(r);
  });

  app.get('/api/v1/rollouts', viewer, async () => {
    await o.state.refreshIfChanged();
    return { items: o.state.rollouts };
  });

  app.get('/api/v1/rollouts/:id', viewer, async (req) => {
    const { id } = req.params as { id: string };
    const rec = await o.store.getRecord<Rollout>(KINDS.rollout, id);
    if (!rec) throw notFound(`no rollout ${id}`);
    const r = rec.body;
    const now = Date.now();
    const instances = await selectedInstances(o.store, r.selector);
    // Live numbers per step (cumulative), next to what the controller recorded when it judged the step.
    const steps = r.steps.map((spec, i) => {
      const st = r.stepStates[i];
      const live = st ? analyzeStep(r, i, instances, now).counts : undefined;
      return { step: i + 1, spec, ...(st ? { phase: st.phase, startedAt: new Date(st.startedAt).toISOString(), cutoff: st.cutoff, ...live, verdict: st.verdict ?? null } : { phase: 'pending' }) };
    });
    return { ...r, selected: instances.length, steps };
  });

  for (const action of ['pause', 'resume', 'abort'] as const) {
    app.post(`/api/v1/rollouts/:id/${action}`, admin, async (req) => {
      const { id } = req.params as { id: string };
      req.audit = { action: `rollout.${action}`, details: { id } };
      const change = async (): Promise<Rollout> => {
        const rec = await o.store.getRecord<Rollout>(KINDS.rollout, id);
        if (!rec) throw notFound(`no rollout ${id}`);
        const r = structuredClone(rec.body);
        const from = r.status;
        const allowed = action === 'pause' ? from === 'running' : action === 'resume' ? from === 'paused' : from === 'running' || from === 'paused';
        if (!allowed) throw rejected(409, `cannot ${action} rollout ${id}: it is ${from}`);
        const now = Date.now();
        if (action === 'pause') r.status = 'paused';
        else if (action === 'abort') {
          r.status = 'aborted';
          r.reason = `aborted by ${authorOf(req)}`;
        } else {
          r.status = 'running';
          // Time paused does not count towards the step's deadlines.
          const st = r.stepStates[r.currentStep];
          if (st?.phase === 'updating') st.startedAt = now;
          if (st?.phase === 'observing') st.observingSince = now;
        }
        r.updatedAt = now;
        await o.store.putRecord(KINDS.rollout, id, r, { expectedVersion: rec.version });
        await o.state.changed();
        return r;
      };
      // The controller may write the same record meanwhile: retry on a version conflict with a fresh read.
      for (let attempt = 1; ; attempt++) {
        try {
          return await change();
        } catch (err) {
          if (!(err instanceof RecordConflictError) || attempt >= 5) throw err;
        }
      }
    });
  }
}
