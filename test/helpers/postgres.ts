import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const LOCAL_POSTGRES_URL = process.env.PODPULSE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestPostgres {
  /** Connection URL, or undefined when no PostgreSQL could be reached (`reason` says why). */
  url: string | undefined;
  reason: string;
  /** A fresh schema name for this run; drop it with dropSchema. */
  schema: string;
  stop(): Promise<void>;
}

async function reachable(url: string): Promise<string | undefined> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return undefined;
  } catch (err) {
    return (err as Error).message;
  } finally {
    await c.end().catch(() => undefined);
  }
}

/**
 * The PostgreSQL for integration tests: the local server at 127.0.0.1:5432 (trust auth), else a testcontainers
 * PostgreSQL when Docker is available, else none, with the reason, so the caller can skip visibly.
 */
export async function testPostgres(): Promise<TestPostgres> {
  const schema = `pp_test_${randomBytes(5).toString('hex')}`;
  const localErr = await reachable(LOCAL_POSTGRES_URL);
  if (!localErr) return { url: LOCAL_POSTGRES_URL, reason: '', schema, stop: () => dropSchema(LOCAL_POSTGRES_URL, schema) };
  try {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const container = await new PostgreSqlContainer('postgres:16-alpine').start();
    return { url: container.getConnectionUri(), reason: '', schema, stop: async () => void (await container.stop()) };
  } catch (err) {
    return {
      url: undefined,
      reason: `no PostgreSQL: ${LOCAL_POSTGRES_URL} unreachable (${localErr}) and testcontainers failed (${(err as Error).message.split('\n')[0]})`,
      schema,
      stop: () => Promise.resolve(),
    };
  }
}

export async function dropSchema(url: string, schema: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await c.end();
  }
}
