import { parse, type CelEnv } from '@bufbuild/cel';
import { ValidationError, type Violation } from '../../../src/errors.ts';
import type { ResourceType } from '../kube/object-event.ts';
import { CelTypeError, checkCel, lineCol, type RootVar } from './cel-check.ts';
import { program, ruleEnv, type Program } from './cel-runtime.ts';
import { checkMatch, compileMatch } from './dsl-to-cel.ts';
import { childType, kindInfo, knownKinds, typeName, type FieldType, type KindInfo } from './kinds.ts';
import type { FieldMatch, RuleSource } from './rule-document.ts';

/** A field the event reports as evidence: a path, optionally into the elements of a list picked by an identifier. */
export interface EvidencePath {
  root: string;
  path: string[];
  pick?: { name: string; values: string[]; subField: string[] };
}

export interface CompiledReference {
  name: string;
  kind: KindInfo;
  key: Program;
}

/** A rule ready to run. Every part of `filter` and `condition` must hold (an evaluation error counts as "does not"). */
export interface CompiledRule {
  name: string;
  source: RuleSource;
  kind: KindInfo;
  resource: ResourceType;
  durationMs: number;
  recheckMs: number | undefined;
  severity: 'info' | 'warning' | 'critical';
  labels: Record<string, string>;
  summary: string;
  filter: Program[];
  condition: Program[];
  references: CompiledReference[];
  /** Paths read per kind (`*` = each element of a list), from which the projection is built. */
  fields: Map<string, string[][]>;
  evidence: EvidencePath[];
  /** The whole rule as CEL, for the API. */
  cel: { filter: string; condition: string };
  /**
   * Expressions left to the CEL interpreter (slower) because they use something the compiled closures do not
   * cover, with where they are and why; every other expression runs compiled.
   */
  interpreted: { path: string; reason: string }[];
}

const TEMPLATE = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)((?:\.[A-Za-z0-9_-]+)*)\s*\}\}/g;
const TEMPLATE_WORDS = new Set(['rule', 'key', 'kind', 'name', 'namespace', 'duration']);

let sharedEnv: CelEnv | undefined;
const env = (): CelEnv => (sharedEnv ??= ruleEnv());

function resolvePath(schema: FieldType, path: readonly string[]): string | undefined {
  let t = schema;
  for (const seg of path) {
    const n = childType(t, seg);
    if (n === 'unknown-field' || n === 'mismatch') return `${path.join('.')} does not exist in the schema (${typeName(t)} has no "${seg}")`;
    t = n;
  }
  return undefined;
}

/**
 * Compiles and type-checks one rule. Throws a ValidationError whose violations name where the rule is wrong:
 * `PodSidecarNotReady.checkField[0].subField`, `Foo.condition` (with the CEL error and its line:column).
 */
export function compileRule(source: RuleSource): CompiledRule {
  const { name, body } = source;
  const violations: Violation[] = [];
  const kind = kindInfo(body.resource);
  if (!kind) {
    throw new ValidationError('PODPULSE_ERR_RULE_INVALID', 'invalid rule', [{ path: `${name}.resource`, message: `unknown kind ${JSON.stringify(body.resource)}; known: ${knownKinds().join(', ')}` }]);
  }
  const fields = new Map<string, string[][]>();
  const interpreted: { path: string; reason: string }[] = [];
  const addPaths = (kindName: string, paths: readonly string[][]): void => {
    let l = fields.get(kindName);
    if (!l) fields.set(kindName, (l = []));
    l.push(...paths);
  };

  const roots: RootVar[] = [{ name: 'object', schema: kind.schema }];
  const references: CompiledReference[] = [];
  const refKinds = new Map<string, KindInfo>();
  for (const [refName, ref] of Object.entries(body.references ?? {})) {
    const rk = kindInfo(ref.resource);
    if (!rk) {
      violations.push({ path: `${name}.references.${refName}.resource`, message: `unknown kind ${JSON.stringify(ref.resource)}; known: ${knownKinds().join(', ')}` });
      continue;
    }
    refKinds.set(refName, rk);
    roots.push({ name: refName, schema: rk.schema });
  }

  /** Parses and checks one expression; its reads are added to the projection and returned per root. */
  const celProgram = (src: string, where: string, allowed: readonly RootVar[], resultString = false): { p: Program; reads: Map<string, string[][]> } | undefined => {
    let parsed: ReturnType<typeof parse>;
    try {
      parsed = parse(src);
    } catch (err) {
      violations.push({ path: where, message: `does not parse as CEL: ${(err as Error).message.replace(/^<input>:/, 'at ')}` });
      return undefined;
    }
    let reads: Map<string, string[][]>;
    try {
      reads = checkCel(parsed, allowed, { now: 'timestamp' }, resultString ? 'string' : 'bool').paths;
    } catch (err) {
      if (!(err instanceof CelTypeError)) throw err;
      const at = lineCol(src, err.offset);
      violations.push({ path: where, message: `${at ? `at ${at}: ` : ''}${err.message}` });
      return undefined;
    }
    for (const [root, paths] of reads) {
      const k = root === 'object' ? kind : refKinds.get(root);
      // A root read whole (`node == null`) needs no field: whether it exists is the reference index's business.
      if (k) addPaths(k.resource.kind, paths.filter((p) => p.length > 0));
    }
    const objectOnly = [...reads.keys()].every((root) => root === 'object') && !/\bnow\b/.test(src);
    const p = program(env(), src, parsed, objectOnly);
    if (p.path === 'interpreted') interpreted.push({ path: where, reason: p.fallback ?? 'outside the compiled subset' });
    return { p, reads };
  };

  for (const [refName, ref] of Object.entries(body.references ?? {})) {
    const rk = refKinds.get(refName);
    if (!rk) continue;
    // The key reads the referring object only; a key that is not a string is found when it runs (no reference).
    const c = celProgram(ref.key, `${name}.references.${refName}.key`, [roots[0]!], true);
    if (c) references.push({ name: refName, kind: rk, key: c.p });
  }

  const dsl = (entries: readonly FieldMatch[] | undefined, section: 'filterField' | 'checkField'): Program[] => {
    const out: Program[] = [];
    (entries ?? []).forEach((m, i) => {
      const where = `${name}.${section}[${i}]`;
      const v = checkMatch(kind.schema, m, where);
      if (v.length > 0) {
        violations.push(...v);
        return;
      }
      const c = compileMatch(m);
      addPaths(kind.resource.kind, c.paths);
      const p = celProgram(c.cel, where, roots);
      if (p) out.push(p.p);
    });
    return out;
  };
  const filter = dsl(body.filterField, 'filterField');
  const condition = dsl(body.checkField, 'checkField');
  if (body.filter !== undefined) {
    const c = celProgram(body.filter, `${name}.filter`, roots);
    if (c) filter.push(c.p);
  }
  const cond = body.condition === undefined ? undefined : celProgram(body.condition, `${name}.condition`, roots);
  if (cond) condition.push(cond.p);

  const evidence: EvidencePath[] = (body.checkField ?? []).map((m) =>
    m.subIdentifierName === undefined
      ? { root: 'object', path: m.field }
      : { root: 'object', path: m.field, pick: { name: m.subIdentifierName, values: m.subIdentifierValue!, subField: m.subField! } },
  );
  // What a CEL condition reads is its evidence; a path into list elements is reported as the list.
  for (const [root, paths] of cond?.reads ?? []) {
    for (const p of paths) {
      const cut = p.findIndex((seg) => seg === '*' || seg === '#');
      const upTo = cut < 0 ? p : p.slice(0, cut);
      if (upTo.length > 0 && !evidence.some((e) => e.root === root && e.path.join('.') === upTo.join('.'))) evidence.push({ root, path: upTo });
    }
  }

  const summary = body.summary ?? `${name}: ${body.resource} {{key}}${body.duration > 0 ? ' for {{duration}}' : ''}`;
  for (const m of summary.matchAll(TEMPLATE)) {
    const root = m[1]!;
    const path = (m[2] ?? '').split('.').filter(Boolean);
    if (TEMPLATE_WORDS.has(root) && path.length === 0) continue;
    const k = root === 'object' ? kind : refKinds.get(root);
    if (!k) {
      violations.push({ path: `${name}.summary`, message: `unknown template variable {{${root}}}; use object.<path>, a reference name, or ${[...TEMPLATE_WORDS].join(', ')}` });
      continue;
    }
    const err = resolvePath(k.schema, path);
    if (err) violations.push({ path: `${name}.summary`, message: err });
    else addPaths(k.resource.kind, [path]);
  }

  if (violations.length > 0) throw new ValidationError('PODPULSE_ERR_RULE_INVALID', 'invalid rule', violations);
  return {
    name,
    source,
    kind,
    resource: kind.resource,
    durationMs: body.duration * 1000,
    recheckMs: body.recheckInterval === undefined ? undefined : body.recheckInterval * 1000,
    severity: body.severity,
    labels: body.labels,
    summary,
    filter,
    condition,
    references,
    fields,
    evidence,
    cel: { filter: filter.map((p) => p.src).join(' && ') || 'true', condition: condition.map((p) => p.src).join(' && ') },
    interpreted,
  };
}
