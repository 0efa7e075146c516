import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const script = fileURLToPath(new URL('./fixtures/close-store.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'podpulse-sqlite-close-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('SqliteStore.close in a plain node process', () => {
  it('resolves and lets the process exit 0 (the checkpointer worker exits too)', async () => {
    const path = join(dir, 'podpulse.db');
    // A hang would show as the timeout; an unsettled await as exit code 13 and no output.
    const { stdout } = await run(process.execPath, [script, path], { timeout: 20_000 });
    expect(stdout).toBe('closed\n');
  }, 30_000);
});
