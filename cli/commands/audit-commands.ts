import { query } from '../api-client.ts';
import type { CommandSpec } from '../command-spec.ts';
import { str } from '../command-spec.ts';
import { CLI_EXIT, usageError } from '../exit-codes.ts';
import { printJson, table, text } from '../output.ts';

type Json = Record<string, unknown>;

export const audit: CommandSpec = {
  usage: 'audit [--actor NAME] [--action A] [--outcome O] [--instance UID] [--command ID] [--since T] [--until T] [--limit N] [--cursor C]',
  summary: 'the audit log, newest first: who did what to which instances, and how it ended (role operator)',
  options: { actor: { type: 'string' }, action: { type: 'string' }, outcome: { type: 'string' }, instance: { type: 'string' }, command: { type: 'string' }, since: { type: 'string' }, until: { type: 'string' }, limit: { type: 'string' }, cursor: { type: 'string' } },
  async run({ api, out, values: v }) {
    const page = await api().get<{ items: Json[]; nextCursor?: string }>(`/api/v1/audit${query({
      actor: str(v, 'actor'), action: str(v, 'action'), outcome: str(v, 'outcome'), instance: str(v, 'instance'), commandId: str(v, 'command'), since: str(v, 'since'), until: str(v, 'until'), limit: str(v, 'limit'), cursor: str(v, 'cursor'),
    })}`);
    if (out.json) printJson(out, page);
    else {
      table(out, ['at', 'actor', 'action', 'outcome', 'status', 'instances', 'command'], page.items.map((e) => [
        e.at, (e.actor as Json).name, e.action, e.outcome, e.statusCode, e.instanceCount ?? '', e.commandId,
      ]));
      if (page.nextCursor) out.note(`older entries: --cursor ${page.nextCursor}`);
    }
    return CLI_EXIT.ok;
  },
};

export const command: CommandSpec = {
  usage: 'command <id>',
  summary: 'a queued command: every instance\'s status, exit code and output',
  async run({ api, out, positionals }) {
    if (positionals.length !== 1) throw usageError('expected one command id');
    const c = await api().get<Json & { runs: Json[] }>(`/api/v1/commands/${encodeURIComponent(positionals[0]!)}`);
    if (out.json) {
      printJson(out, c);
      return CLI_EXIT.ok;
    }
    out.note(`command ${String(c.id)}: ${String(c.template)} ${JSON.stringify(c.params)} by ${String((c.requestedBy as Json).name)}, ${c.done ? 'done' : 'in progress'}`);
    table(out, ['namespace', 'pod', 'status', 'exit', 'truncated', 'output'], c.runs.map((r) => {
      const res = (r.result ?? {}) as Json;
      const trunc = [res.stdoutTruncated ? 'stdout' : '', res.stderrTruncated ? 'stderr' : ''].filter(Boolean).join(',');
      const first = text(res.error ?? res.stdout ?? '').split('\n')[0]!.slice(0, 80);
      return [(r.instance as Json).namespace, (r.instance as Json).pod, r.status, res.exitCode, trunc, first];
    }));
    return CLI_EXIT.ok;
  },
};
