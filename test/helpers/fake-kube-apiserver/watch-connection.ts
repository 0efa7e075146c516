import type { ServerResponse } from 'node:http';
import type { Change } from './object-store.ts';
import type { Selector } from './selectors.ts';

type Obj = Record<string, unknown>;

/**
 * One open WATCH: turns store changes into NDJSON lines for this watcher, applying its namespace and selectors the
 * way the apiserver does (an object that stops matching is sent as DELETED, one that starts matching as ADDED).
 */
export class WatchConnection {
  readonly resource: string;
  readonly query: URLSearchParams;
  readonly #res: ServerResponse;
  readonly #nsPrefix: string | undefined;
  readonly #selector: Selector | undefined;
  readonly #bookmarkHead: string;
  #closed = false;
  readonly #onClose: (() => void)[] = [];

  constructor(res: ServerResponse, resource: string, kind: string, apiVersion: string, query: URLSearchParams, namespace: string | undefined, selector: Selector | undefined) {
    this.#res = res;
    this.resource = resource;
    this.query = query;
    this.#nsPrefix = namespace === undefined ? undefined : `${namespace}/`;
    this.#selector = selector;
    this.#bookmarkHead = `{"type":"BOOKMARK","object":{"kind":${JSON.stringify(kind)},"apiVersion":${JSON.stringify(apiVersion)},"metadata":{"resourceVersion":`;
    res.on('close', () => this.close());
  }

  get closed(): boolean {
    return this.#closed;
  }

  onClose(fn: () => void): void {
    this.#onClose.push(fn);
  }

  inScope(key: string): boolean {
    return this.#nsPrefix === undefined || key.startsWith(this.#nsPrefix);
  }

  #matches(json: string | undefined): boolean {
    if (json === undefined) return false;
    return this.#selector ? this.#selector(JSON.parse(json) as Obj) : true;
  }

  writeLine(line: string): void {
    if (!this.#closed) this.#res.write(`${line}\n`);
  }

  sendEvent(type: string, json: string): void {
    this.writeLine(`{"type":"${type}","object":${json}}`);
  }

  /** Sends the current state as ADDED events (a watch without resourceVersion, or the start of a streaming list). */
  sendInitial(entries: [string, string][]): void {
    for (const [key, json] of entries) if (this.inScope(key) && this.#matches(json)) this.sendEvent('ADDED', json);
  }

  send(c: Change): void {
    if (this.#closed || c.resource !== this.resource || !this.inScope(c.key)) return;
    if (!this.#selector) {
      this.sendEvent(c.type, c.json);
      return;
    }
    const now = c.type !== 'DELETED' && this.#matches(c.json);
    const before = this.#matches(c.prev);
    if (c.type === 'DELETED') {
      if (before) this.sendEvent('DELETED', c.json);
    } else if (now && before) this.sendEvent('MODIFIED', c.json);
    else if (now) this.sendEvent('ADDED', c.json);
    else if (before) this.sendEvent('DELETED', c.json);
  }

  sendBookmark(rv: number, initialEventsEnd = false): void {
    const annotations = initialEventsEnd ? ',"annotations":{"k8s.io/initial-events-end":"true"}' : '';
    this.writeLine(`${this.#bookmarkHead}"${rv}"${annotations}}}}`);
  }

  sendError(status: Obj): void {
    this.writeLine(JSON.stringify({ type: 'ERROR', object: status }));
  }

  /** Ends the response cleanly, as the apiserver does at `timeoutSeconds`. */
  end(): void {
    if (this.#closed) return;
    this.#res.end();
    this.close();
  }

  /** Cuts the connection mid-stream, with no clean end of the chunked response. */
  drop(): void {
    this.#res.socket?.destroy();
    this.close();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const fn of this.#onClose) fn();
  }
}
