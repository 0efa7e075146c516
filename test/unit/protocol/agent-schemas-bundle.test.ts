import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

// The worker and daemon run in every pod, so their schemas are zod/mini (docs/adr/0007): zod classic's module
// bodies, its forty locales and its per-schema methods would cost about 9 MB of private memory per process. This
// bundles both entries the way the build does and looks at which zod files esbuild kept.
async function zodInputs(entry: string): Promise<Record<string, number>> {
  const r = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    minify: true,
    write: false,
    metafile: true,
    outfile: 'agent.mjs',
    external: ['pg-native', 'cpu-features', 'ssh2'],
    logLevel: 'silent',
  });
  const out = Object.values(r.metafile.outputs).find((o) => o.entryPoint !== undefined)!;
  return Object.fromEntries(
    Object.entries(out.inputs)
      .filter(([path]) => path.includes('node_modules/zod/'))
      .map(([path, v]) => [path.slice(path.indexOf('node_modules/zod/') + 'node_modules/zod/'.length), v.bytesInOutput]),
  );
}

describe('agent bundles: schemas on zod/mini', () => {
  it.each([['worker', 'worker/main.ts'], ['daemon', 'daemon/main.ts']])('the %s bundle holds no zod classic and only the English locale', async (_name, entry) => {
    const inputs = await zodInputs(entry);
    const files = Object.keys(inputs);
    expect(files.some((f) => f.startsWith('v4/mini/'))).toBe(true);
    expect(files.filter((f) => f.startsWith('v4/classic/'))).toEqual([]);
    // locales/index.js may contribute its empty namespace object (a few bytes) once the bundle has a dynamic import
    // (the worker's check registry); any locale with code in the output is a real one.
    expect(files.filter((f) => f.startsWith('v4/locales/') && inputs[f]! > 64)).toEqual(['v4/locales/en.js']);
    // Tree-shaken, zod is a few tens of KB; `import { z } from 'zod/mini'` (not a namespace import) keeps all of it.
    const bytes = Object.values(inputs).reduce((a, b) => a + b, 0);
    expect(bytes).toBeLessThan(100_000);
  });
});
