import { pino } from 'pino';
import { CENSOR, REDACT_PATHS, type Logger, type LoggerOptions } from './logger.ts';

/**
 * The collector's logger: pino with the same line as the agent's createLogger (level label, ISO time, pid, name,
 * bound fields, msg; the same redaction). Its writer pays off at the collector's log volume; agent processes do
 * not load pino (docs/worker-footprint.md).
 */
export function createPinoLogger(opts: LoggerOptions): Logger {
  return pino(
    {
      name: opts.name,
      level: opts.level ?? 'info',
      base: { pid: process.pid, ...opts.base },
      redact: { paths: REDACT_PATHS, censor: CENSOR },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    opts.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
