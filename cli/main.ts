import { parseArgs } from 'node:util';
import { VERSION } from '../src/program.ts';
import { ApiClient } from './api-client.ts';
import { resolveSettings } from './cli-settings.ts';
import type { CommandSpec, Options, Values } from './command-spec.ts';
import { audit, command } from './commands/audit-commands.ts';
import { configDiff, configDryRun, configGet, configHistory, configRollback, configSet } from './commands/config-commands.ts';
import { exec } from './commands/exec-command.ts';
import { events, instance, instances, sla } from './commands/read-commands.ts';
import { releaseBuild, releaseKeygen, releaseList, releasePublish, releaseSign, releaseVerify } from './commands/release-commands.ts';
import { rolloutAbort, rolloutPause, rolloutResume, rolloutStart, rolloutStatus } from './commands/rollout-commands.ts';
import { CliError, CLI_EXIT, usageError } from './exit-codes.ts';
import { stdio } from './output.ts';

const NAME = 'podpulse';

const COMMANDS: Record<string, CommandSpec | Record<string, CommandSpec>> = {
  instances,
  instance,
  events,
  sla,
  config: { get: configGet, set: configSet, diff: configDiff, history: configHistory, rollback: configRollback, 'dry-run': configDryRun },
  release: { build: releaseBuild, sign: releaseSign, verify: releaseVerify, keygen: releaseKeygen, publish: releasePublish, list: releaseList },
  rollout: { start: rolloutStart, status: rolloutStatus, pause: rolloutPause, resume: rolloutResume, abort: rolloutAbort },
  exec,
  command,
  audit,
};

const GLOBAL: Options = {
  server: { type: 'string', short: 's' },
  token: { type: 'string' },
  'token-file': { type: 'string' },
  config: { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
};

function help(): string {
  const lines = [`${NAME} ${VERSION}: the podpulse operator command line`, '', 'Commands:'];
  for (const [name, c] of Object.entries(COMMANDS)) {
    const subs = isSpec(c) ? [c] : Object.values(c);
    for (const s of subs) lines.push(`  ${NAME} ${s.usage}`, `      ${s.summary}`);
    void name;
  }
  lines.push(
    '',
    'Global flags (anywhere on the line):',
    '  -s, --server URL       collector URL (else PODPULSE_SERVER, else "server:" in ~/.config/podpulse/cli.yaml)',
    '      --token TOKEN      operator bearer token (else PODPULSE_TOKEN, PODPULSE_TOKEN_FILE, or the config file)',
    '      --token-file FILE  read the token from a file',
    '      --config FILE      CLI config file (default ~/.config/podpulse/cli.yaml, or PODPULSE_CLI_CONFIG)',
    '      --timeout 30s      per-request timeout',
    '      --json             machine-readable output on stdout',
    '',
    'Exit codes: 0 ok, 1 refused by the server, 2 usage, 3 not found, 4 unauthenticated/forbidden, 5 unreachable,',
    '            6 exec: failed on some instance, 7 exec: gave up waiting (docs/cli.md)',
  );
  return lines.join('\n');
}

const isSpec = (c: CommandSpec | Record<string, CommandSpec>): c is CommandSpec => typeof (c as CommandSpec).run === 'function';

/** Finds the command words (`config set`), leaving every flag and the remaining words for parseArgs. */
function locate(argv: readonly string[]): { spec: CommandSpec; rest: string[] } | { help: true } {
  const at: number[] = [];
  let group: CommandSpec | Record<string, CommandSpec> | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('-')) {
      // Only global flags may come before the command words; skip the value of those that take one.
      const opt = a.startsWith('--') ? GLOBAL[a.slice(2)] : a.length === 2 ? Object.values(GLOBAL).find((o) => o.short === a[1]) : undefined;
      if (opt?.type === 'string') i++;
      continue;
    }
    if (!group) {
      group = COMMANDS[a];
      if (!group) throw usageError(`unknown command ${JSON.stringify(a)}; run ${NAME} --help`);
      at.push(i);
      if (isSpec(group)) break;
      continue;
    }
    at.push(i);
    break;
  }
  if (!group) return { help: true };
  const rest = argv.filter((_, i) => !at.includes(i));
  if (isSpec(group)) return { spec: group, rest };
  const groupName = argv[at[0]!]!;
  const sub = at[1] === undefined ? undefined : argv[at[1]]!;
  if (sub === undefined) throw usageError(`${NAME} ${groupName} needs a subcommand: ${Object.keys(group).join(', ')}`);
  const spec = group[sub];
  if (!spec) throw usageError(`unknown subcommand ${JSON.stringify(`${groupName} ${sub}`)}; one of: ${Object.keys(group).join(', ')}`);
  return { spec, rest };
}

async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  let json = argv.includes('--json');
  try {
    const found = locate(argv);
    if ('help' in found) {
      if (argv.includes('--version')) {
        process.stdout.write(`${VERSION}\n`);
        return CLI_EXIT.ok;
      }
      process.stdout.write(`${help()}\n`);
      return argv.includes('--help') || argv.includes('-h') ? CLI_EXIT.ok : CLI_EXIT.usage;
    }
    const { spec } = found;
    let parsed: { values: Values; positionals: string[] };
    try {
      parsed = parseArgs({ args: found.rest, options: { ...GLOBAL, ...spec.options }, allowPositionals: true, strict: true }) as typeof parsed;
    } catch (err) {
      throw usageError(`${(err as Error).message}\nusage: ${NAME} ${spec.usage}`);
    }
    if (parsed.values.help === true) {
      process.stdout.write(`usage: ${NAME} ${spec.usage}\n  ${spec.summary}\n`);
      return CLI_EXIT.ok;
    }
    json = parsed.values.json === true;
    const v = parsed.values;
    let client: ApiClient | undefined;
    const api = (): ApiClient =>
      (client ??= new ApiClient(resolveSettings({ server: v.server as string | undefined, token: v.token as string | undefined, 'token-file': v['token-file'] as string | undefined, config: v.config as string | undefined, json, timeout: v.timeout as string | undefined }, env)));
    return await spec.run({ api, out: stdio(json), values: v, positionals: parsed.positionals, env });
  } catch (err) {
    if (err instanceof CliError) {
      if (json) process.stderr.write(`${JSON.stringify({ error: { code: err.code, message: err.message, details: err.details }, exitCode: err.exitCode })}\n`);
      else process.stderr.write(`${NAME}: ${err.code}: ${err.message}${err.details.map((d) => `\n  ${d}`).join('')}\n`);
      return err.exitCode;
    }
    process.stderr.write(`${NAME}: PODPULSE_ERR_INTERNAL: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return 70;
  }
}

process.exitCode = await main(process.argv.slice(2), process.env);
