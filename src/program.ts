import type { ParseArgsConfig } from 'node:util';
import type * as z from 'zod/mini';
import { loadConfig } from './config/load-config.ts';
import { PodpulseError, ValidationError } from './errors.ts';
import { createLogger, type Logger, type LoggerOptions } from './log/logger.ts';

declare const PODPULSE_VERSION: string | undefined;

/** The version stamped in by the bundler; `0.0.0-dev` when run from source. */
export const VERSION: string = typeof PODPULSE_VERSION === 'string' ? PODPULSE_VERSION : '0.0.0-dev';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * `node:util` is taken with `process.getBuiltinModule`, not imported: the bundle's ESM interop copies the property
 * descriptors of an imported builtin, and for `node:util`'s lazy `diff` and `setTraceSigInt` that loads
 * `worker_threads`, the stream modules and `process.stderr` in every agent process (docs/worker-footprint.md).
 */
const parseArgs = (): typeof import('node:util').parseArgs => process.getBuiltinModule('node:util').parseArgs;

export interface ProgramSpec<S extends z.core.$ZodType> {
  /** `podpulse-worker` */
  name: string;
  summary: string;
  schema: S;
  envMap?: Readonly<Record<string, string>>;
  /** Extra flags beyond --config, --check-config, --help, --version. */
  flags?: Options;
  /** Maps parsed flag values onto config key paths (e.g. `--port` → `server.port`). */
  flagOverrides?: (values: Record<string, unknown>) => Record<string, unknown>;
  /** The logger level, read from the validated config. */
  logLevel?: (config: z.output<S>) => string;
  /** Builds the program's logger; the agent's JSON logger (createLogger) by default, the collector passes pino's. */
  createLogger?: (opts: LoggerOptions) => Logger;
}

export interface ProgramContext<C> {
  config: C;
  log: Logger;
  configFile: string | undefined;
  flags: Record<string, unknown>;
  positionals: string[];
}

const COMMON: Options = {
  config: { type: 'string', short: 'c' },
  'check-config': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
};

function usage(spec: ProgramSpec<z.core.$ZodType>): string {
  const extra = Object.entries(spec.flags ?? {}).map(([k, o]) => `  --${k}${o.type === 'string' ? ' <value>' : ''}`);
  return [
    `${spec.name} ${VERSION}: ${spec.summary}`,
    '',
    'Options:',
    '  -c, --config <file>   YAML or JSON config file (see docs/configuration.md)',
    '      --check-config    validate the config and exit (0 valid, 1 invalid)',
    '      --version         print the version',
    '  -h, --help            this help',
    ...extra,
  ].join('\n');
}

/** Prints a podpulse error the way every program does: one line with the code, then the violations. */
export function printError(name: string, err: unknown): void {
  if (err instanceof PodpulseError) process.stderr.write(`${name}: ${err.code}: ${err.message}\n`);
  else process.stderr.write(`${name}: PODPULSE_ERR_INTERNAL: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
}

/**
 * The shared start of every program: flags, config (defaults < file < env < flags), `--check-config`, the logger.
 * Exits 2 on a usage error and 1 on a bad config, printing what is wrong; otherwise runs `main`.
 */
export async function runProgram<S extends z.core.$ZodType>(
  spec: ProgramSpec<S>,
  main: (ctx: ProgramContext<z.output<S>>) => Promise<void> | void,
  argv: string[] = process.argv.slice(2),
): Promise<void> {
  let values: Record<string, unknown>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs()({ args: argv, options: { ...COMMON, ...spec.flags }, allowPositionals: true, strict: true }));
  } catch (err) {
    printError(spec.name, new PodpulseError('PODPULSE_ERR_USAGE', `${(err as Error).message}\n\n${usage(spec)}`));
    process.exitCode = 2;
    return;
  }
  if (values.help) {
    process.stdout.write(`${usage(spec)}\n`);
    return;
  }
  if (values.version) {
    process.stdout.write(`${VERSION}\n`);
    return;
  }
  const configFile = values.config as string | undefined;
  let config: z.output<S>;
  try {
    config = await loadConfig({ schema: spec.schema, what: `${spec.name} config`, file: configFile, envMap: spec.envMap ?? {}, overrides: spec.flagOverrides?.(values) ?? {} });
  } catch (err) {
    printError(spec.name, err);
    process.exitCode = 1;
    return;
  }
  if (values['check-config']) {
    process.stdout.write(`${spec.name}: config OK${configFile ? ` (${configFile})` : ''}\n`);
    return;
  }
  const level = spec.logLevel?.(config) ?? 'info';
  const log = (spec.createLogger ?? createLogger)({ name: spec.name, level: level as 'info' });
  try {
    await main({ config, log, configFile, flags: values, positionals });
  } catch (err) {
    log.fatal({ err }, 'fatal error');
    printError(spec.name, err);
    process.exitCode = err instanceof ValidationError ? 1 : 70;
  }
}
