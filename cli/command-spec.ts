import type { ParseArgsConfig } from 'node:util';
import type { ApiClient } from './api-client.ts';
import type { CliExitCode } from './exit-codes.ts';
import type { Out } from './output.ts';

export type Options = NonNullable<ParseArgsConfig['options']>;
export type Values = Record<string, string | boolean | string[] | undefined>;

export interface CommandContext {
  /** The operator API client; throws a usage error when no server is configured, so local commands never need one. */
  api: () => ApiClient;
  out: Out;
  values: Values;
  positionals: string[];
  env: NodeJS.ProcessEnv;
}

/** One subcommand: its usage line, its own flags, and what it does. */
export interface CommandSpec {
  usage: string;
  summary: string;
  options?: Options;
  run(ctx: CommandContext): Promise<CliExitCode> | CliExitCode;
}

/** A string flag's value, or undefined. */
export const str = (v: Values, name: string): string | undefined => (typeof v[name] === 'string' ? v[name] : undefined);
