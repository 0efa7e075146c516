import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { CliError, CLI_EXIT, usageError } from './exit-codes.ts';

/** `~/.config/podpulse/cli.yaml`: where the server is and how to authenticate, for people who run the CLI often. */
const CliFile = z.strictObject({
  server: z.string().url().optional(),
  token: z.string().min(1).optional(),
  /** A file holding the token (kept out of the config, e.g. mounted from a Secret). */
  tokenFile: z.string().min(1).optional(),
  /** Default request timeout, e.g. `30s`. */
  timeout: z.string().optional(),
});

export interface CliSettings {
  server: string;
  token: string | undefined;
  json: boolean;
  timeoutMs: number;
}

export function defaultConfigPath(env: NodeJS.ProcessEnv): string {
  if (env.PODPULSE_CLI_CONFIG) return env.PODPULSE_CLI_CONFIG;
  const base = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'podpulse', 'cli.yaml');
}

function readFile(path: string, explicit: boolean): z.output<typeof CliFile> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (!explicit && (err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw usageError(`cannot read the CLI config ${path}: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = parseYaml(text) ?? {};
  } catch (err) {
    throw usageError(`the CLI config ${path} is not valid YAML: ${(err as Error).message}`);
  }
  const r = CliFile.safeParse(data);
  if (!r.success) throw usageError(`invalid CLI config ${path}: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  return r.data;
}

function readToken(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw usageError(`cannot read the token file ${path}: ${(err as Error).message}`);
  }
}

/** `30s`, `500ms`, `2m`, or plain seconds. */
export function parseSeconds(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw usageError(`${what} must be a duration such as 30s, 2m or 500ms, got ${JSON.stringify(text)}`);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  return unit === 'ms' ? n : unit === 's' ? n * 1000 : unit === 'm' ? n * 60_000 : n * 3_600_000;
}

/** Flags win over the environment (PODPULSE_SERVER, PODPULSE_TOKEN), which wins over the config file. */
export function resolveSettings(flags: { server?: string | undefined; token?: string | undefined; 'token-file'?: string | undefined; config?: string | undefined; json?: boolean | undefined; timeout?: string | undefined }, env: NodeJS.ProcessEnv): CliSettings {
  const file = readFile(flags.config ?? defaultConfigPath(env), flags.config !== undefined || env.PODPULSE_CLI_CONFIG !== undefined);
  const server = flags.server ?? env.PODPULSE_SERVER ?? file.server;
  if (!server) throw new CliError(CLI_EXIT.usage, 'PODPULSE_ERR_USAGE', `no server: give --server, set PODPULSE_SERVER, or put "server:" in ${defaultConfigPath(env)}`);
  try {
    new URL(server);
  } catch {
    throw usageError(`server ${JSON.stringify(server)} is not a URL (e.g. http://podpulse-collector.podpulse:8080)`);
  }
  const tokenFile = flags['token-file'] ?? env.PODPULSE_TOKEN_FILE ?? file.tokenFile;
  const token = flags.token ?? env.PODPULSE_TOKEN ?? (tokenFile ? readToken(tokenFile) : file.token);
  const timeoutMs = parseSeconds(flags.timeout ?? file.timeout ?? '30s', '--timeout');
  return { server: server.replace(/\/+$/, ''), token: token || undefined, json: flags.json === true, timeoutMs };
}
