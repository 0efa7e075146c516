// Bundles each program entry into one ESM file under dist/. tsc only type-checks (see docs/adr/0002).
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { bundleOptions } from './src/build/bundle-options.ts';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));

/** Program entries: one main.ts each, bundled to dist/<name>.mjs. */
export const entries = {
  daemon: 'daemon/main.ts',
  worker: 'worker/main.ts',
  collector: 'collector/main.ts',
  cli: 'cli/main.ts',
};

// Every bundle is one self-contained file (no code splitting): the daemon forks dist/worker.mjs, and a release is
// that same kind of file. A module reached only through a dynamic import (the YAML parser, needed only for a config
// file that is not JSON) is inlined behind it and not run until then (docs/worker-footprint.md).
await Promise.all(
  Object.entries(entries).map(([name, entry]) =>
    build({
      ...bundleOptions(pkg.version),
      entryPoints: [entry],
      outfile: `dist/${name}.mjs`,
      sourcemap: 'linked',
    }),
  ),
);
