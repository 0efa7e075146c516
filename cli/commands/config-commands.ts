import { stringify as toYaml } from 'yaml';
import { diffJson, type DiffEntry } from '../../collector/control/config-center/config-diff.ts';
import { ConfigDocument } from '../../collector/control/config-center/config-document.ts';
import { parseWith } from '../../src/protocol/parse.ts';
import { query } from '../api-client.ts';
import type { CommandSpec } from '../command-spec.ts';
import { str } from '../command-spec.ts';
import { CliError, CLI_EXIT, usageError } from '../exit-codes.ts';
import { readDataFile } from '../local-file.ts';
import { fields, printJson, table, text, type Out } from '../output.ts';

type Json = Record<string, unknown>;
const scopePath = (scope: string) => `/api/v1/config/scopes/${scope.split('/').map(encodeURIComponent).join('/')}`;

function scopeArg(positionals: string[]): string {
  if (positionals.length !== 1) throw usageError('expected one scope: global, tenant/<t>, namespace/<ns>, app/<ns>/<app> or instance/<pod-uid>');
  return positionals[0]!;
}

function fileArg(v: Record<string, unknown>): unknown {
  const f = str(v as never, 'file');
  if (f === undefined) throw usageError('give the document with -f <file.yaml> (or -f - for stdin)');
  return readDataFile(f);
}

const show = (v: unknown): string => (v === undefined ? '-' : JSON.stringify(v));

export function printDiff(out: Out, diff: readonly DiffEntry[], indent = ''): void {
  if (diff.length === 0) out.line(`${indent}(no change)`);
  for (const d of diff) {
    const path = d.path || '(document)';
    if (d.op === 'add') out.line(`${indent}+ ${path}: ${show(d.after)}`);
    else if (d.op === 'remove') out.line(`${indent}- ${path}: ${show(d.before)}`);
    else out.line(`${indent}~ ${path}: ${show(d.before)} -> ${show(d.after)}`);
  }
}

async function current(ctx: Parameters<CommandSpec['run']>[0], scope: string): Promise<Json | undefined> {
  try {
    return await ctx.api().get<Json>(scopePath(scope));
  } catch (err) {
    if (err instanceof CliError && err.exitCode === CLI_EXIT.notFound) return undefined;
    throw err;
  }
}

export const configGet: CommandSpec = {
  usage: 'config get <scope>',
  summary: 'the config document stored at a scope',
  async run({ api, out, positionals }) {
    const d = await api().get<Json>(scopePath(scopeArg(positionals)));
    if (out.json) printJson(out, d);
    else {
      out.note(`# scope ${String(d.scope)}, version ${String(d.version)}, revision ${String(d.revision)}, updated ${String(d.updatedAt)}`);
      out.line(toYaml(d.document).trimEnd());
    }
    return CLI_EXIT.ok;
  },
};

export const configSet: CommandSpec = {
  usage: 'config set <scope> -f <file.yaml> [--message TEXT] [--expected-version N]',
  summary: 'write the config document of a scope (validated; creates a revision)',
  options: { file: { type: 'string', short: 'f' }, message: { type: 'string', short: 'm' }, 'expected-version': { type: 'string' } },
  async run(ctx) {
    const scope = scopeArg(ctx.positionals);
    const document = fileArg(ctx.values);
    const ev = str(ctx.values, 'expected-version');
    if (ev !== undefined && !/^\d+$/.test(ev)) throw usageError('--expected-version must be a whole number');
    const message = str(ctx.values, 'message');
    const r = await ctx.api().request<{ revision: Json }>('PUT', scopePath(scope), { document, ...(message ? { message } : {}), ...(ev !== undefined ? { expectedVersion: Number(ev) } : {}) });
    if (ctx.out.json) printJson(ctx.out, r);
    else {
      ctx.out.line(`revision ${String(r.revision.id)} at ${scope}`);
      printDiff(ctx.out, (r.revision.diff ?? []) as DiffEntry[], '  ');
    }
    return CLI_EXIT.ok;
  },
};

export const configDiff: CommandSpec = {
  usage: 'config diff <scope> -f <file.yaml>',
  summary: 'how a local document differs from the one stored at the scope (exit 0 either way)',
  options: { file: { type: 'string', short: 'f' } },
  async run(ctx) {
    const scope = scopeArg(ctx.positionals);
    // Parsed as the collector parses it, so defaults it fills in (a template's timeout) are not reported as changes.
    const parsed = parseWith(ConfigDocument, fileArg(ctx.values), { what: `config document ${String(str(ctx.values, 'file'))}` });
    if (!parsed.ok) throw new CliError(CLI_EXIT.refused, parsed.error.code, parsed.error.message.split('\n')[0]!, parsed.error.violations.map((v) => `${v.path}: ${v.message}`));
    const local = parsed.value;
    const stored = await current(ctx, scope);
    const diff = diffJson(stored?.document ?? null, local);
    if (ctx.out.json) printJson(ctx.out, { scope, storedVersion: stored?.version ?? null, diff });
    else printDiff(ctx.out, diff);
    return CLI_EXIT.ok;
  },
};

export const configHistory: CommandSpec = {
  usage: 'config history [scope] [--limit N] [--before REVISION]',
  summary: 'config revisions, newest first: who, when, what changed',
  options: { limit: { type: 'string' }, before: { type: 'string' } },
  async run({ api, out, positionals, values: v }) {
    if (positionals.length > 1) throw usageError('config history takes at most one scope');
    const page = await api().get<{ items: Json[]; nextCursor?: string }>(`/api/v1/config/revisions${query({ scope: positionals[0], limit: str(v, 'limit'), before: str(v, 'before') })}`);
    if (out.json) printJson(out, page);
    else {
      table(out, ['revision', 'at', 'scope', 'author', 'action', 'changes', 'message'], page.items.map((r) => [r.id, new Date(Number(r.at)).toISOString(), r.scope, r.author, r.of ? `${text(r.action)} of ${text(r.of)}` : r.action, (r.diff as unknown[] | undefined)?.length ?? 0, r.message]));
      if (page.nextCursor) out.note(`older revisions: --before ${page.nextCursor}`);
    }
    return CLI_EXIT.ok;
  },
};

export const configRollback: CommandSpec = {
  usage: 'config rollback <revision> [--message TEXT]',
  summary: 'restore the scope of a revision to the document it had after that revision',
  options: { message: { type: 'string', short: 'm' } },
  async run({ api, out, positionals, values: v }) {
    if (positionals.length !== 1) throw usageError('expected one revision id (see podpulse config history)');
    const message = str(v, 'message');
    const r = await api().post<{ revision: Json }>(`/api/v1/config/revisions/${encodeURIComponent(positionals[0]!)}/rollback`, message ? { message } : {});
    if (out.json) printJson(out, r);
    else {
      out.line(`revision ${String(r.revision.id)}: ${String(r.revision.scope)} rolled back to ${positionals[0]!}`);
      printDiff(out, (r.revision.diff ?? []) as DiffEntry[], '  ');
    }
    return CLI_EXIT.ok;
  },
};

export const configDryRun: CommandSpec = {
  usage: 'config dry-run <scope> (-f <file.yaml> | --delete)',
  summary: 'which instances a proposed document would change, and how their effective config would differ',
  options: { file: { type: 'string', short: 'f' }, delete: { type: 'boolean' } },
  async run(ctx) {
    const scope = scopeArg(ctx.positionals);
    const document = ctx.values.delete === true ? null : fileArg(ctx.values);
    const r = await ctx.api().post<{ affected: Json[]; unchanged: number; violations: { path: string; message: string }[] }>('/api/v1/config/dry-run', { scope, document });
    if (ctx.out.json) printJson(ctx.out, r);
    else {
      fields(ctx.out, [['scope', scope], ['affected', r.affected.length], ['unchanged', r.unchanged]]);
      for (const v of r.violations ?? []) ctx.out.line(`! ${v.path}: ${v.message}`);
      for (const a of r.affected) {
        ctx.out.line(`${String(a.namespace)}/${String(a.app)} ${String(a.podUid)}: ${String(a.revisionBefore)} -> ${String(a.revisionAfter)}`);
        printDiff(ctx.out, (a.diff ?? []) as DiffEntry[], '  ');
      }
    }
    return (r.violations ?? []).length > 0 ? CLI_EXIT.refused : CLI_EXIT.ok;
  },
};
