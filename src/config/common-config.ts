import { z } from 'zod';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** The `log` section every program shares. */
export const LogConfig = z.strictObject({ level: z.enum(LOG_LEVELS).default('info') }).default({ level: 'info' });
