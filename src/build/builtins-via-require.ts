import { builtinModules } from 'node:module';
import type { Plugin } from 'esbuild';

const NAMESPACE = 'builtin-via-require';
const BUILTINS = new Set(builtinModules.map((m) => (m.startsWith('node:') ? m : `node:${m}`)));

/**
 * Loads Node's builtin modules in a bundle through `require()` instead of an ESM `import`.
 *
 * Node builds the ESM view of a CommonJS builtin by reading every enumerable export once, which fires the lazy
 * getters some builtins have: `node:http`'s `WebSocket`, `CloseEvent` and `MessageEvent` load Node's internal undici
 * (about 6 MB of private memory in a probe process that never uses them), `node:util` and `node:fs` theirs. `require()`
 * returns the module object without reading anything, and esbuild's ESM interop reads a property only when the code
 * uses it. The banner's `require` (createRequire) does the loading, so this applies to every bundle, whichever
 * package imports the builtin. `require()` calls themselves are left to esbuild (they stay external as before).
 */
export const builtinsViaRequire: Plugin = {
  name: NAMESPACE,
  setup(build) {
    build.onResolve({ filter: /^(node:)?[a-z_][a-z0-9_/]*$/ }, (args) => {
      if (args.kind !== 'import-statement' && args.kind !== 'dynamic-import') return undefined;
      const id = args.path.startsWith('node:') ? args.path : `node:${args.path}`;
      return BUILTINS.has(id) ? { path: id, namespace: NAMESPACE } : undefined;
    });
    build.onLoad({ filter: /.*/, namespace: NAMESPACE }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: 'js' }));
  },
};
