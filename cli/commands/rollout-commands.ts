import type { CommandSpec } from '../command-spec.ts';
import { str } from '../command-spec.ts';
import { CLI_EXIT, usageError } from '../exit-codes.ts';
import { fields, printJson, table, text } from '../output.ts';

type Json = Record<string, unknown>;

/** `1,10,50,100` → percent steps; `canary=<uid>[+<uid>...]` entries → named canary instances. */
export function parseSteps(text: string): Json[] {
  return text.split(',').filter(Boolean).map((s) => {
    const c = /^canary=(.+)$/.exec(s);
    if (c) return { instances: c[1]!.split('+') };
    const p = Number(s.replace(/%$/, ''));
    if (!Number.isFinite(p) || p <= 0 || p > 100) throw usageError(`--steps entry ${JSON.stringify(s)} must be a percentage in (0, 100] or canary=<pod-uid>[+<pod-uid>...]`);
    return { percent: p };
  });
}

function idArg(positionals: string[]): string {
  if (positionals.length !== 1) throw usageError('expected one rollout id (see podpulse rollout status)');
  return encodeURIComponent(positionals[0]!);
}

export const rolloutStart: CommandSpec = {
  usage: 'rollout start --target X.Y.Z [--tenant T] [--namespace NS] [--app APP] [--steps 1,10,50,100] [--window 5m] [--update-timeout 10m] [--tolerance 0.1]',
  summary: 'move the selected instances to a release step by step, with automatic analysis and rollback',
  options: { target: { type: 'string' }, tenant: { type: 'string' }, namespace: { type: 'string' }, app: { type: 'string' }, steps: { type: 'string' }, window: { type: 'string' }, 'update-timeout': { type: 'string' }, tolerance: { type: 'string' }, 'max-update-failures': { type: 'string' } },
  async run({ api, out, values: v }) {
    const target = str(v, 'target');
    if (!target) throw usageError('rollout start needs --target <release version>');
    const selector: Json = {};
    for (const k of ['tenant', 'namespace', 'app']) if (str(v, k)) selector[k] = str(v, k);
    const analysis: Json = {};
    if (str(v, 'window')) analysis.window = str(v, 'window');
    if (str(v, 'update-timeout')) analysis.updateTimeout = str(v, 'update-timeout');
    if (str(v, 'tolerance')) analysis.tolerance = Number(str(v, 'tolerance'));
    if (str(v, 'max-update-failures')) analysis.maxUpdateFailures = Number(str(v, 'max-update-failures'));
    const steps = str(v, 'steps');
    const r = await api().post<Json>('/api/v1/rollouts', { target, selector, analysis, ...(steps ? { steps: parseSteps(steps) } : {}) });
    if (out.json) printJson(out, r);
    else out.line(`rollout ${String(r.id)} started: ${target}, steps ${JSON.stringify(r.steps)}`);
    return CLI_EXIT.ok;
  },
};

export const rolloutStatus: CommandSpec = {
  usage: 'rollout status [id]',
  summary: 'one rollout per step (targeted, updated, failed, rolled back, verdicts), or all rollouts',
  async run({ api, out, positionals }) {
    if (positionals.length === 0) {
      const r = await api().get<{ items: Json[] }>('/api/v1/rollouts');
      if (out.json) printJson(out, r);
      else table(out, ['id', 'target', 'status', 'step', 'selector', 'created by', 'reason'], r.items.map((x) => [x.id, x.target, x.status, `${Number(x.currentStep) + 1}/${(x.steps as unknown[]).length}`, JSON.stringify(x.selector), x.createdBy, x.reason ?? x.hold]));
      return CLI_EXIT.ok;
    }
    const r = await api().get<Json & { steps: Json[] }>(`/api/v1/rollouts/${idArg(positionals)}`);
    if (out.json) {
      printJson(out, r);
      return CLI_EXIT.ok;
    }
    fields(out, [['rollout', r.id], ['target', r.target], ['status', r.status], ['reason', r.reason ?? r.hold], ['selector', r.selector], ['selected', r.selected], ['from', r.fromVersions], ['created', `${new Date(Number(r.createdAt)).toISOString()} by ${String(r.createdBy)}`]]);
    out.line();
    table(out, ['step', 'spec', 'phase', 'targeted', 'updated', 'failed', 'rolled back', 'verdict'], r.steps.map((s) => {
      const verdict = s.verdict as Json | null | undefined;
      const spec = s.spec as Json;
      return [s.step, spec.percent !== undefined ? `${text(spec.percent)}%` : `canaries ${(spec.instances as unknown[]).length}`, s.phase, s.targeted, s.updated, s.failed, s.rolledBack, verdict ? `${String(verdict.result)}: ${(verdict.reasons as string[]).join('; ')}` : ''];
    }));
    return CLI_EXIT.ok;
  },
};

const action = (name: 'pause' | 'resume' | 'abort', summary: string): CommandSpec => ({
  usage: `rollout ${name} <id>`,
  summary,
  async run({ api, out, positionals }) {
    const r = await api().post<Json>(`/api/v1/rollouts/${idArg(positionals)}/${name}`);
    if (out.json) printJson(out, r);
    else out.line(`rollout ${String(r.id)}: ${String(r.status)}`);
    return CLI_EXIT.ok;
  },
});

export const rolloutPause = action('pause', 'hold a running rollout where it is');
export const rolloutResume = action('resume', 'continue a paused rollout');
export const rolloutAbort = action('abort', 'stop a rollout for good (instances it moved go back to their previous release)');
