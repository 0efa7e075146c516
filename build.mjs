// Bundles each program entry into one ESM file under dist/. tsc only type-checks (see docs/adr/0002).
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));

/** Program entries: one main.ts each, bundled to dist/<name>.mjs. */
export const entries = {
  daemon: 'daemon/main.ts',
  worker: 'worker/main.ts',
  collector: 'collector/main.ts',
  cli: 'cli/main.ts',
};

// Packages with native parts or optional peers stay external; they are resolved from node_modules at run time.
const external = ['pg-native', 'cpu-features', 'ssh2'];

await Promise.all(
  Object.entries(entries).map(([name, entry]) =>
    build({
      entryPoints: [entry],
      outfile: `dist/${name}.mjs`,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node24',
      sourcemap: 'linked',
      // Minified bundles are about half the size; the source text is held in every process's heap and the bytecode
      // compiled from it is smaller too (docs/worker-footprint.md). keepNames keeps class and function names intact
      // for stack traces, error names and logs; the linked source map maps positions back.
      minify: true,
      keepNames: true,
      legalComments: 'none',
      external,
      define: { PODPULSE_VERSION: JSON.stringify(pkg.version) },
      // Bundled CommonJS dependencies call require(); give the ESM bundle one.
      banner: {
        js: "import { createRequire as __ppCreateRequire } from 'node:module'; const require = __ppCreateRequire(import.meta.url);",
      },
      logLevel: 'warning',
    }),
  ),
);
