import * as z from 'zod/mini';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** The `log` section every program shares. */
export const LogConfig = z._default(z.strictObject({ level: z._default(z.enum(LOG_LEVELS), 'info') }), { level: 'info' });
