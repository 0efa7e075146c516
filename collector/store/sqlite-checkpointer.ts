import { Worker } from 'node:worker_threads';

// Runs in a worker thread with its own connection. Inline (eval) so the bundle needs no second entry file. The
// connection only checkpoints: it reads no table, so a small page cache is enough. On 'close' the worker stops its
// timer, closes the connection and lets its event loop end (the message port is closed), so it exits on its own.
const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const { DatabaseSync } = require('node:sqlite');
const db = new DatabaseSync(workerData.path);
db.exec('PRAGMA busy_timeout = 1000');
db.exec('PRAGMA cache_size = -1024');
const timer = setInterval(() => {
  try { db.exec('PRAGMA wal_checkpoint(PASSIVE)'); } catch { /* busy or closing: the next tick retries */ }
}, workerData.everyMs);
parentPort.once('message', () => {
  clearInterval(timer);
  try { db.close(); } catch { /* already closed */ }
  parentPort.close();
});
`;

/**
 * Moves WAL checkpoints off the event loop. A checkpoint copies WAL pages into the database file and fsyncs it;
 * done by SQLite's auto-checkpoint, it runs inside whichever commit crosses the threshold and stalled that commit
 * (and every request waiting on it) for milliseconds — half the store's time in the ingest benchmark. A PASSIVE
 * checkpoint from a second connection runs beside the writer without blocking it.
 */
export class SqliteCheckpointer {
  readonly #worker: Worker;
  readonly #exited: Promise<void>;
  #closing: Promise<void> | undefined;

  constructor(path: string, everyMs = 250) {
    // The worker only runs a pragma on a timer: a small heap is plenty, and the limits keep it bounded.
    this.#worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { path, everyMs },
      resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 16, codeRangeSizeMb: 2, stackSizeMb: 1 },
    });
    this.#exited = new Promise<void>((resolve) => this.#worker.once('exit', () => resolve()));
    this.#worker.on('error', () => undefined);
    // Unref'd so a running checkpointer never keeps the process alive on its own.
    this.#worker.unref();
  }

  /**
   * Stops the worker and resolves once it has exited (at once if it already had). The worker is ref'd again for
   * the wait: an unref'd worker does not keep the event loop alive, so in a process with nothing else to do Node
   * would exit with this promise unsettled.
   */
  close(): Promise<void> {
    return (this.#closing ??= (() => {
      this.#worker.ref();
      this.#worker.postMessage('close');
      return this.#exited;
    })());
  }
}
