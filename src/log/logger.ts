import { writeSync } from 'node:fs';
import { redactor } from './redact.ts';
import { serializeError } from './serialize-error.ts';

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

/** The value written in place of a redacted one. */
export const CENSOR = '[redacted]';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
export type LevelWithSilent = LogLevel | 'silent';

/** The fields a call must carry: none (pino's LogFnFields). */
export type LogFields = Record<never, never>;

/** `log.info({ key: value }, 'message')`, `log.info('message')`; an Error in first place is logged as `err`. */
export interface LogFn {
  (msg: string): void;
  // Typed as pino types it, so that fields whose values are `any` (a caught error) are not flagged as unsafe.
  <T>(obj: [T] extends [object] ? T & LogFields : T, msg?: string): void;
}

/**
 * What every module logs through. Both the agent's JSON logger (createLogger) and the collector's pino logger
 * (createPinoLogger) satisfy it, and they write the same JSON line: `level` (label), `time` (ISO), `pid`, `name`,
 * the bound fields, the call's fields, `msg`.
 */
export interface Logger {
  /** The current level; messages below it are dropped. */
  level: string;
  fatal: LogFn;
  error: LogFn;
  warn: LogFn;
  info: LogFn;
  debug: LogFn;
  trace: LogFn;
  /** A logger that adds `bindings` to every line (`log.child({ component: 'transport' })`); it starts at this level. */
  child(bindings: Record<string, unknown>): Logger;
  isLevelEnabled(level: string): boolean;
}

/** Where JSON lines go: anything with a `write(line)` (a Writable, a test's capture). */
export interface LogDestination {
  write(line: string): unknown;
}

export interface LoggerOptions {
  /** Program name, e.g. `podpulse-worker`; becomes the `name` field. */
  name: string;
  level?: LevelWithSilent;
  /** Where JSON lines go; stdout (synchronously) when omitted. Tests pass a capturing stream. */
  destination?: LogDestination;
  base?: Record<string, unknown>;
}

const VALUES: Readonly<Record<string, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };
const redact = redactor(REDACT_PATHS, CENSOR);

/**
 * One JSON logger per program, built in main.ts; modules take `log.child({ component })`. This is the agent's
 * logger (daemon and worker): a line is built with JSON.stringify and written synchronously, so a crash loses
 * nothing and no worker thread or buffer is kept. The collector uses pino instead (pino-logger.ts), whose
 * asynchronous writer pays off at its log volume; in the sidecar it would cost about 2 MB of private memory.
 */
export function createLogger(opts: LoggerOptions): Logger {
  const base = redact({ pid: process.pid, name: opts.name, ...opts.base });
  return new JsonLogger(opts.destination ?? STDOUT, opts.level ?? 'info', base);
}

class JsonLogger implements Logger {
  readonly #dest: LogDestination;
  /** Fields of every line: pid, name and the bindings of this logger and its parents, already redacted. */
  readonly #bound: Record<string, unknown>;
  #level = 'info';
  #threshold = 30;

  constructor(dest: LogDestination, level: string, bound: Record<string, unknown>) {
    this.#dest = dest;
    this.#bound = bound;
    this.level = level;
  }

  get level(): string {
    return this.#level;
  }

  set level(level: string) {
    const value = VALUES[level];
    if (value === undefined) throw new RangeError(`unknown log level ${JSON.stringify(level)}`);
    this.#level = level;
    this.#threshold = value;
  }

  fatal(a: unknown, msg?: string): void {
    this.#write('fatal', a, msg);
  }

  error(a: unknown, msg?: string): void {
    this.#write('error', a, msg);
  }

  warn(a: unknown, msg?: string): void {
    this.#write('warn', a, msg);
  }

  info(a: unknown, msg?: string): void {
    this.#write('info', a, msg);
  }

  debug(a: unknown, msg?: string): void {
    this.#write('debug', a, msg);
  }

  trace(a: unknown, msg?: string): void {
    this.#write('trace', a, msg);
  }

  child(bindings: Record<string, unknown>): Logger {
    return new JsonLogger(this.#dest, this.#level, { ...this.#bound, ...redact(bindings) });
  }

  isLevelEnabled(level: string): boolean {
    const value = VALUES[level];
    return value !== undefined && value !== Infinity && value >= this.#threshold;
  }

  #write(level: LogLevel, a: unknown, msg?: string): void {
    if (VALUES[level]! < this.#threshold) return;
    let fields: Record<string, unknown> | undefined;
    if (typeof a === 'string') msg = a;
    else if (a instanceof Error) fields = { err: a };
    else if (a !== null && typeof a === 'object') fields = a as Record<string, unknown>;
    // Later keys win, as they do when a reader parses pino's line (which may repeat a key); msg comes last.
    const line: Record<string, unknown> = { level, time: new Date().toISOString(), ...this.#bound };
    if (fields) {
      for (const [k, v] of Object.entries(redact(fields))) line[k] = v instanceof Error ? serializeError(v) : v;
    }
    if (msg !== undefined) line.msg = msg;
    this.#dest.write(`${stringify(line)}\n`);
  }
}

/** JSON.stringify, falling back to a walk that cuts cycles and writes BigInts as their decimal text. */
function stringify(line: Record<string, unknown>): string {
  try {
    return JSON.stringify(line);
  } catch {
    const seen = new WeakSet<object>();
    return JSON.stringify(line, (_key, value: unknown) => {
      if (typeof value === 'bigint') return value.toString();
      if (value !== null && typeof value === 'object') {
        if (seen.has(value)) return '[Circular]';
        seen.add(value);
      }
      return value;
    });
  }
}

/** EAGAIN on a non-blocking stdout pipe is retried this long before the line is dropped (a logger must not hang). */
const EAGAIN_GIVE_UP_MS = 2_000;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Synchronous writes to fd 1, as pino's `destination({ dest: 1, sync: true })` did. */
const STDOUT: LogDestination = {
  write(line: string): void {
    let buf = Buffer.from(line);
    const started = Date.now();
    while (buf.length > 0) {
      try {
        buf = buf.subarray(writeSync(1, buf));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN' || Date.now() - started > EAGAIN_GIVE_UP_MS) return;
        Atomics.wait(sleeper, 0, 0, 5); // the reader is slow: wait a moment, then write the rest
      }
    }
  },
};
