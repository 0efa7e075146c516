import { z } from 'zod';
import { ValidationError } from '../../../src/errors.ts';
import { parseWith } from '../../../src/protocol/parse.ts';
import { HttpError } from '../http-error.ts';

/** A filter value as given in a query string: one non-empty string (a repeated parameter is an error, not a list). */
export const filterValue = z.string().min(1).max(253);

/** `limit`: an integer 1..1000. */
export const limitParam = z
  .string()
  .regex(/^\d{1,7}$/, 'must be an integer from 1 to 1000')
  .transform(Number)
  .refine((n) => n >= 1 && n <= 1000, 'must be an integer from 1 to 1000');

/** `cursor`: the `nextCursor` of the previous page, passed back unchanged. */
export const cursorParam = z.string().min(1).max(512);

/** An RFC 3339 time as epoch milliseconds. */
export const timeParam = z.iso.datetime({ offset: true, error: 'must be an RFC 3339 time such as 2026-01-05T10:00:00Z' }).transform((s) => Date.parse(s));

export const uidParam = z.strictObject({ uid: z.uuid({ error: 'must be a pod uid (UUID)' }) });

/** Validates a query string (or path parameters): a 400 naming every bad or unknown parameter, before anything runs. */
export function parseQuery<S extends z.ZodType>(schema: S, query: unknown, what = 'query'): z.output<S> {
  const r = parseWith(schema, query ?? {}, { what });
  if (r.ok) return r.value;
  throw badQuery(r.error, what);
}

/** Runs a store read; a cursor the store rejects (ValidationError) becomes a 400 naming it. */
export async function storeRead<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (err instanceof ValidationError && err.code === 'PODPULSE_ERR_PROTOCOL') throw badQuery(err, 'query');
    throw err;
  }
}

function badQuery(e: ValidationError, what: string): HttpError {
  const names = [...new Set(e.violations.map((v) => v.path.split(/[.[]/)[0] || what))];
  return new HttpError(400, 'PODPULSE_ERR_PROTOCOL', 'bad_request', `invalid ${what} parameter${names.length === 1 ? '' : 's'}: ${names.join(', ')}`, { violations: e.violations });
}

/** Epoch milliseconds as RFC 3339, null kept. */
export const iso = (t: number | null | undefined): string | null => (t === null || t === undefined ? null : new Date(t).toISOString());
