import { query } from '../api-client.ts';
import type { CommandSpec } from '../command-spec.ts';
import { str } from '../command-spec.ts';
import { CLI_EXIT, usageError } from '../exit-codes.ts';
import { age, fields, printJson, table, text } from '../output.ts';

type Json = Record<string, unknown>;
interface Page { items: Json[]; nextCursor?: string }

const one = (positionals: string[], what: string): string => {
  if (positionals.length !== 1) throw usageError(`expected exactly one ${what}, got ${positionals.length}`);
  return positionals[0]!;
};

export const instances: CommandSpec = {
  usage: 'instances [--namespace NS] [--app APP] [--tenant T] [--node N] [--status S] [--limit N] [--all]',
  summary: 'list instances (pods with a probe) and their status',
  options: { namespace: { type: 'string' }, app: { type: 'string' }, tenant: { type: 'string' }, node: { type: 'string' }, status: { type: 'string' }, limit: { type: 'string' }, cursor: { type: 'string' }, all: { type: 'boolean' } },
  async run({ api, out, values: v }) {
    const items: Json[] = [];
    let cursor = str(v, 'cursor');
    let next: string | undefined;
    do {
      const page = await api().get<Page>(`/api/v1/instances${query({ namespace: str(v, 'namespace'), app: str(v, 'app'), tenant: str(v, 'tenant'), node: str(v, 'node'), status: str(v, 'status'), limit: str(v, 'limit'), cursor })}`);
      items.push(...page.items);
      next = page.nextCursor;
      cursor = next;
    } while (v.all === true && next);
    if (out.json) {
      printJson(out, { items, ...(next ? { nextCursor: next } : {}) });
      return CLI_EXIT.ok;
    }
    table(out, ['namespace', 'pod', 'app', 'status', 'node', 'last seen', 'pod uid'], items.map((i) => [i.namespace, i.pod, i.app, i.status, i.node, age(i.lastSeen), i.podUid]));
    if (next) out.note(`more instances: add --all, or --cursor ${next}`);
    return CLI_EXIT.ok;
  },
};

export const instance: CommandSpec = {
  usage: 'instance <pod-uid>',
  summary: 'one instance: identity, agent state, current checks, open events',
  async run({ api, out, positionals }) {
    const uid = one(positionals, 'pod uid');
    const i = await api().get<Json>(`/api/v1/instances/${encodeURIComponent(uid)}`);
    if (out.json) {
      printJson(out, i);
      return CLI_EXIT.ok;
    }
    const agent = (i.agent ?? {}) as Json;
    fields(out, [
      ['pod uid', i.podUid], ['namespace', i.namespace], ['pod', i.pod], ['app', i.app], ['tenant', i.tenant], ['node', i.node], ['pod ip', i.podIp],
      ['status', `${String(i.status)} since ${String(i.statusSince)}`], ['last seen', `${String(i.lastSeen)} (${age(i.lastSeen)})`],
      ['worker', `${String(agent.workerVersion)} (${String(agent.worker)})`], ['daemon', agent.daemonVersion], ['config', agent.configRevision], ['breaker', agent.breaker], ['update', agent.update],
    ]);
    const checks = (i.checks ?? []) as Json[];
    if (checks.length > 0) {
      out.line();
      table(out, ['check', 'kind', 'status', 'code', 'since', 'message'], checks.map((c) => [c.id, c.kind, c.status, c.code, age(c.since), c.message]));
    }
    const events = (i.openEvents ?? []) as Json[];
    if (events.length > 0) {
      out.line();
      table(out, ['event', 'status', 'severity', 'summary'], events.map((e) => [e.type, e.status, e.severity, e.summary]));
    }
    return CLI_EXIT.ok;
  },
};

export const events: CommandSpec = {
  usage: 'events [--status pending|firing|resolved] [--app APP] [--type TYPE] [--limit N]',
  summary: 'diagnosis events, newest update first',
  options: { status: { type: 'string' }, app: { type: 'string' }, type: { type: 'string' }, limit: { type: 'string' }, cursor: { type: 'string' } },
  async run({ api, out, values: v }) {
    const page = await api().get<Page>(`/api/v1/events${query({ status: str(v, 'status'), app: str(v, 'app'), type: str(v, 'type'), limit: str(v, 'limit'), cursor: str(v, 'cursor') })}`);
    if (out.json) {
      printJson(out, page);
      return CLI_EXIT.ok;
    }
    table(out, ['updated', 'status', 'severity', 'type', 'app', 'summary'], page.items.map((e) => [age(e.updatedAt), e.status, e.severity, String(e.type).replace(/^io\.podpulse\./, ''), e.app, e.summary]));
    if (page.nextCursor) out.note(`more events: --cursor ${page.nextCursor}`);
    return CLI_EXIT.ok;
  },
};

export const sla: CommandSpec = {
  usage: 'sla [--app APP] [--namespace NS] [--window 1h|24h|7d|30d]',
  summary: 'availability over a window, and where the lost time went',
  options: { app: { type: 'string' }, namespace: { type: 'string' }, window: { type: 'string' } },
  async run({ api, out, values: v }) {
    const s = await api().get<Json>(`/api/v1/sla${query({ app: str(v, 'app'), namespace: str(v, 'namespace'), window: str(v, 'window') })}`);
    if (out.json) {
      printJson(out, s);
      return CLI_EXIT.ok;
    }
    const lost = (s.lostMinutes ?? {}) as Json;
    fields(out, [
      ['scope', [s.namespace && `namespace ${text(s.namespace)}`, s.app && `app ${text(s.app)}`].filter(Boolean).join(', ') || 'fleet'],
      ['window', `${String(s.window)} (${String(s.from)} .. ${String(s.to)})`],
      ['instances', s.instances],
      ['availability', s.availabilityPercent === null ? 'no data' : `${text(s.availabilityPercent)} %`],
      ['lost minutes', `${String(lost.total)} (degraded ${String(lost.degraded)}, failing ${String(lost.failing)}, silent ${String(lost.silent)}, unknown ${String(lost.unknown)})`],
    ]);
    return CLI_EXIT.ok;
  },
};
