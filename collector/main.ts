import { z } from 'zod';
import { LogConfig } from '../src/config/common-config.ts';
import { PodpulseError } from '../src/errors.ts';
import { printError, runProgram } from '../src/program.ts';

const Config = z.strictObject({ log: LogConfig });

await runProgram(
  { name: 'podpulse-collector', summary: "ingests heartbeats, diagnoses, serves the control plane", schema: Config, envMap: { PODPULSE_LOG_LEVEL: 'log.level' }, logLevel: (c) => c.log.level },
  () => {
    // Not built yet: say so plainly and exit non-zero rather than pretend to run.
    printError('podpulse-collector', new PodpulseError('PODPULSE_ERR_NOT_IMPLEMENTED', 'podpulse-collector is not implemented yet'));
    process.exitCode = 3;
  },
);
