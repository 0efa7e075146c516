import { z } from 'zod';
import { LogConfig } from '../src/config/common-config.ts';
import { PodpulseError } from '../src/errors.ts';
import { printError, runProgram } from '../src/program.ts';

const Config = z.strictObject({ log: LogConfig });

await runProgram(
  { name: 'podpulse-daemon', summary: "the sidecar's guardian process (supervises the worker)", schema: Config, envMap: { PODPULSE_LOG_LEVEL: 'log.level' }, logLevel: (c) => c.log.level },
  () => {
    // Not built yet: say so plainly and exit non-zero rather than pretend to run.
    printError('podpulse-daemon', new PodpulseError('PODPULSE_ERR_NOT_IMPLEMENTED', 'podpulse-daemon is not implemented yet'));
    process.exitCode = 3;
  },
);
