import type { Projection, ResourceType } from '../kube/object-event.ts';
import { compileRule, type CompiledRule } from './compile-rule.ts';
import { buildProjection, describePaths } from './projection.ts';
import type { RuleSource } from './rule-document.ts';

/**
 * An immutable set of compiled rules, with what the reflectors need from it: which kinds to watch (the rules' own
 * and the kinds they reference) and, per kind, the projection keeping only the fields some rule reads.
 */
export class RuleSet {
  readonly rules: ReadonlyMap<string, CompiledRule>;
  readonly #byKind = new Map<string, CompiledRule[]>();
  readonly #referencing = new Map<string, CompiledRule[]>();
  readonly #paths = new Map<string, string[][]>();
  readonly #resources = new Map<string, ResourceType>();
  readonly #projections = new Map<string, Projection>();

  constructor(rules: Iterable<CompiledRule> = []) {
    const m = new Map<string, CompiledRule>();
    for (const r of rules) m.set(r.name, r);
    this.rules = m;
    for (const r of m.values()) {
      push(this.#byKind, r.resource.kind, r);
      this.#resources.set(r.resource.kind, r.resource);
      for (const ref of r.references) {
        push(this.#referencing, ref.kind.resource.kind, r);
        this.#resources.set(ref.kind.resource.kind, ref.kind.resource);
      }
      for (const [kind, paths] of r.fields) {
        let l = this.#paths.get(kind);
        if (!l) this.#paths.set(kind, (l = []));
        l.push(...paths);
      }
    }
  }

  /** Compiles every source; throws the first rule's ValidationError (nothing is loaded then). */
  static compile(sources: Iterable<RuleSource>): RuleSet {
    return new RuleSet([...sources].map(compileRule));
  }

  /** A new set with `rule` added or replaced. */
  with(rule: CompiledRule): RuleSet {
    return new RuleSet([...[...this.rules.values()].filter((r) => r.name !== rule.name), rule]);
  }

  without(name: string): RuleSet {
    return new RuleSet([...this.rules.values()].filter((r) => r.name !== name));
  }

  /** Rules whose `resource` is this kind. */
  forKind(kind: string): readonly CompiledRule[] {
    return this.#byKind.get(kind) ?? [];
  }

  /** Rules that reference objects of this kind. */
  referencing(kind: string): readonly CompiledRule[] {
    return this.#referencing.get(kind) ?? [];
  }

  /** Every kind to watch. */
  resources(): ResourceType[] {
    return [...this.#resources.values()];
  }

  /** The projection for a kind: identity plus what any rule reads of it. */
  projection(kind: string): Projection {
    let p = this.#projections.get(kind);
    if (!p) this.#projections.set(kind, (p = buildProjection(this.#paths.get(kind) ?? [])));
    return p;
  }

  /** The kept paths of a kind, readable. */
  projectedFields(kind: string): string[] {
    return describePaths(this.#paths.get(kind) ?? []);
  }
}

function push<T>(m: Map<string, T[]>, k: string, v: T): void {
  let l = m.get(k);
  if (!l) m.set(k, (l = []));
  l.push(v);
}
