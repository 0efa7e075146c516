import type { parse } from '@bufbuild/cel';
import { childType, typeName, type FieldType } from './kinds.ts';

type Parsed = ReturnType<typeof parse>;
type Expr = Parsed['expr'];
type Kind<C extends string> = Extract<Expr['exprKind'], { case: C }>['value'];

/**
 * The static types the checker tells apart. `field` carries the Kubernetes schema type of a path into an object,
 * so `object.status.phase == 3` and `object.status.phase.x` are refused when the rule is loaded.
 */
type CT =
  | { k: 'dyn' | 'bool' | 'int' | 'uint' | 'double' | 'string' | 'bytes' | 'null' | 'timestamp' | 'duration' | 'type' }
  | { k: 'list'; elem: CT }
  | { k: 'map'; value: CT }
  | { k: 'field'; ft: FieldType };

/** Where a value comes from: a root variable (`object` or a reference) and the path below it. */
interface Origin {
  root: string;
  path: string[];
}

interface Typed {
  t: CT;
  origin?: Origin;
}

/** A root variable: `object`, a reference (nullable), with its schema. */
export interface RootVar {
  name: string;
  schema: FieldType;
}

export interface CheckResult {
  /**
   * Paths read, per root variable: a path keeps its whole subtree; `*` stands for every element of a list; a
   * path ending in `#` only needs its last step present (has(), a null test, the list a loop runs over).
   */
  paths: Map<string, string[][]>;
}

const DYN: CT = { k: 'dyn' };
const BOOL: CT = { k: 'bool' };
const INT: CT = { k: 'int' };
const STRING: CT = { k: 'string' };
const s = (k: 'dyn' | 'bool' | 'int' | 'uint' | 'double' | 'string' | 'bytes' | 'null' | 'timestamp' | 'duration' | 'type'): CT => ({ k });

/** The CEL type of a schema type: scalars are what the JSON holds, containers keep their schema. */
function fromField(ft: FieldType): CT {
  switch (ft.t) {
    case 'string':
      return STRING;
    case 'bool':
      return BOOL;
    case 'int':
      // JSON numbers arrive as doubles; integer-valued fields still compare with int literals (CEL's numeric equality).
      return s('double');
    case 'dyn':
      return DYN;
    default:
      return { k: 'field', ft };
  }
}

const isNum = (t: CT): boolean => t.k === 'int' || t.k === 'uint' || t.k === 'double';
const shape = (t: CT): string => (t.k === 'field' ? typeName(t.ft) : t.k === 'list' ? `list(${shape(t.elem)})` : t.k === 'map' ? `map(string, ${shape(t.value)})` : t.k);
const isList = (t: CT): boolean => t.k === 'list' || (t.k === 'field' && t.ft.t === 'list');
const isMap = (t: CT): boolean => t.k === 'map' || (t.k === 'field' && (t.ft.t === 'map' || t.ft.t === 'object'));

/** Whether values of the two types can ever be equal (dyn and null go with anything; numbers with numbers). */
function comparable(a: CT, b: CT): boolean {
  if (a.k === 'dyn' || b.k === 'dyn' || a.k === 'null' || b.k === 'null') return true;
  if (isNum(a) && isNum(b)) return true;
  if (isList(a) && isList(b)) return true;
  if (isMap(a) && isMap(b)) return true;
  return a.k === b.k && a.k !== 'field';
}

/** Result types of the functions a rule may call (standard CEL plus `text`); undefined means "not a function". */
const FUNCS: Record<string, { args: number[]; method?: boolean; global?: boolean; result: CT }> = {
  size: { args: [0, 1], method: true, global: true, result: INT },
  contains: { args: [1], method: true, result: BOOL },
  startsWith: { args: [1], method: true, result: BOOL },
  endsWith: { args: [1], method: true, result: BOOL },
  matches: { args: [1, 2], method: true, global: true, result: BOOL },
  int: { args: [1], global: true, result: INT },
  uint: { args: [1], global: true, result: s('uint') },
  double: { args: [1], global: true, result: s('double') },
  string: { args: [1], global: true, result: STRING },
  bool: { args: [1], global: true, result: BOOL },
  bytes: { args: [1], global: true, result: s('bytes') },
  timestamp: { args: [1], global: true, result: s('timestamp') },
  duration: { args: [1], global: true, result: s('duration') },
  dyn: { args: [1], global: true, result: DYN },
  type: { args: [1], global: true, result: s('type') },
  text: { args: [1], global: true, result: STRING },
  getFullYear: { args: [0, 1], method: true, result: INT },
  getMonth: { args: [0, 1], method: true, result: INT },
  getDayOfMonth: { args: [0, 1], method: true, result: INT },
  getDayOfWeek: { args: [0, 1], method: true, result: INT },
  getHours: { args: [0, 1], method: true, result: INT },
  getMinutes: { args: [0, 1], method: true, result: INT },
  getSeconds: { args: [0, 1], method: true, result: INT },
  getMilliseconds: { args: [0, 1], method: true, result: INT },
};

export class CelTypeError extends Error {
  readonly offset: number | undefined;
  constructor(message: string, offset: number | undefined) {
    super(message);
    this.name = 'CelTypeError';
    this.offset = offset;
  }
}

/**
 * Type-checks a parsed rule expression: every identifier declared, every function known with a valid arity,
 * operands of compatible types, paths into Kubernetes objects that exist in the kind's schema and are not read
 * past a scalar, and a boolean result. Collects the paths read, for the projection.
 */
export function checkCel(parsed: Parsed, roots: readonly RootVar[], extra: Readonly<Record<string, 'timestamp' | 'string'>> = {}, result: 'bool' | 'string' = 'bool'): CheckResult {
  const positions = parsed.sourceInfo?.positions ?? {};
  const paths = new Map<string, string[][]>();
  const fail = (e: Expr, msg: string): never => {
    throw new CelTypeError(msg, positions[e.id.toString()]);
  };
  const use = (o: Origin | undefined): void => {
    if (!o) return;
    let l = paths.get(o.root);
    if (!l) paths.set(o.root, (l = []));
    l.push(o.path);
  };
  const presence = (o: Origin | undefined): void => {
    if (o) use({ root: o.root, path: [...o.path, '#'] });
  };
  const rootByName = new Map(roots.map((r) => [r.name, r]));
  type Scope = Map<string, Typed>;

  const sel = (e: Expr, base: Typed, field: string): Typed => {
    const t = base.t;
    if (t.k === 'field') {
      const next = childType(t.ft, field);
      const where = base.origin ? [base.origin.root, ...base.origin.path].join('.') : 'value';
      if (next === 'unknown-field') fail(e, `${where} has no field "${field}"`);
      if (next === 'mismatch') fail(e, `field type mismatch: ${where} is ${typeName(t.ft)}, so it has no field "${field}"`);
      return { t: fromField(next as FieldType), ...(base.origin ? { origin: { root: base.origin.root, path: [...base.origin.path, field] } } : {}) };
    }
    if (t.k === 'map') return { t: t.value };
    if (t.k === 'dyn') return { t: DYN, ...(base.origin ? { origin: { root: base.origin.root, path: [...base.origin.path, field] } } : {}) };
    return fail(e, `field type mismatch: a ${shape(t)} has no field "${field}"`);
  };

  /** `terminal` is false when the caller reads further into the value (select, index, iteration). */
  const walk = (e: Expr, scope: Scope, terminal: boolean): Typed => {
    const r = node(e, scope);
    if (terminal) use(r.origin);
    return r;
  };

  const node = (e: Expr, scope: Scope): Typed => {
    const k = e.exprKind;
    switch (k.case) {
      case 'constExpr': {
        const c = k.value.constantKind.case;
        const map: Record<string, CT> = { nullValue: s('null'), boolValue: BOOL, int64Value: INT, uint64Value: s('uint'), doubleValue: s('double'), stringValue: STRING, bytesValue: s('bytes') };
        return { t: (c && map[c]) ?? DYN };
      }
      case 'identExpr': {
        const name = k.value.name;
        const local = scope.get(name);
        if (local) return local;
        const root = rootByName.get(name);
        if (root) return { t: { k: 'field', ft: root.schema }, origin: { root: name, path: [] } };
        const x = extra[name];
        if (x) return { t: s(x) };
        return fail(e, `undeclared reference to '${name}' (declared: ${[...rootByName.keys(), ...Object.keys(extra)].join(', ')})`);
      }
      case 'selectExpr': {
        const v: Kind<'selectExpr'> = k.value;
        const base = walk(v.operand!, scope, false);
        const r = sel(e, base, v.field);
        if (v.testOnly) {
          // has() needs the key to be there, not what is under it.
          presence(r.origin);
          return { t: BOOL };
        }
        return r;
      }
      case 'listExpr': {
        const elems = k.value.elements.map((x) => walk(x, scope, true).t);
        const first = elems[0];
        return { t: { k: 'list', elem: first && elems.every((x) => x.k === first.k) ? first : DYN } };
      }
      case 'structExpr': {
        if (k.value.messageName) return fail(e, `message construction (${k.value.messageName}) is not available in rules`);
        for (const en of k.value.entries) {
          if (en.keyKind.case === 'mapKey') walk(en.keyKind.value, scope, true);
          if (en.value) walk(en.value, scope, true);
        }
        return { t: { k: 'map', value: DYN } };
      }
      case 'comprehensionExpr': {
        const c: Kind<'comprehensionExpr'> = k.value;
        const range = walk(c.iterRange!, scope, false);
        let elem: Typed;
        if (range.t.k === 'list') elem = { t: range.t.elem };
        else if (range.t.k === 'field' && range.t.ft.t === 'list') {
          elem = { t: fromField(range.t.ft.element), ...(range.origin ? { origin: { root: range.origin.root, path: [...range.origin.path, '*'] } } : {}) };
        } else if (isMap(range.t)) {
          // Iterating a map yields its keys; the map itself is read whole.
          use(range.origin);
          elem = { t: STRING };
        } else if (range.t.k === 'dyn') {
          elem = { t: DYN, ...(range.origin ? { origin: { root: range.origin.root, path: [...range.origin.path, '*'] } } : {}) };
        } else return fail(c.iterRange!, `field type mismatch: cannot iterate over a ${shape(range.t)}`);
        // The list itself is kept (its length matters), its elements only as far as the loop reads them.
        if (range.origin && range.t.k !== 'map') presence({ root: range.origin.root, path: [...range.origin.path, '*'] });
        const inner: Scope = new Map(scope);
        inner.set(c.iterVar, elem);
        const accu = walk(c.accuInit!, scope, true);
        inner.set(c.accuVar, accu);
        walk(c.loopCondition!, inner, true);
        walk(c.loopStep!, inner, true);
        return { t: walk(c.result!, inner, true).t };
      }
      case 'callExpr':
        return call(e, k.value, scope);
      default:
        return fail(e, 'unsupported expression');
    }
  };

  const want = (e: Expr, t: CT, what: string, ok: (t: CT) => boolean): void => {
    if (t.k !== 'dyn' && !ok(t)) fail(e, `field type mismatch: ${what} must be ${ok === isBool ? 'bool' : 'of another type'}, got ${shape(t)}`);
  };
  const isBool = (t: CT): boolean => t.k === 'bool';

  const call = (e: Expr, c: Kind<'callExpr'>, scope: Scope): Typed => {
    const fn = c.function;
    const args = c.args;
    switch (fn) {
      case '_&&_':
      case '_||_':
      case '!_':
      case '@not_strictly_false':
      case 'not_strictly_false': {
        for (const a of args) want(a, walk(a, scope, true).t, `an operand of ${fn.replaceAll('_', ' ').trim()}`, isBool);
        return { t: BOOL };
      }
      case '_==_':
      case '_!=_': {
        const a = walk(args[0]!, scope, false);
        const b = walk(args[1]!, scope, false);
        // Compared with null, only presence is read: `x != null` must not keep all of a list or map.
        if (b.t.k === 'null') presence(a.origin);
        else use(a.origin);
        if (a.t.k === 'null') presence(b.origin);
        else use(b.origin);
        if (!comparable(a.t, b.t)) {
          const name = (x: Typed): string => (x.origin ? `${[x.origin.root, ...x.origin.path].join('.')} (${shape(x.t)})` : shape(x.t));
          fail(e, `field type mismatch: ${name(a)} is compared with ${name(b)}; they are never equal`);
        }
        return { t: BOOL };
      }
      case '_<_':
      case '_<=_':
      case '_>_':
      case '_>=_': {
        const a = walk(args[0]!, scope, true).t;
        const b = walk(args[1]!, scope, true).t;
        const ordered = (t: CT): boolean => isNum(t) || t.k === 'string' || t.k === 'timestamp' || t.k === 'duration' || t.k === 'bytes' || t.k === 'bool';
        if (a.k !== 'dyn' && !ordered(a)) fail(e, `field type mismatch: a ${shape(a)} cannot be ordered`);
        if (b.k !== 'dyn' && !ordered(b)) fail(e, `field type mismatch: a ${shape(b)} cannot be ordered`);
        if (a.k !== 'dyn' && b.k !== 'dyn' && !(isNum(a) && isNum(b)) && a.k !== b.k) fail(e, `field type mismatch: ${shape(a)} compared with ${shape(b)}`);
        return { t: BOOL };
      }
      case '_+_':
      case '_-_':
      case '_*_':
      case '_/_':
      case '_%_': {
        const a = walk(args[0]!, scope, true).t;
        const b = walk(args[1]!, scope, true).t;
        if (a.k === 'bool' || b.k === 'bool' || a.k === 'null' || b.k === 'null' || (a.k === 'field' && !isList(a)) || (b.k === 'field' && !isList(b))) {
          fail(e, `field type mismatch: no ${fn.replaceAll('_', '')} for ${shape(a)} and ${shape(b)}`);
        }
        if (a.k !== 'dyn' && b.k !== 'dyn' && a.k !== b.k && !(isNum(a) && isNum(b)) && !(a.k === 'timestamp' && b.k === 'duration') && !(isList(a) && isList(b))) {
          fail(e, `field type mismatch: no ${fn.replaceAll('_', '')} for ${shape(a)} and ${shape(b)}`);
        }
        if (a.k === 'timestamp' && b.k === 'timestamp') return { t: s('duration') };
        return { t: a.k === 'dyn' ? b : a };
      }
      case '-_': {
        const a = walk(args[0]!, scope, true).t;
        if (a.k !== 'dyn' && !isNum(a) && a.k !== 'duration') fail(e, `field type mismatch: cannot negate a ${shape(a)}`);
        return { t: a };
      }
      case '_?_:_': {
        want(args[0]!, walk(args[0]!, scope, true).t, 'the condition of ?:', isBool);
        const a = walk(args[1]!, scope, true).t;
        const b = walk(args[2]!, scope, true).t;
        return { t: a.k === b.k ? a : DYN };
      }
      case '_[_]': {
        const base = walk(args[0]!, scope, false);
        const idx = walk(args[1]!, scope, true);
        const key = args[1]!.exprKind;
        if (key.case === 'constExpr' && key.value.constantKind.case === 'stringValue') return sel(e, base, key.value.constantKind.value);
        if (isList(base.t)) {
          if (idx.t.k !== 'dyn' && !isNum(idx.t)) fail(e, `field type mismatch: a list index must be an int, got ${shape(idx.t)}`);
          if (base.t.k === 'list') return { t: base.t.elem };
          const ft = (base.t as { k: 'field'; ft: Extract<FieldType, { t: 'list' }> }).ft;
          return { t: fromField(ft.element), ...(base.origin ? { origin: { root: base.origin.root, path: [...base.origin.path, '*'] } } : {}) };
        }
        // A computed key: the map is read whole.
        use(base.origin);
        if (base.t.k === 'map') return { t: base.t.value };
        if (base.t.k === 'field' && base.t.ft.t === 'map') return { t: fromField(base.t.ft.value) };
        if (base.t.k === 'dyn' || base.t.k === 'field') return { t: DYN };
        return fail(e, `field type mismatch: a ${shape(base.t)} cannot be indexed`);
      }
      case '@in': {
        walk(args[0]!, scope, true);
        const rhs = walk(args[1]!, scope, false);
        const r = rhs.t;
        const key = args[0]!.exprKind;
        // `"k" in map` reads whether one key is there, not the whole map.
        if (key.case === 'constExpr' && key.value.constantKind.case === 'stringValue' && isMap(r) && rhs.origin) {
          presence({ root: rhs.origin.root, path: [...rhs.origin.path, key.value.constantKind.value] });
        } else use(rhs.origin);
        if (r.k !== 'dyn' && !isList(r) && !isMap(r)) fail(e, `field type mismatch: "in" needs a list or map on its right, got ${shape(r)}`);
        return { t: BOOL };
      }
    }
    const f = FUNCS[fn];
    if (!f) return fail(e, `unknown function '${fn}'`);
    const isMethod = c.target !== undefined;
    if (isMethod && !f.method) return fail(e, `'${fn}' is a function, not a method: write ${fn}(x)`);
    if (!isMethod && !f.global) return fail(e, `'${fn}' is a method: write x.${fn}(...)`);
    if (!f.args.includes(args.length)) return fail(e, `'${fn}' takes ${f.args.join(' or ')} argument${f.args.length === 1 && f.args[0] === 1 ? '' : 's'}, got ${args.length}`);
    const target = c.target ? walk(c.target, scope, true).t : undefined;
    const argTypes = args.map((a) => walk(a, scope, true).t);
    if ((fn === 'startsWith' || fn === 'endsWith' || fn === 'contains' || fn === 'matches') && target && target.k !== 'dyn' && target.k !== 'string') {
      fail(e, `field type mismatch: ${fn} needs a string, got ${shape(target)}`);
    }
    if (fn === 'size') {
      const x = target ?? argTypes[0];
      if (x && x.k !== 'dyn' && x.k !== 'string' && x.k !== 'bytes' && !isList(x) && !isMap(x)) fail(e, `field type mismatch: size of a ${shape(x)}`);
    }
    if ((fn === 'timestamp' || fn === 'duration') && argTypes[0] && argTypes[0].k !== 'dyn' && argTypes[0].k !== 'string' && argTypes[0].k !== fn) {
      fail(e, `field type mismatch: ${fn}() needs a string, got ${shape(argTypes[0])}`);
    }
    return { t: f.result };
  };

  const out = walk(parsed.expr, new Map(), true).t;
  if (out.k !== result && out.k !== 'dyn') fail(parsed.expr, `must evaluate to ${result}, got ${shape(out)}`);
  return { paths };
}

/** `line:column` of a source offset. */
export function lineCol(src: string, offset: number | undefined): string {
  if (offset === undefined) return '';
  const before = src.slice(0, offset);
  const line = before.split('\n').length;
  const col = offset - before.lastIndexOf('\n');
  return `${line}:${col}`;
}
