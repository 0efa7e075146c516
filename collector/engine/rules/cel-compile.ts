import type { parse } from '@bufbuild/cel';
import { arith, CEL_ERROR, celEquals, inOp, int, isMap, order, size, STRING_METHODS, UNARY } from './cel-operators.ts';

export { CEL_ERROR } from './cel-operators.ts';

const ERR = CEL_ERROR;

type Expr = ReturnType<typeof parse>['expr'];
type Kind<C extends string> = Extract<Expr['exprKind'], { case: C }>['value'];

/**
 * A compiled expression reads its roots (`object`, references) from `vars` as plain JSON: objects are CEL maps,
 * arrays CEL lists, numbers CEL doubles. Integer literals and results are bigints, as in @bufbuild/cel.
 */
export type Closure = (vars: Readonly<Record<string, unknown>>) => unknown;

/** Why an expression stays with the interpreter: it uses something outside the compiled subset. */
export class Unsupported extends Error {}

export interface CompileOptions {
  /**
   * Evaluates `s.matches(p)` (RE2 syntax) exactly as the interpreter does; the compiled path has no RE2 of its own.
   * Without it, expressions using `matches` stay with the interpreter.
   */
  matches?: (s: string, pattern: string) => boolean | typeof CEL_ERROR;
}

/** What generated code calls (see cel-operators.ts). */
const HELPERS = {
  ERR,
  isMap,
  hasOwn: Object.hasOwn,
  isArray: Array.isArray,
  keys: Object.keys,
  eq: celEquals,
  inOp,
  order,
  arith,
  int,
  size,
  strings: STRING_METHODS,
};

/**
 * Compiles a parsed CEL expression to a JS function with the semantics of @bufbuild/cel's evaluator for the subset
 * rules use: field selection and `has()` on JSON, literals, comparisons, `in`, `&&`/`||`/`!` with CEL's error
 * absorption, `?:`, arithmetic, `size`, string methods, conversions, `text()` and the comprehension macros. Throws
 * `Unsupported` for anything else (timestamps, `now`, uint, bytes, map literals, computed indexes).
 *
 * The function is generated source (one straight-line body per expression, so V8 optimises it as a whole); every
 * value taken from the rule (field names, literals) reaches it through a constants array, never as source text.
 */
export function compileCel(root: Expr, opts: CompileOptions = {}): Closure {
  const consts: unknown[] = [];
  const out: string[] = [];
  let temps = 0;
  const tmp = (): string => `t${temps++}`;
  /** A constant as a hoisted variable of the generated factory. */
  const k = (v: unknown): string => {
    consts.push(v);
    return `K${consts.length - 1}`;
  };
  const line = (s: string): void => {
    out.push(s);
  };
  type Scope = ReadonlyMap<string, string>;

  /** Emits the statements computing `e`; returns the variable (or constant) holding its value. */
  const emit = (e: Expr, scope: Scope): string => {
    const kind = e.exprKind;
    switch (kind.case) {
      case 'constExpr':
        return constant(kind.value);
      case 'identExpr': {
        const name = kind.value.name;
        const local = scope.get(name);
        if (local !== undefined) return local;
        if (name === 'now') throw new Unsupported('reads now (a timestamp)');
        const t = tmp();
        const key = k(name);
        line(`${t} = vars[${key}];`);
        if (name in Object.prototype) line(`if (${t} === undefined || !hasOwn(vars, ${key})) ${t} = ERR;`);
        else line(`if (${t} === undefined) ${t} = ERR;`);
        return t;
      }
      case 'selectExpr': {
        const v: Kind<'selectExpr'> = kind.value;
        const b = emit(v.operand!, scope);
        const t = tmp();
        const f = k(v.field);
        if (v.testOnly) {
          line(`if (${b} === ERR) ${t} = ERR; else if (!isMap(${b}) || !hasOwn(${b}, ${f})) ${t} = false; else ${t} = ${b}[${f}] != null;`);
        } else select(t, b, v.field, f);
        return t;
      }
      case 'listExpr': {
        if (kind.value.optionalIndices.length > 0) throw new Unsupported('optional list elements');
        const elems = kind.value.elements;
        if (elems.every((x) => x.exprKind.case === 'constExpr')) {
          return k(elems.map((x) => constValue((x.exprKind as { value: Kind<'constExpr'> }).value)));
        }
        const t = tmp();
        line(`${t} = [];`);
        line(`do {`);
        for (const x of elems) {
          const v = emit(x, scope);
          line(`if (${v} === ERR) { ${t} = ERR; break; } ${t}.push(${v});`);
        }
        line(`} while (false);`);
        return t;
      }
      case 'comprehensionExpr':
        return comprehension(kind.value, scope);
      case 'callExpr':
        return call(kind.value, scope);
      case 'structExpr':
        throw new Unsupported(kind.value.messageName ? 'message construction' : 'map literal');
      default:
        throw new Unsupported('unknown expression kind');
    }
  };

  const constValue = (c: Kind<'constExpr'>): unknown => {
    const ck = c.constantKind;
    switch (ck.case) {
      case 'nullValue':
        return null;
      case 'boolValue':
      case 'stringValue':
      case 'doubleValue':
      case 'int64Value':
        return ck.value;
      default:
        throw new Unsupported(`${ck.case ?? 'empty'} literal`);
    }
  };
  const constant = (c: Kind<'constExpr'>): string => k(constValue(c));

  /** `t = b.field`: a missing key is an error; a key holding null (or undefined) reads null. */
  const select = (t: string, b: string, field: string, f: string): void => {
    if (field in Object.prototype) {
      line(`${t} = isMap(${b}) && hasOwn(${b}, ${f}) ? (${b}[${f}] ?? null) : ERR;`);
      return;
    }
    line(`if (typeof ${b} !== 'object' || ${b} === null || isArray(${b})) ${t} = ERR;`);
    line(`else { ${t} = ${b}[${f}]; if (${t} === undefined) ${t} = hasOwn(${b}, ${f}) ? null : ERR; }`);
  };

  const comprehension = (c: Kind<'comprehensionExpr'>, scope: Scope): string => {
    if (c.iterVar2) throw new Unsupported('two-variable comprehension');
    const t = tmp();
    const accu = tmp();
    const iter = tmp();
    const items = tmp();
    const i = tmp();
    const failed = tmp();
    const init = emit(c.accuInit!, scope);
    line(`if (${init} === ERR) ${t} = ERR; else {`);
    const range = emit(c.iterRange!, scope);
    line(`${items} = isArray(${range}) ? ${range} : isMap(${range}) ? keys(${range}) : undefined;`);
    line(`if (${range} === ERR || ${items} === undefined) ${t} = ERR; else {`);
    line(`${accu} = ${init}; ${failed} = false;`);
    line(`for (${i} = 0; ${i} < ${items}.length; ${i}++) {`);
    line(`${iter} = ${items}[${i}] ?? null;`);
    const withAccu = new Map(scope).set(c.accuVar, accu);
    const inLoop = new Map(withAccu).set(c.iterVar, iter);
    const cond = emit(c.loopCondition!, inLoop);
    line(`if (${cond} === ERR) { ${failed} = true; break; } if (${cond} !== true) break;`);
    const step = emit(c.loopStep!, inLoop);
    line(`${accu} = ${step};`);
    line(`}`);
    line(`if (${failed}) ${t} = ERR; else {`);
    const result = emit(c.result!, withAccu);
    line(`${t} = ${result};`);
    line(`}}}`);
    return t;
  };

  /** Arguments evaluated in order, the first error winning (the interpreter's EvalCall); then `apply`. */
  const strict = (args: readonly Expr[], scope: Scope, apply: (vs: string[]) => string, target?: Expr): string => {
    const t = tmp();
    const vs: string[] = [];
    let open = 0;
    for (const a of target ? [target, ...args] : args) {
      const v = emit(a, scope);
      vs.push(v);
      // A literal is never an error.
      if (a.exprKind.case === 'constExpr') continue;
      line(`if (${v} === ERR) ${t} = ERR; else {`);
      open++;
    }
    line(`${t} = ${apply(vs)};`);
    line('}'.repeat(open));
    return t;
  };

  const call = (c: Kind<'callExpr'>, scope: Scope): string => {
    const fn = c.function;
    const args = c.args;
    if (c.target) return method(fn, c.target, args, scope);
    switch (fn) {
      case '_&&_':
      case '_||_': {
        if (args.length !== 2) throw new Unsupported('logical arity');
        const stop = fn === '_||_';
        const t = tmp();
        const x = emit(args[0]!, scope);
        line(`if (${x} === ${stop}) ${t} = ${stop}; else {`);
        const y = emit(args[1]!, scope);
        line(`${t} = ${y} === ${stop} ? ${stop} : ${x} === ${!stop} && ${y} === ${!stop} ? ${!stop} : ERR;`);
        line('}');
        return t;
      }
      case '!_':
        return strict(args, scope, ([x]) => `${x} === true ? false : ${x} === false ? true : ERR`);
      case '@not_strictly_false':
      case 'not_strictly_false': {
        const t = tmp();
        const x = emit(args[0]!, scope);
        line(`${t} = ${x} !== false;`);
        return t;
      }
      case '_?_:_': {
        const t = tmp();
        const x = emit(args[0]!, scope);
        line(`if (${x} === true) {`);
        line(`${t} = ${emit(args[1]!, scope)};`);
        line(`} else if (${x} === false) {`);
        line(`${t} = ${emit(args[2]!, scope)};`);
        line(`} else ${t} = ERR;`);
        return t;
      }
      case '_==_':
      case '_!=_': {
        // Against null, a string or a bool literal, CEL equality is identity: no int/double or container case applies.
        const identity = args.some((a) => a.exprKind.case === 'constExpr' && ['nullValue', 'stringValue', 'boolValue'].includes(a.exprKind.value.constantKind.case ?? ''));
        if (fn === '_==_') return strict(args, scope, ([x, y]) => (identity ? `${x} === ${y}` : `${x} === ${y} || H.eq(${x}, ${y})`));
        return strict(args, scope, ([x, y]) => (identity ? `${x} !== ${y}` : `${x} !== ${y} && !H.eq(${x}, ${y})`));
      }
      case '_<_':
      case '_<=_':
      case '_>_':
      case '_>=_': {
        const op = k(fn.slice(1, -1));
        return strict(args, scope, ([x, y]) => `H.order(${op}, ${x}, ${y})`);
      }
      case '_+_':
      case '_-_':
      case '_*_':
      case '_/_':
      case '_%_': {
        const op = k(fn.slice(1, -1));
        return strict(args, scope, ([x, y]) => `H.arith(${op}, ${x}, ${y})`);
      }
      case '-_':
        return strict(args, scope, ([x]) => `typeof ${x} === 'bigint' ? H.int(-${x}) : typeof ${x} === 'number' ? -${x} : ERR`);
      case '@in': {
        const list = args[1]!.exprKind;
        if (list.case === 'listExpr' && list.value.optionalIndices.length === 0 && list.value.elements.length > 0 && list.value.elements.every((x) => x.exprKind.case === 'constExpr' && x.exprKind.value.constantKind.case === 'stringValue')) {
          // A string against string literals is a set lookup; anything else goes through CEL equality.
          const set = k(new Set(list.value.elements.map((x) => (x.exprKind as { value: Kind<'constExpr'> }).value.constantKind.value)));
          return strict(args, scope, ([x, y]) => `typeof ${x} === 'string' ? ${set}.has(${x}) : H.inOp(${x}, ${y})`);
        }
        return strict(args, scope, ([x, y]) => `H.inOp(${x}, ${y})`);
      }
      case '_[_]':
        return index(args, scope);
    }
    if (Object.hasOwn(UNARY, fn) && args.length === 1) {
      const f = k(UNARY[fn]);
      return strict(args, scope, ([x]) => `${f}(${x})`);
    }
    throw new Unsupported(`function ${fn}`);
  };

  const index = (args: readonly Expr[], scope: Scope): string => {
    const key = args[1]!.exprKind;
    if (key.case === 'constExpr' && key.value.constantKind.case === 'stringValue') {
      const b = emit(args[0]!, scope);
      const t = tmp();
      line(`if (${b} === ERR) ${t} = ERR; else {`);
      select(t, b, key.value.constantKind.value, k(key.value.constantKind.value));
      line('}');
      return t;
    }
    if (key.case === 'constExpr' && key.value.constantKind.case === 'int64Value') {
      const i = key.value.constantKind.value;
      const b = emit(args[0]!, scope);
      const t = tmp();
      // A JSON map has no integer keys; a list index must be in range.
      if (i < 0n || i > 2n ** 32n) line(`${t} = ERR;`);
      else line(`${t} = isArray(${b}) && ${Number(i)} < ${b}.length ? (${b}[${Number(i)}] ?? null) : ERR;`);
      return t;
    }
    throw new Unsupported('index that is not a string or int literal');
  };

  const method = (fn: string, target: Expr, args: readonly Expr[], scope: Scope): string => {
    if (fn === 'size' && args.length === 0) return strict([], scope, ([x]) => `H.size(${x})`, target);
    if (Object.hasOwn(STRING_METHODS, fn) && args.length === 1) {
      const f = k(fn);
      return strict(args, scope, ([x, y]) => `typeof ${x} === 'string' && typeof ${y} === 'string' ? H.strings[${f}](${x}, ${y}) : ERR`, target);
    }
    if (fn === 'matches' && args.length === 1 && opts.matches) {
      const m = k(opts.matches);
      return strict(args, scope, ([x, y]) => `typeof ${x} === 'string' && typeof ${y} === 'string' ? ${m}(${x}, ${y}) : ERR`, target);
    }
    throw new Unsupported(`method ${fn}`);
  };

  const result = emit(root, new Map());
  const temporaries = Array.from({ length: temps }, (_, i) => `t${i}`);
  const source = [
    `const ERR = H.ERR;`,
    // Hoisted so that the body calls them directly rather than through property loads on H.
    `const { isMap, hasOwn, isArray, keys } = H;`,
    ...consts.map((_, i) => `const K${i} = K[${i}];`),
    `return function evaluate(vars) {`,
    temporaries.length > 0 ? `let ${temporaries.join(', ')};` : '',
    ...out,
    `return ${result};`,
    `};`,
  ].join('\n');
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- generated from the checked expression tree; rule text reaches it only through K.
  const factory = new Function('H', 'K', source) as (h: typeof HELPERS, k: unknown[]) => Closure;
  return factory(HELPERS, consts);
}
