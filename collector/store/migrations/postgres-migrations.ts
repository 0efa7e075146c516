import type { Migration } from './migration.ts';

/** PostgreSQL schema. Times are BIGINT epoch milliseconds (one representation in both stores); JSON is JSONB. */
export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    statements: [
      `CREATE TABLE instances (
        pod_uid UUID PRIMARY KEY, namespace TEXT NOT NULL, pod TEXT NOT NULL, node TEXT, app TEXT NOT NULL,
        tenant TEXT NOT NULL, pod_ip TEXT, agent JSONB NOT NULL, boot_id UUID NOT NULL, last_seq BIGINT NOT NULL,
        interval_ms INTEGER NOT NULL, dropped BIGINT NOT NULL, first_seen BIGINT NOT NULL, last_seen BIGINT NOT NULL,
        last_sent_at BIGINT NOT NULL, status TEXT NOT NULL, status_since BIGINT NOT NULL
      )`,
      'CREATE INDEX instances_ns_app ON instances (namespace, app, pod_uid)',
      'CREATE INDEX instances_app ON instances (app, pod_uid)',
      'CREATE INDEX instances_last_seen ON instances (last_seen)',
      `CREATE TABLE check_states (
        pod_uid UUID NOT NULL, check_id TEXT NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL, code TEXT NOT NULL,
        message TEXT, since BIGINT NOT NULL,
        PRIMARY KEY (pod_uid, check_id)
      )`,
      `CREATE TABLE status_transitions (
        id BIGSERIAL PRIMARY KEY, pod_uid UUID NOT NULL, check_id TEXT, at BIGINT NOT NULL,
        from_status TEXT, to_status TEXT NOT NULL, code TEXT
      )`,
      'CREATE INDEX status_transitions_uid_at ON status_transitions (pod_uid, at)',
      'CREATE INDEX status_transitions_at ON status_transitions (at)',
      `CREATE TABLE heartbeat_dedup (
        pod_uid UUID NOT NULL, boot_id UUID NOT NULL, seq BIGINT NOT NULL, received_at BIGINT NOT NULL,
        PRIMARY KEY (pod_uid, boot_id, seq)
      )`,
      'CREATE INDEX heartbeat_dedup_received ON heartbeat_dedup (received_at)',
      `CREATE TABLE rollups_minute (
        pod_uid UUID NOT NULL, minute BIGINT NOT NULL, ok_ms BIGINT NOT NULL, degraded_ms BIGINT NOT NULL,
        failing_ms BIGINT NOT NULL, unknown_ms BIGINT NOT NULL, PRIMARY KEY (pod_uid, minute)
      )`,
      'CREATE INDEX rollups_minute_minute ON rollups_minute (minute)',
      `CREATE TABLE events (
        id TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, type TEXT NOT NULL, status TEXT NOT NULL, severity TEXT NOT NULL,
        app TEXT, tenant TEXT, subject TEXT, body JSONB NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,
        resolved_at BIGINT
      )`,
      'CREATE INDEX events_fingerprint ON events (fingerprint)',
      'CREATE INDEX events_updated ON events (updated_at, id)',
      'CREATE TABLE watermarks (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at BIGINT NOT NULL)',
    ],
  },
  {
    version: 10,
    name: 'control-plane records',
    statements: [
      // Ids compare by code point in both stores, so cursors and prefixes behave the same.
      `CREATE TABLE records (
        kind TEXT NOT NULL, id TEXT COLLATE "C" NOT NULL, version INTEGER NOT NULL, body JSONB NOT NULL,
        created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, PRIMARY KEY (kind, id)
      )`,
    ],
  },
  {
    version: 2,
    name: 'per-app minute rollups for SLA',
    statements: [
      // SLA over an app reads one row per minute instead of one per pod and minute (10,000 pods x 24 h is 14 M rows).
      `CREATE TABLE rollups_app_minute (
        namespace TEXT NOT NULL, app TEXT NOT NULL, minute BIGINT NOT NULL, ok_ms BIGINT NOT NULL, degraded_ms BIGINT NOT NULL,
        failing_ms BIGINT NOT NULL, unknown_ms BIGINT NOT NULL, PRIMARY KEY (app, namespace, minute)
      )`,
      'CREATE INDEX rollups_app_minute_ns ON rollups_app_minute (namespace, minute)',
      'CREATE INDEX rollups_app_minute_minute ON rollups_app_minute (minute)',
      `INSERT INTO rollups_app_minute (namespace, app, minute, ok_ms, degraded_ms, failing_ms, unknown_ms)
        SELECT i.namespace, i.app, r.minute, SUM(r.ok_ms), SUM(r.degraded_ms), SUM(r.failing_ms), SUM(r.unknown_ms)
        FROM rollups_minute r JOIN instances i ON i.pod_uid = r.pod_uid GROUP BY i.namespace, i.app, r.minute`,
    ],
  },
  {
    version: 3,
    name: 'append-only per-app rollup deltas',
    statements: [
      // Every batch adds to the current minute of the same few apps. As an upsert, each transaction held those rows'
      // locks until its commit, so transactions on separate connections committed one after another. Inserted as
      // deltas (no key, no index: a heap append) they never wait; readers add the deltas to the rollups, and each
      // replica folds old deltas into rollups_app_minute every few seconds (see docs/adr/0009-ingest-write-path.md).
      `CREATE TABLE rollups_app_minute_delta (
        namespace TEXT NOT NULL, app TEXT NOT NULL, minute BIGINT NOT NULL, ok_ms BIGINT NOT NULL, degraded_ms BIGINT NOT NULL,
        failing_ms BIGINT NOT NULL, unknown_ms BIGINT NOT NULL
      )`,
    ],
  },
  {
    version: 4,
    name: 'instance row versions for optimistic ingest',
    statements: [
      // Every write of an instance row (ingest, a status set by the diagnosis) adds one. A replica that planned a
      // batch from its cached copy of the row writes it only if the version is still the one it cached; otherwise
      // the statement fails on purpose and the batch is planned again from the rows read under lock (ADR 0009).
      'ALTER TABLE instances ADD COLUMN version BIGINT NOT NULL DEFAULT 0',
      // Every heartbeat rewrites its instance's row and adds to its minute rollup. With no indexed column changing
      // and room left on the page, PostgreSQL updates such a row in place of its page (HOT) and touches no index;
      // last_seen was indexed (for prune, which may scan instances), so every update wrote all four indexes.
      'DROP INDEX IF EXISTS instances_last_seen',
      'ALTER TABLE instances SET (fillfactor = 70)',
      'ALTER TABLE rollups_minute SET (fillfactor = 80)',
      // Raises a distinct SQLSTATE (PP409) so the store can tell "stale cache or a duplicate: replan" from a failure.
      `CREATE FUNCTION ingest_guard(ok BOOLEAN) RETURNS BOOLEAN LANGUAGE plpgsql VOLATILE AS $$
      BEGIN
        IF ok IS NOT TRUE THEN
          RAISE EXCEPTION 'podpulse ingest: instance state changed since it was cached, or a heartbeat was a duplicate' USING ERRCODE = 'PP409';
        END IF;
        RETURN TRUE;
      END $$`,
    ],
  },
];
