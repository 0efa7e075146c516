import type { CollectorConfig } from '../config.ts';
import { PostgresStore } from './postgres-store.ts';
import { SqliteStore } from './sqlite-store.ts';
import type { Store } from './store.ts';

/** The store the config names, not yet migrated. */
export function openStore(cfg: CollectorConfig['store']): Store {
  if (cfg.kind === 'postgres') return new PostgresStore({ url: cfg.url!, schema: cfg.schema, maxConnections: cfg.maxConnections });
  return new SqliteStore({ path: cfg.path, synchronous: cfg.synchronous });
}
