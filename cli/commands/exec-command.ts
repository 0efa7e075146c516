import { query } from '../api-client.ts';
import type { CommandSpec } from '../command-spec.ts';
import { str } from '../command-spec.ts';
import { parseSeconds } from '../cli-settings.ts';
import { CliError, CLI_EXIT, usageError } from '../exit-codes.ts';
import { text, type Out } from '../output.ts';

type Json = Record<string, unknown>;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const FINAL = new Set(['completed', 'refused', 'timeout', 'error', 'expired', 'lost']);
const SELECTOR_KEYS = new Set(['namespace', 'app', 'tenant', 'node']);

function keyValues(list: readonly string[], what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list) {
    const i = kv.indexOf('=');
    if (i <= 0) throw usageError(`${what} must be key=value, got ${JSON.stringify(kv)}`);
    out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}

/** `--selector app=web,namespace=shop` → the selector object; unknown keys are a usage error. */
export function parseSelector(text: string): Record<string, string> {
  const s = keyValues(text.split(',').filter(Boolean), '--selector entries');
  for (const k of Object.keys(s)) if (!SELECTOR_KEYS.has(k)) throw usageError(`--selector key ${JSON.stringify(k)} is not one of namespace, app, tenant, node`);
  if (Object.keys(s).length === 0) throw usageError('--selector needs at least one of namespace=, app=, tenant=, node=');
  return s;
}

function printRun(out: Out, run: Json): void {
  const i = run.instance as Json;
  const r = (run.result ?? {}) as Json;
  if (out.json) {
    out.line(JSON.stringify({ type: 'result', instance: i, status: run.status, outcome: run.outcome, ...r }));
    return;
  }
  const exit = r.exitCode === null || r.exitCode === undefined ? '' : ` exit ${text(r.exitCode)}`;
  const took = typeof r.durationMs === 'number' ? ` in ${r.durationMs} ms` : '';
  out.line(`== ${String(i.namespace)}/${String(i.pod)} (${String(i.podUid)}): ${String(run.status)}${exit}${took}${r.error ? ` — ${text(r.error)}` : ''}`);
  if (typeof r.stdout === 'string' && r.stdout !== '') out.line(r.stdout.replace(/\n$/, ''));
  if (r.stdoutTruncated) out.line('[stdout truncated]');
  if (typeof r.stderr === 'string' && r.stderr !== '') for (const l of r.stderr.replace(/\n$/, '').split('\n')) out.line(`stderr| ${l}`);
  if (r.stderrTruncated) out.line('[stderr truncated]');
}

/** `<uid>` as is; `<namespace>/<pod>` looked up among the instances. */
async function resolveInstance(ctx: Parameters<CommandSpec['run']>[0], target: string): Promise<string> {
  if (UUID.test(target)) return target.toLowerCase();
  const m = /^([a-z0-9-]+)\/([a-z0-9.-]+)$/.exec(target);
  if (!m) throw usageError(`instance ${JSON.stringify(target)} must be a pod uid or <namespace>/<pod>`);
  let cursor: string | undefined;
  do {
    const page = await ctx.api().get<{ items: Json[]; nextCursor?: string }>(`/api/v1/instances${query({ namespace: m[1], limit: 1000, cursor })}`);
    const hit = page.items.find((i) => i.pod === m[2]);
    if (hit) return String(hit.podUid);
    cursor = page.nextCursor;
  } while (cursor);
  throw new CliError(CLI_EXIT.notFound, 'PODPULSE_ERR_NOT_FOUND', `no instance ${target}`);
}

export const exec: CommandSpec = {
  usage: 'exec <pod-uid|namespace/pod | --selector k=v,... --max-fan-out N> <template> [param=value ...] [--ttl 2m] [--wait 60s] [--no-wait]',
  summary: 'run an allow-listed troubleshooting command in pods and print each result as it arrives',
  options: { selector: { type: 'string' }, 'max-fan-out': { type: 'string' }, ttl: { type: 'string' }, wait: { type: 'string' }, 'no-wait': { type: 'boolean' }, interval: { type: 'string' } },
  async run(ctx) {
    const { out, values: v } = ctx;
    const args = [...ctx.positionals];
    let target: Json;
    const sel = str(v, 'selector');
    if (sel !== undefined) {
      const fan = str(v, 'max-fan-out');
      if (fan === undefined || !/^\d+$/.test(fan) || Number(fan) < 1) throw usageError('--selector needs --max-fan-out N (the most instances the command may reach)');
      target = { selector: parseSelector(sel), maxFanOut: Number(fan) };
    } else {
      const inst = args.shift();
      if (inst === undefined) throw usageError('exec needs an instance (pod uid or namespace/pod) or --selector');
      target = { podUid: await resolveInstance(ctx, inst) };
    }
    const template = args.shift();
    if (template === undefined) throw usageError('exec needs a template name');
    const params = keyValues(args, 'params');
    const ttl = str(v, 'ttl');
    const created = await ctx.api().post<Json>('/api/v1/commands', { template, params, target, ...(ttl ? { ttl } : {}) });
    const id = String(created.id);
    if (out.json) out.line(JSON.stringify({ type: 'queued', id, instances: created.instances, expiresAt: created.expiresAt }));
    else out.note(`command ${id}: ${template} queued for ${String(created.instances)} instance(s), expires ${String(created.expiresAt)}`);
    if (v['no-wait'] === true) {
      if (!out.json) out.line(id);
      return CLI_EXIT.ok;
    }

    const deadline = Date.now() + parseSeconds(str(v, 'wait') ?? '5m', '--wait');
    const interval = parseSeconds(str(v, 'interval') ?? '500ms', '--interval');
    const printed = new Set<string>();
    for (;;) {
      const view = await ctx.api().get<Json & { runs: Json[]; done: boolean; summary: Record<string, number> }>(`/api/v1/commands/${id}`);
      for (const run of view.runs) {
        const uid = String((run.instance as Json).podUid);
        if (FINAL.has(String(run.status)) && !printed.has(uid)) {
          printed.add(uid);
          printRun(out, run);
        }
      }
      const failed = view.runs.filter((r) => FINAL.has(String(r.status)) && r.outcome !== 'ok').length;
      if (view.done || Date.now() >= deadline) {
        const pending = view.runs.length - printed.size;
        if (out.json) out.line(JSON.stringify({ type: 'summary', id, done: view.done, summary: view.summary, failed, pending }));
        else out.note(`command ${id}: ${Object.entries(view.summary).map(([k, n]) => `${n} ${k}`).join(', ')}${pending > 0 ? `; gave up waiting for ${pending}` : ''}`);
        if (failed > 0) return CLI_EXIT.commandFailed;
        return view.done ? CLI_EXIT.ok : CLI_EXIT.waitTimedOut;
      }
      await new Promise((r) => setTimeout(r, interval));
    }
  },
};
