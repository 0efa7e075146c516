import * as z from 'zod/mini';
import { ValidationError, type ErrorCode } from '../errors.ts';
import { API_VERSION } from './common.ts';
import { Heartbeat, HeartbeatBatch } from './heartbeat.ts';
import { errorMap, toViolations } from './violations.ts';

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: ValidationError };

export interface ParseOptions {
  /** What is being parsed, for the error's first line (`heartbeat`, `config file /etc/podpulse.yaml`). */
  what?: string;
  /** Show array elements with an `id` by that id in paths (`checks[dns-db].timeout`), for configs. */
  byId?: boolean;
  code?: ErrorCode;
}

/**
 * Validates `data` against `schema` and never throws: the result is the typed value or a ValidationError listing
 * every violation with its path and the offending value.
 */
export function parseWith<S extends z.core.$ZodType>(schema: S, data: unknown, opts: ParseOptions = {}): ParseResult<z.output<S>> {
  const what = opts.what ?? 'message';
  try {
    // The functional form accepts any zod 4 schema: the agent's zod/mini ones and the collector's classic ones.
    const r = z.safeParse(schema, data, { error: errorMap, reportInput: true });
    if (r.success) return { ok: true, value: r.data };
    return { ok: false, error: new ValidationError(opts.code ?? 'PODPULSE_ERR_PROTOCOL', `invalid ${what}`, toViolations(r.error.issues, data, opts.byId)) };
  } catch (err) {
    // A schema refinement that throws is a bug in podpulse, not in the input; still never escape as untyped.
    const e = new ValidationError('PODPULSE_ERR_INTERNAL', `invalid ${what}`, [{ path: '', message: `validation failed internally: ${String(err)}` }]);
    return { ok: false, error: e };
  }
}

/** Parses JSON text without throwing. */
export function parseJson(text: string, what = 'body'): ParseResult<unknown> {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    return { ok: false, error: new ValidationError('PODPULSE_ERR_PROTOCOL', `invalid ${what}`, [{ path: '', message: `not valid JSON: ${(err as Error).message}` }]) };
  }
}

function unsupported(data: unknown, what: string): ValidationError | undefined {
  if (!data || typeof data !== 'object' || Array.isArray(data)) return undefined;
  const v = (data as { apiVersion?: unknown }).apiVersion;
  if (typeof v === 'string' && v !== API_VERSION && /^podpulse\.io\/v\d+/.test(v)) {
    return new ValidationError('PODPULSE_ERR_UNSUPPORTED_PROTOCOL', `unsupported ${what}`, [
      { path: 'apiVersion', message: `this build speaks ${API_VERSION}, got ${JSON.stringify(v)}` },
    ]);
  }
  return undefined;
}

/** A heartbeat POST body: one heartbeat, or a batch (`heartbeats: [...]`) replayed from a spool. */
export function parseHeartbeatPayload(data: unknown): ParseResult<{ heartbeats: Heartbeat[]; batch: boolean }> {
  const bad = unsupported(data, 'heartbeat');
  if (bad) return { ok: false, error: bad };
  const batch = !!data && typeof data === 'object' && !Array.isArray(data) && 'heartbeats' in data;
  if (batch) {
    const r = parseWith(HeartbeatBatch, data, { what: 'heartbeat batch' });
    return r.ok ? { ok: true, value: { heartbeats: r.value.heartbeats, batch: true } } : r;
  }
  const r = parseWith(Heartbeat, data, { what: 'heartbeat' });
  return r.ok ? { ok: true, value: { heartbeats: [r.value], batch: false } } : r;
}
