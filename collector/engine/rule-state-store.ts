import type { KubeObject } from './kube/object-event.ts';
import type { RecordStore } from '../store/record-store.ts';

/**
 * What survives a restart of one rule on one object: pending (the `duration` runs since `since`, fires at
 * `deadline`) or firing (its event is open under `eventId`). The projected object is kept so the restarted engine
 * can re-evaluate and name it without waiting for the object's next change.
 */
export interface RuleStateRecord {
  rule: string;
  key: string;
  uid: string;
  status: 'pending' | 'firing';
  since: number;
  deadline: number;
  firedAt?: number;
  eventId?: string;
  object: KubeObject;
}

const KIND = 'engine.rule-state';

/** Rule states in the collector's record store, one record per rule and object. */
export class RuleStateStore {
  readonly #records: RecordStore;

  constructor(records: RecordStore) {
    this.#records = records;
  }

  static id(rule: string, key: string): string {
    return `${rule}|${key}`;
  }

  async loadAll(): Promise<RuleStateRecord[]> {
    const out: RuleStateRecord[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.#records.listRecords<RuleStateRecord>(KIND, { limit: 1000, ...(after !== undefined ? { after } : {}) });
      for (const r of page) out.push(r.body);
      if (page.length < 1000) return out;
      after = page[page.length - 1]!.id;
    }
  }

  async put(r: RuleStateRecord): Promise<void> {
    await this.#records.putRecord(KIND, RuleStateStore.id(r.rule, r.key), r);
  }

  async delete(rule: string, key: string): Promise<void> {
    await this.#records.deleteRecord(KIND, RuleStateStore.id(rule, key));
  }
}
