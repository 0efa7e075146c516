import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveStartBuild } from '../../../daemon/resolve-start.ts';
import { loadUpdateState, UpdateState } from '../../../daemon/update-state.ts';
import { createLogger } from '../../../src/log/logger.ts';

const log = createLogger({ name: 'test', level: 'silent' });

function install(stateDir: string, version: string, text: string): { version: string; sha256: string } {
  mkdirSync(join(stateDir, 'versions', version), { recursive: true });
  writeFileSync(join(stateDir, 'versions', version, 'worker.mjs'), text);
  return { version, sha256: createHash('sha256').update(text).digest('hex') };
}

describe('resolveStartBuild', () => {
  it('runs the current build when its bundle is intact', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'resolve-'));
    const state = UpdateState.parse({ current: install(dir, '1.1.0', 'a') });
    expect(await resolveStartBuild(dir, state, log)).toEqual({ version: '1.1.0', entry: join(dir, 'versions/1.1.0/worker.mjs') });
  });

  it('falls back to the previous build when the current bundle is corrupt, and to the baked one when neither is usable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'resolve-'));
    const current = install(dir, '1.2.0', 'new');
    const previous = install(dir, '1.1.0', 'old');
    writeFileSync(join(dir, 'versions/1.2.0/worker.mjs'), 'tampered');
    const state = UpdateState.parse({ current, previous });
    expect((await resolveStartBuild(dir, state, log))?.version).toBe('1.1.0');
    expect((await loadUpdateState(dir)).state.current?.version).toBe('1.1.0');
    writeFileSync(join(dir, 'versions/1.1.0/worker.mjs'), 'tampered');
    expect(await resolveStartBuild(dir, (await loadUpdateState(dir)).state, log)).toBeUndefined();
  });

  it('keeps an interrupted update pending once, and marks it bad after it interrupted the daemon twice', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'resolve-'));
    const pending = { version: '2.0.0', sha256: 'c'.repeat(64) };
    const once = UpdateState.parse({ pending: { ...pending, attempts: 1 } });
    expect(await resolveStartBuild(dir, once, log)).toBeUndefined();
    expect(once.pending?.attempts).toBe(1);
    const twice = UpdateState.parse({ pending: { ...pending, attempts: 2 } });
    await resolveStartBuild(dir, twice, log);
    expect(twice.pending).toBeUndefined();
    expect(JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'))).toMatchObject({ bad: { '2.0.0': { sha256: pending.sha256 } } });
  });
});
