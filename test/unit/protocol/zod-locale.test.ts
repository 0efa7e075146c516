import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

// zod/mini registers no locale, so a message read outside parseWith (the worker's "check returned an invalid result
// (...)") would be a bare "Invalid input". src/protocol/common.ts registers English, as zod classic does on its
// first schema. A fresh process, so no zod classic loaded by anything else can register it instead.
describe('zod messages outside parseWith', () => {
  it('are the English ones in a process that loads only the agent schemas', () => {
    const script = `
      const { CheckResult } = await import(${JSON.stringify(new URL('../../../src/protocol/heartbeat.ts', import.meta.url).href)});
      const r = CheckResult.safeParse({ id: 'db', kind: 'dns', latencyMs: -1, message: 5 });
      process.stdout.write(JSON.stringify(r.error.issues.map((i) => i.path.join('.') + ': ' + i.message)));
    `;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual(['latencyMs: Too small: expected number to be >=0', 'message: Invalid input: expected string, received number']);
  });
});
