import type { BuildOptions } from 'esbuild';
import { builtinsViaRequire } from './builtins-via-require.ts';

// Packages with native parts or optional peers stay external; they are resolved from node_modules at run time.
const EXTERNAL = ['pg-native', 'cpu-features', 'ssh2'];

/**
 * The esbuild options every program bundle shares (build.mjs for dist/, buildRelease for signed worker releases):
 * one ESM file per entry for Node 24, minified, builtins loaded through require (builtins-via-require.ts).
 */
export function bundleOptions(version: string): BuildOptions {
  return {
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    // Minified bundles are about half the size; the source text is held in every process's heap and the bytecode
    // compiled from it is smaller too (docs/worker-footprint.md). keepNames keeps class and function names intact
    // for stack traces, error names and logs.
    minify: true,
    keepNames: true,
    legalComments: 'none',
    external: EXTERNAL,
    define: { PODPULSE_VERSION: JSON.stringify(version) },
    // Bundled CommonJS dependencies and builtinsViaRequire call require(); give the ESM bundle one.
    banner: {
      js: "import { createRequire as __ppCreateRequire } from 'node:module'; const require = __ppCreateRequire(import.meta.url);",
    },
    plugins: [builtinsViaRequire],
    logLevel: 'warning',
  };
}
