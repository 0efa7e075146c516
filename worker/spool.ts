import { mkdir, open, readdir, readFile, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../src/log/logger.ts';
import { HEARTBEAT_LIMITS, type HeartbeatInput } from '../src/protocol/heartbeat.ts';

/** Where and how much to spool. */
export interface SpoolOptions {
  dir: string;
  /** The directory never holds more than this (segments are dropped oldest first to stay under it). */
  maxBytes: number;
  /** Segments whose last write is older than this are dropped. */
  maxAgeMs: number;
  /** A segment is closed at this size or at 1000 lines; one segment is replayed as one batch. */
  segmentBytes: number;
  log: Logger;
  now?: () => number;
}

interface Segment {
  name: string;
  bytes: number;
  lines: number;
  lastWrite: number;
  /** Set while it is the segment being appended to. */
  fh?: FileHandle | undefined;
}

/** The oldest spooled heartbeats, read back for a replay; `ack` it after a 2xx, `drop` it after a refusal. */
export interface SpoolBatch {
  segment: string;
  heartbeats: HeartbeatInput[];
}

const NAME = /^seg-(\d{12})\.jsonl$/;

/**
 * A bounded on-disk spool of heartbeats that could not be delivered: JSON lines in segment files, fsynced when a
 * segment is closed. Bounded by total bytes and by age; the oldest segment is dropped first and its heartbeats
 * are counted in `dropped`. A new process replays what an earlier one left (those beats keep their boot id and
 * seq). A segment is deleted only after its batch was acknowledged.
 */
export class Spool {
  readonly #opts: SpoolOptions;
  readonly #now: () => number;
  #segments: Segment[] = [];
  #counter = 0;
  #dropped = 0;
  #lock: Promise<unknown> = Promise.resolve();
  #writeError: string | undefined;

  constructor(opts: SpoolOptions) {
    this.#opts = { ...opts, segmentBytes: Math.min(opts.segmentBytes, Math.floor(opts.maxBytes / 2)) };
    this.#now = opts.now ?? Date.now;
  }

  /** Heartbeats lost by this process: spool full, too old, unreadable, or not writable. */
  get dropped(): number {
    return this.#dropped;
  }

  get bytes(): number {
    return this.#segments.reduce((n, s) => n + s.bytes, 0);
  }

  /** Spooled heartbeats not yet replayed. */
  get count(): number {
    return this.#segments.reduce((n, s) => n + s.lines, 0);
  }

  /** Creates the directory and takes over segments left by an earlier process. */
  open(): Promise<void> {
    return this.#serial(async () => {
      await mkdir(this.#opts.dir, { recursive: true });
      const names = (await readdir(this.#opts.dir)).filter((n) => NAME.test(n)).sort();
      for (const name of names) {
        const path = join(this.#opts.dir, name);
        const [st, text] = await Promise.all([stat(path), readFile(path, 'utf8')]);
        this.#segments.push({ name, bytes: st.size, lines: text.split('\n').filter((l) => l.trim() !== '').length, lastWrite: st.mtimeMs });
        this.#counter = Math.max(this.#counter, Number(NAME.exec(name)![1]) + 1);
      }
      await this.#enforceAge();
      await this.#enforceBytes(0);
    });
  }

  /** Appends one heartbeat; drops the oldest segments first if it would not fit. */
  append(hb: HeartbeatInput): Promise<void> {
    return this.#serial(async () => {
      const line = `${JSON.stringify(hb)}\n`;
      const size = Buffer.byteLength(line);
      if (size > this.#opts.segmentBytes) {
        this.#dropped++;
        return;
      }
      await this.#enforceAge();
      let cur = this.#segments.at(-1);
      if (cur?.fh && (cur.bytes + size > this.#opts.segmentBytes || cur.lines >= HEARTBEAT_LIMITS.batch)) await this.#closeSegment(cur);
      await this.#enforceBytes(size);
      cur = this.#segments.at(-1);
      try {
        if (!cur?.fh) {
          const name = `seg-${String(this.#counter++).padStart(12, '0')}.jsonl`;
          cur = { name, bytes: 0, lines: 0, lastWrite: this.#now(), fh: await open(join(this.#opts.dir, name), 'a') };
          this.#segments.push(cur);
        }
        await cur.fh!.write(line);
        cur.bytes += size;
        cur.lines++;
        cur.lastWrite = this.#now();
        this.#writeError = undefined;
      } catch (err) {
        this.#dropped++;
        const msg = (err as Error).message;
        if (msg !== this.#writeError) this.#opts.log.error({ err: msg, dir: this.#opts.dir }, 'cannot write to the spool; heartbeats are being dropped');
        this.#writeError = msg;
      }
    });
  }

  /** The oldest segment's heartbeats (closing the current segment if it is the only one), or undefined when empty. */
  oldest(): Promise<SpoolBatch | undefined> {
    return this.#serial(async () => {
      await this.#enforceAge();
      while (this.#segments.length > 0) {
        const seg = this.#segments[0]!;
        if (seg.fh) await this.#closeSegment(seg);
        const heartbeats: HeartbeatInput[] = [];
        let bad = 0;
        let text = '';
        try {
          text = await readFile(join(this.#opts.dir, seg.name), 'utf8');
        } catch (err) {
          this.#opts.log.warn({ err: (err as Error).message, segment: seg.name }, 'cannot read a spool segment; dropping it');
        }
        for (const l of text.split('\n')) {
          if (l.trim() === '') continue;
          try {
            heartbeats.push(JSON.parse(l) as HeartbeatInput);
          } catch {
            // A line cut short by a crash mid-write: lose that one beat, keep the rest.
            bad++;
          }
        }
        if (bad > 0) {
          // Count a broken line once, however often the segment is read back before it is acknowledged.
          this.#dropped += Math.max(0, seg.lines - heartbeats.length);
          seg.lines = heartbeats.length;
        }
        if (heartbeats.length > 0) return { segment: seg.name, heartbeats };
        await this.#remove(seg, false);
      }
      return undefined;
    });
  }

  /** The batch was acknowledged (2xx): delete its segment. */
  ack(batch: SpoolBatch): Promise<void> {
    return this.#serial(() => this.#removeByName(batch.segment, false));
  }

  /** The batch was refused for good (a 4xx): delete its segment and count its beats as dropped. */
  drop(batch: SpoolBatch): Promise<void> {
    return this.#serial(() => this.#removeByName(batch.segment, true));
  }

  /** fsyncs and closes the current segment (graceful stop). */
  close(): Promise<void> {
    return this.#serial(async () => {
      const cur = this.#segments.at(-1);
      if (cur?.fh) await this.#closeSegment(cur);
    });
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#lock.then(fn, fn);
    this.#lock = next.catch(() => undefined);
    return next;
  }

  async #closeSegment(seg: Segment): Promise<void> {
    const fh = seg.fh;
    seg.fh = undefined;
    if (!fh) return;
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  async #enforceAge(): Promise<void> {
    const oldest = this.#now() - this.#opts.maxAgeMs;
    while (this.#segments.length > 0 && this.#segments[0]!.lastWrite < oldest) await this.#remove(this.#segments[0]!, true);
  }

  /** Drops the oldest segments until `incoming` more bytes fit under maxBytes. */
  async #enforceBytes(incoming: number): Promise<void> {
    while (this.#segments.length > 0 && this.bytes + incoming > this.#opts.maxBytes) {
      const seg = this.#segments[0]!;
      // Never drop the segment being written while older ones exist; if it is the only one, close it first.
      if (seg.fh) await this.#closeSegment(seg);
      this.#opts.log.warn({ segment: seg.name, heartbeats: seg.lines }, 'spool full: dropping the oldest heartbeats');
      await this.#remove(seg, true);
    }
  }

  async #removeByName(name: string, counted: boolean): Promise<void> {
    const seg = this.#segments.find((s) => s.name === name);
    if (seg) await this.#remove(seg, counted);
  }

  async #remove(seg: Segment, counted: boolean): Promise<void> {
    if (seg.fh) await this.#closeSegment(seg);
    this.#segments = this.#segments.filter((s) => s !== seg);
    if (counted) this.#dropped += seg.lines;
    await unlink(join(this.#opts.dir, seg.name)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') this.#opts.log.warn({ err: err.message, segment: seg.name }, 'cannot delete a spool segment');
    });
  }
}
