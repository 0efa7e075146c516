import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CollectorConfig } from '../../collector/config.ts';
import { startCollector, type RunningCollector } from '../../collector/start-collector.ts';
import { createLogger } from '../../src/log/logger.ts';

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

/** An in-process collector on 127.0.0.1 port 0 over a real SQLite file in a temp dir (unless the config says otherwise). */
export async function collectorUnderTest(over: DeepPartial<CollectorConfig> & Record<string, unknown> = {}, opts: Parameters<typeof startCollector>[2] = {}): Promise<RunningCollector & { dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'podpulse-collector-'));
  const o = over as Record<string, Record<string, unknown> | undefined>;
  const config = CollectorConfig.parse({
    ...over,
    listen: { host: '127.0.0.1', port: 0, ...o.listen },
    store: { path: join(dir, 'data', 'podpulse.db'), ...o.store },
    auth: { mode: 'none', ...o.auth },
    log: { level: 'silent' },
  });
  const c = await startCollector(config, createLogger({ name: 'collector-test', level: 'silent' }), opts);
  return { ...c, dir };
}
