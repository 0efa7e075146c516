import type { Migration } from './migration.ts';

/** SQLite schema. Times are INTEGER epoch milliseconds; JSON is TEXT. Mirrors postgres-migrations.ts. */
export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    statements: [
      `CREATE TABLE instances (
        pod_uid TEXT PRIMARY KEY, namespace TEXT NOT NULL, pod TEXT NOT NULL, node TEXT, app TEXT NOT NULL,
        tenant TEXT NOT NULL, pod_ip TEXT, agent TEXT NOT NULL, boot_id TEXT NOT NULL, last_seq INTEGER NOT NULL,
        interval_ms INTEGER NOT NULL, dropped INTEGER NOT NULL, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,
        last_sent_at INTEGER NOT NULL, status TEXT NOT NULL, status_since INTEGER NOT NULL
      ) WITHOUT ROWID`,
      'CREATE INDEX instances_ns_app ON instances (namespace, app, pod_uid)',
      'CREATE INDEX instances_app ON instances (app, pod_uid)',
      'CREATE INDEX instances_last_seen ON instances (last_seen)',
      `CREATE TABLE check_states (
        pod_uid TEXT NOT NULL, check_id TEXT NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL, code TEXT NOT NULL,
        message TEXT, since INTEGER NOT NULL,
        PRIMARY KEY (pod_uid, check_id)
      ) WITHOUT ROWID`,
      `CREATE TABLE status_transitions (
        id INTEGER PRIMARY KEY AUTOINCREMENT, pod_uid TEXT NOT NULL, check_id TEXT, at INTEGER NOT NULL,
        from_status TEXT, to_status TEXT NOT NULL, code TEXT
      )`,
      'CREATE INDEX status_transitions_uid_at ON status_transitions (pod_uid, at)',
      'CREATE INDEX status_transitions_at ON status_transitions (at)',
      `CREATE TABLE heartbeat_dedup (
        pod_uid TEXT NOT NULL, boot_id TEXT NOT NULL, seq INTEGER NOT NULL, received_at INTEGER NOT NULL,
        PRIMARY KEY (pod_uid, boot_id, seq)
      ) WITHOUT ROWID`,
      'CREATE INDEX heartbeat_dedup_received ON heartbeat_dedup (received_at)',
      `CREATE TABLE rollups_minute (
        pod_uid TEXT NOT NULL, minute INTEGER NOT NULL, ok_ms INTEGER NOT NULL, degraded_ms INTEGER NOT NULL,
        failing_ms INTEGER NOT NULL, unknown_ms INTEGER NOT NULL, PRIMARY KEY (pod_uid, minute)
      ) WITHOUT ROWID`,
      'CREATE INDEX rollups_minute_minute ON rollups_minute (minute)',
      `CREATE TABLE events (
        id TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, type TEXT NOT NULL, status TEXT NOT NULL, severity TEXT NOT NULL,
        app TEXT, tenant TEXT, subject TEXT, body TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
        resolved_at INTEGER
      )`,
      'CREATE INDEX events_fingerprint ON events (fingerprint)',
      'CREATE INDEX events_updated ON events (updated_at, id)',
      'CREATE TABLE watermarks (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at INTEGER NOT NULL)',
    ],
  },
  {
    version: 10,
    name: 'control-plane records',
    statements: [
      // Ids compare by code point in both stores, so cursors and prefixes behave the same.
      `CREATE TABLE records (
        kind TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL, body TEXT NOT NULL,
        created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, PRIMARY KEY (kind, id)
      ) WITHOUT ROWID`,
    ],
  },
  {
    version: 2,
    name: 'per-app minute rollups for SLA',
    statements: [
      // SLA over an app reads one row per minute instead of one per pod and minute (10,000 pods x 24 h is 14 M rows).
      `CREATE TABLE rollups_app_minute (
        namespace TEXT NOT NULL, app TEXT NOT NULL, minute INTEGER NOT NULL, ok_ms INTEGER NOT NULL, degraded_ms INTEGER NOT NULL,
        failing_ms INTEGER NOT NULL, unknown_ms INTEGER NOT NULL, PRIMARY KEY (app, namespace, minute)
      ) WITHOUT ROWID`,
      'CREATE INDEX rollups_app_minute_ns ON rollups_app_minute (namespace, minute)',
      'CREATE INDEX rollups_app_minute_minute ON rollups_app_minute (minute)',
      `INSERT INTO rollups_app_minute (namespace, app, minute, ok_ms, degraded_ms, failing_ms, unknown_ms)
        SELECT i.namespace, i.app, r.minute, SUM(r.ok_ms), SUM(r.degraded_ms), SUM(r.failing_ms), SUM(r.unknown_ms)
        FROM rollups_minute r JOIN instances i ON i.pod_uid = r.pod_uid GROUP BY i.namespace, i.app, r.minute`,
    ],
  },
  {
    version: 3,
    name: 'append-only ingest log and seq ranges for dedup',
    statements: [
      // What a commit writes per heartbeat: one row at the end of a rowid table, so a commit's WAL pages are the last
      // page or two of this table, not a page per instance in each of several B-trees. The store folds these rows
      // into seq ranges, rollups and last-seen about once a second and deletes them; after a crash it folds what is
      // left at start-up (see docs/adr/0009-ingest-write-path.md).
      `CREATE TABLE heartbeat_log (
        id INTEGER PRIMARY KEY, pod_uid TEXT NOT NULL, boot_id TEXT NOT NULL, seq INTEGER NOT NULL, received_at INTEGER NOT NULL,
        sent_at INTEGER NOT NULL, interval_ms INTEGER NOT NULL, dropped INTEGER NOT NULL, status TEXT NOT NULL,
        namespace TEXT NOT NULL, app TEXT NOT NULL
      )`,
      // Dedup keys as ranges of seqs per (pod, boot): a sidecar counts up, so a boot is one row that grows, instead of
      // one row per heartbeat (86 M rows a day at 10,000 pods). received_at is that of the range's newest heartbeat.
      `CREATE TABLE heartbeat_seq_ranges (
        pod_uid TEXT NOT NULL, boot_id TEXT NOT NULL, first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL, received_at INTEGER NOT NULL,
        PRIMARY KEY (pod_uid, boot_id, first_seq)
      ) WITHOUT ROWID`,
      `INSERT INTO heartbeat_seq_ranges (pod_uid, boot_id, first_seq, last_seq, received_at)
        SELECT pod_uid, boot_id, MIN(seq), MAX(seq), MAX(received_at) FROM (
          SELECT pod_uid, boot_id, seq, received_at, seq - ROW_NUMBER() OVER (PARTITION BY pod_uid, boot_id ORDER BY seq) AS island FROM heartbeat_dedup
        ) GROUP BY pod_uid, boot_id, island`,
      'DROP TABLE heartbeat_dedup',
      // last_seen now changes once per flush per instance; prune scans the instances table instead (every 10 min).
      'DROP INDEX instances_last_seen',
    ],
  },
];
