import { Writable } from 'node:stream';
import { createLogger, type Logger, type LoggerOptions } from '../../src/log/logger.ts';

export interface CapturedLogs {
  log: Logger;
  /** Every line written so far, parsed. */
  lines(): Record<string, unknown>[];
  /** Lines whose `msg` contains the text. */
  find(text: string): Record<string, unknown>[];
  /** The raw text, for asserting that something (a token) never appears. */
  raw(): string;
}

/**
 * A real logger (the agent's JSON logger by default, or the given factory, e.g. the collector's pino one) whose JSON
 * lines are kept in memory for assertions.
 */
export function captureLogs(level: 'trace' | 'debug' | 'info' = 'debug', create: (opts: LoggerOptions) => Logger = createLogger): CapturedLogs {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  const log = create({ name: 'test', level, destination: sink });
  const lines = () =>
    chunks
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { log, lines, find: (text) => lines().filter((l) => typeof l.msg === 'string' && l.msg.includes(text)), raw: () => chunks.join('') };
}
