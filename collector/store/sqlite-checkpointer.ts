import { Worker } from 'node:worker_threads';

// Runs in a worker thread with its own connection. Inline (eval) so the bundle needs no second entry file.
const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const { DatabaseSync } = require('node:sqlite');
const db = new DatabaseSync(workerData.path);
db.exec('PRAGMA busy_timeout = 1000');
const timer = setInterval(() => {
  try { db.exec('PRAGMA wal_checkpoint(PASSIVE)'); } catch { /* busy or closing: the next tick retries */ }
}, workerData.everyMs);
parentPort.on('message', () => { clearInterval(timer); try { db.close(); } catch {} process.exit(0); });
`;

/**
 * Moves WAL checkpoints off the event loop. A checkpoint copies WAL pages into the database file and fsyncs it;
 * done by SQLite's auto-checkpoint, it runs inside whichever commit crosses the threshold and stalled that commit
 * (and every request waiting on it) for milliseconds — half the store's time in the ingest benchmark. A PASSIVE
 * checkpoint from a second connection runs beside the writer without blocking it.
 */
export class SqliteCheckpointer {
  readonly #worker: Worker;

  constructor(path: string, everyMs = 250) {
    this.#worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, everyMs } });
    this.#worker.on('error', () => undefined);
    this.#worker.unref();
  }

  async close(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.#worker.once('exit', () => resolve()));
    this.#worker.postMessage('close');
    await exited;
  }
}
