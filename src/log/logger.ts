import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/**
 * Paths whose values never reach a log line. Tokens travel in headers and configs; a pod's log is read by its
 * tenant and a collector's by the platform team, and neither should see the other's credentials.
 */
export const REDACT_PATHS = [
  'token',
  '*.token',
  'password',
  '*.password',
  'secret',
  '*.secret',
  'privateKey',
  '*.privateKey',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'config.token',
  'env.*',
];

export interface LoggerOptions {
  /** Program name, e.g. `podpulse-worker`; becomes the `name` field. */
  name: string;
  level?: LevelWithSilent;
  /** Where JSON lines go; stdout when omitted. Tests pass a capturing stream. */
  destination?: DestinationStream;
  base?: Record<string, unknown>;
}

/** One JSON logger per program, built in main.ts; modules take `log.child({ component })`. */
export function createLogger(opts: LoggerOptions): Logger {
  return pino(
    {
      name: opts.name,
      level: opts.level ?? 'info',
      base: { pid: process.pid, ...opts.base },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    opts.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
