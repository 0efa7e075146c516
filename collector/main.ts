// First: heap limits must be set before the program allocates.
import './heap-flags.ts';
import { createPinoLogger } from '../src/log/pino-logger.ts';
import { runProgram } from '../src/program.ts';
import { COLLECTOR_ENV, CollectorConfig } from './config.ts';
import { startDemo } from './demo/start-demo.ts';
import { startCollector } from './start-collector.ts';

await runProgram(
  {
    name: 'podpulse-collector',
    summary: 'ingests heartbeats, diagnoses, serves the control plane',
    schema: CollectorConfig,
    envMap: COLLECTOR_ENV,
    flags: { 'insecure-no-auth': { type: 'boolean' }, port: { type: 'string' }, demo: { type: 'boolean' } },
    flagOverrides: (v) => ({
      // The demo is local and unauthenticated by design; its console output is the show, so JSON logs only warn.
      'auth.mode': v['insecure-no-auth'] || v.demo ? 'none' : undefined,
      'log.level': v.demo && !process.env.PODPULSE_LOG_LEVEL ? 'warn' : undefined,
      'listen.port': typeof v.port === 'string' ? Number(v.port) : undefined,
    }),
    logLevel: (c) => c.log.level,
    createLogger: createPinoLogger,
  },
  async ({ config, log, flags }) => {
    const collector = flags.demo ? await startDemo(config, log) : await startCollector(config, log);
    const stop = (signal: string) => {
      log.info({ signal }, 'shutting down');
      collector.close().then(
        () => log.info('stopped'),
        (err: unknown) => {
          log.error({ err }, 'shutdown failed');
          process.exitCode = 1;
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  },
);
