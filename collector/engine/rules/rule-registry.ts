import { parse as parseYaml } from 'yaml';
import { ValidationError, type Violation } from '../../../src/errors.ts';
import type { RecordStore } from '../../store/record-store.ts';
import { compileRule, type CompiledRule } from './compile-rule.ts';
import { parseRuleDocument, type RuleBody, type RuleSource } from './rule-document.ts';
import { RuleSet } from './rule-set.ts';

export type RuleOrigin = 'api' | 'configmap';

/** A rule as the API lists it. */
export interface RuleView {
  name: string;
  origin: RuleOrigin;
  resource: string;
  durationSeconds: number;
  severity: string;
  labels: Record<string, string>;
  /** The rule as given (DSL and/or CEL). */
  rule: RuleBody;
  /** What it compiled to. */
  cel: { filter: string; condition: string };
  /** Expressions evaluated by the CEL interpreter rather than compiled closures (slower), and why. */
  interpreted: { path: string; reason: string }[];
  references: Record<string, { resource: string; key: string }>;
}

const KIND = 'engine.rule';

/**
 * The loaded rules from two origins: a ConfigMap (its data map, one rule document per key) and the API (`PUT
 * /api/v1/rules/{name}`, persisted in the record store so every replica and every restart has them). An API rule
 * overrides a ConfigMap rule of the same name. Every change is validated first: a bad rule is refused with its
 * path and the rules in force stay as they were.
 */
export class RuleRegistry {
  readonly #records: RecordStore;
  readonly #onChange: (set: RuleSet) => Promise<void> | void;
  #api = new Map<string, CompiledRule>();
  #configMap = new Map<string, CompiledRule>();
  #set = new RuleSet();

  private constructor(records: RecordStore, onChange: (set: RuleSet) => Promise<void> | void) {
    this.#records = records;
    this.#onChange = onChange;
  }

  /**
   * Loads the API rules from the store. One that no longer compiles (a newer build refusing it) is skipped and
   * reported in `skipped`, so one bad record cannot stop the engine.
   */
  static async open(records: RecordStore, onChange: (set: RuleSet) => Promise<void> | void = () => undefined): Promise<{ registry: RuleRegistry; skipped: Violation[] }> {
    const r = new RuleRegistry(records, onChange);
    const skipped: Violation[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await records.listRecords<RuleSource>(KIND, { limit: 1000, ...(after !== undefined ? { after } : {}) });
      for (const rec of page) {
        try {
          r.#api.set(rec.id, compileRule(rec.body));
        } catch (err) {
          if (!(err instanceof ValidationError)) throw err;
          skipped.push(...err.violations);
        }
      }
      if (page.length < 1000) break;
      after = page[page.length - 1]!.id;
    }
    r.#set = r.#effective();
    return { registry: r, skipped };
  }

  /**
   * Re-reads the API rules from the store, for a replica whose engine must follow rules PUT on another replica;
   * applies (and re-evaluates) only when something changed.
   */
  async refresh(): Promise<boolean> {
    const { registry } = await RuleRegistry.open(this.#records);
    const next = registry.#api;
    const same = next.size === this.#api.size && [...next].every(([n, c]) => JSON.stringify(this.#api.get(n)?.source) === JSON.stringify(c.source));
    if (same) return false;
    this.#api = next;
    await this.#apply();
    return true;
  }

  get set(): RuleSet {
    return this.#set;
  }

  list(): RuleView[] {
    return [...this.#set.rules.values()].map((c) => this.#view(c)).sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  get(name: string): RuleView | undefined {
    const c = this.#set.rules.get(name);
    return c ? this.#view(c) : undefined;
  }

  /** Validates, persists and applies one API rule; throws ValidationError (nothing changes) when it is bad. */
  async put(name: string, document: unknown): Promise<RuleView> {
    const [source] = parseRuleDocument(document, name);
    const compiled = compileRule(source!);
    await this.#records.putRecord(KIND, name, source);
    this.#api.set(name, compiled);
    await this.#apply();
    return this.#view(compiled);
  }

  /** Removes an API rule: 'deleted', 'configmap' when the rule comes from the ConfigMap (edit that instead), or 'absent'. */
  async delete(name: string): Promise<'deleted' | 'configmap' | 'absent'> {
    if (!this.#api.has(name)) return this.#configMap.has(name) ? 'configmap' : 'absent';
    await this.#records.deleteRecord(KIND, name);
    this.#api.delete(name);
    await this.#apply();
    return 'deleted';
  }

  /**
   * Replaces the ConfigMap layer with the rules in `data` (key → JSON or YAML rule document). Each bad entry is
   * refused on its own and reported with its path (`<key>: PodSidecarNotReady.checkField[0].subField`); the good ones load.
   */
  async loadConfigMap(data: Readonly<Record<string, string>>): Promise<{ loaded: string[]; refused: Violation[] }> {
    const { rules, refused } = rulesFromConfigMap(data);
    this.#configMap = new Map(rules.map((r) => [r.name, r]));
    await this.#apply();
    return { loaded: rules.map((r) => r.name), refused };
  }

  #effective(): RuleSet {
    return new RuleSet(new Map([...this.#configMap, ...this.#api]).values());
  }

  async #apply(): Promise<void> {
    this.#set = this.#effective();
    await this.#onChange(this.#set);
  }

  #view(c: CompiledRule): RuleView {
    const b = c.source.body;
    return {
      name: c.name,
      origin: this.#api.get(c.name) === c ? 'api' : 'configmap',
      resource: b.resource,
      durationSeconds: b.duration,
      severity: b.severity,
      labels: b.labels,
      rule: b,
      cel: c.cel,
      interpreted: c.interpreted,
      references: b.references ?? {},
    };
  }
}

/** Compiles the rules of a ConfigMap's data map; bad entries are reported, not loaded. */
export function rulesFromConfigMap(data: Readonly<Record<string, string>>): { rules: CompiledRule[]; refused: Violation[] } {
  const rules: CompiledRule[] = [];
  const refused: Violation[] = [];
  const seen = new Map<string, string>();
  for (const [key, text] of Object.entries(data).sort(([a], [b]) => (a < b ? -1 : 1))) {
    let doc: unknown;
    try {
      doc = parseYaml(text);
    } catch (err) {
      refused.push({ path: key, message: `not JSON or YAML: ${(err as Error).message.split('\n')[0]}` });
      continue;
    }
    let sources: RuleSource[];
    try {
      sources = parseRuleDocument(doc);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      refused.push(...err.violations.map((v) => ({ path: `${key}: ${v.path}`, message: v.message })));
      continue;
    }
    for (const s of sources) {
      const dup = seen.get(s.name);
      if (dup !== undefined) {
        refused.push({ path: `${key}: ${s.name}`, message: `rule ${s.name} is already defined in ${dup}` });
        continue;
      }
      try {
        rules.push(compileRule(s));
        seen.set(s.name, key);
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        refused.push(...err.violations.map((v) => ({ path: `${key}: ${v.path}`, message: v.message })));
      }
    }
  }
  return { rules, refused };
}
