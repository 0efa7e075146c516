import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readDaemonConfig, watchDaemonConfig } from '../../../collector/webhook/daemon-config-source.ts';

const dir = mkdtempSync(join(tmpdir(), 'podpulse-daemon-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const GOOD = 'commands:\n  allowlist:\n    - name: routes\n      argv: [ip, route]\n';
const GOOD_JSON = '{"commands":{"allowlist":[{"name":"routes","argv":["ip","route"]}]}}';

describe('the sidecar daemon config the webhook passes on', () => {
  it('is returned as compact JSON (the daemon then needs no YAML parser) when the daemon schema accepts it', async () => {
    writeFileSync(join(dir, 'good.yaml'), GOOD);
    expect(await readDaemonConfig(join(dir, 'good.yaml'))).toBe(GOOD_JSON);
  });

  it('is refused at the collector with the path of the mistake, not in every new sidecar', async () => {
    writeFileSync(join(dir, 'bad.yaml'), 'commands:\n  allowlist:\n    - name: routes\n      argv: [ip, "{dev}"]\n');
    await expect(readDaemonConfig(join(dir, 'bad.yaml'))).rejects.toThrow(/commands\.allowlist\[0\]\.argv\[1\].*\{dev\}/s);
    writeFileSync(join(dir, 'notyaml.yaml'), 'commands: [');
    await expect(readDaemonConfig(join(dir, 'notyaml.yaml'))).rejects.toThrow(/not valid YAML/);
    await expect(readDaemonConfig(join(dir, 'missing.yaml'))).rejects.toThrow(/cannot read/);
  });

  it('reports a changed valid file and keeps quiet about a broken one', async () => {
    const file = join(dir, 'watched.yaml');
    writeFileSync(file, GOOD);
    const changes: string[] = [];
    const errors: unknown[] = [];
    const stop = watchDaemonConfig(file, 50, GOOD_JSON, (t) => changes.push(t), (e) => errors.push(e));
    try {
      writeFileSync(file, 'commands: { allowlist: 3 }\n');
      await new Promise((r) => setTimeout(r, 200));
      expect(changes).toEqual([]);
      expect(errors.length).toBeGreaterThan(0);
      writeFileSync(file, `${GOOD}  maxConcurrent: 1\n`);
      await new Promise((r) => setTimeout(r, 200));
      expect(changes).toEqual(['{"commands":{"allowlist":[{"name":"routes","argv":["ip","route"]}],"maxConcurrent":1}}']);
    } finally {
      stop();
    }
  });
});
