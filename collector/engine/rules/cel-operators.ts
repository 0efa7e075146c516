/**
 * The operators of compiled CEL expressions, on values as JSON holds them (objects are CEL maps, arrays CEL lists,
 * numbers CEL doubles) plus bigints for CEL ints. Each gives exactly what @bufbuild/cel's standard library gives
 * for the same operands, CEL_ERROR where it reports an error ("no matching overload", overflow, division by zero).
 */

/**
 * The result of an evaluation that failed (a missing field, a type with no such operator, an overflow). Rules treat
 * it as "does not hold"; `&&`, `||` and the macros absorb it as CEL does.
 */
export const CEL_ERROR: unique symbol = Symbol('cel-error');

const ERR = CEL_ERROR;
const MAX_INT = 9223372036854775807n;
const MIN_INT = -9223372036854775808n;

export const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
export const int = (v: bigint): bigint | typeof ERR => (v >= MIN_INT && v <= MAX_INT ? v : ERR);

/** CEL equality: numbers across int and double, lists and maps element by element, otherwise same type and value. */
export function celEquals(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  const ta = typeof a;
  const tb = typeof b;
  if ((ta === 'number' || ta === 'bigint') && (tb === 'number' || tb === 'bigint')) return (a as number) == (b as number);
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!celEquals(a[i] ?? null, b[i] ?? null)) return false;
    return true;
  }
  if (isMap(a)) {
    if (!isMap(b)) return false;
    const keys = Object.keys(a);
    if (keys.length !== Object.keys(b).length) return false;
    for (const k of keys) if (!Object.hasOwn(b, k) || !celEquals(a[k] ?? null, b[k] ?? null)) return false;
    return true;
  }
  return false;
}

/** `x in list` (equality) and `key in map` (a key holding null counts as absent, as in @bufbuild/cel). */
export function inOp(a: unknown, b: unknown): unknown {
  if (Array.isArray(b)) {
    for (const x of b) if (celEquals(x ?? null, a)) return true;
    return false;
  }
  if (isMap(b)) {
    switch (typeof a) {
      case 'string':
        return Object.hasOwn(b, a) && b[a] !== null && b[a] !== undefined;
      case 'number':
      case 'bigint':
      case 'boolean':
        // A JSON map has only string keys.
        return false;
      default:
        return ERR;
    }
  }
  return ERR;
}

type Ord = '<' | '<=' | '>' | '>=';
export function order(op: Ord, a: unknown, b: unknown): unknown {
  const ta = typeof a;
  const tb = typeof b;
  let x: number | bigint | string | boolean;
  let y: number | bigint | string | boolean;
  if (ta === tb && (ta === 'number' || ta === 'bigint' || ta === 'string' || ta === 'boolean')) {
    x = a as number;
    y = b as number;
  } else if (ta === 'bigint' && tb === 'number') {
    x = Number(a);
    y = b as number;
  } else if (ta === 'number' && tb === 'bigint') {
    x = a as number;
    y = Number(b);
  } else return ERR;
  switch (op) {
    case '<':
      return x < y;
    case '<=':
      return x <= y;
    case '>':
      return x > y;
    case '>=':
      return x >= y;
  }
}

export function arith(op: '+' | '-' | '*' | '/' | '%', a: unknown, b: unknown): unknown {
  const ta = typeof a;
  if (ta !== typeof b) return ERR;
  if (ta === 'bigint') {
    const x = a as bigint;
    const y = b as bigint;
    switch (op) {
      case '+':
        return int(x + y);
      case '-':
        return int(x - y);
      case '*':
        return int(x * y);
      case '/':
        return y === 0n ? ERR : int(x / y);
      case '%':
        return y === 0n ? ERR : x % y;
    }
  }
  if (ta === 'number') {
    const x = a as number;
    const y = b as number;
    switch (op) {
      case '+':
        return x + y;
      case '-':
        return x - y;
      case '*':
        return x * y;
      case '/':
        return x / y;
      case '%':
        return ERR;
    }
  }
  if (op === '+') {
    if (ta === 'string') return (a as string) + (b as string);
    if (Array.isArray(a) && Array.isArray(b)) return [...(a as unknown[]), ...(b as unknown[])];
  }
  return ERR;
}

function toInt(v: unknown): unknown {
  switch (typeof v) {
    case 'bigint':
      return v;
    case 'number':
      return Number.isFinite(v) && v > Number(MIN_INT) && v < Number(MAX_INT) ? BigInt(Math.trunc(v)) : ERR;
    case 'string':
      try {
        return int(BigInt(v));
      } catch {
        return ERR;
      }
    default:
      return ERR;
  }
}

function toDouble(v: unknown): unknown {
  switch (typeof v) {
    case 'number':
      return v;
    case 'bigint':
      return Number(v);
    case 'string':
      return Number(v);
    default:
      return ERR;
  }
}

function toStr(v: unknown): unknown {
  switch (typeof v) {
    case 'string':
      return v;
    case 'boolean':
    case 'bigint':
    case 'number':
      return String(v);
    default:
      return ERR;
  }
}

const TRUE_TEXT = new Set(['true', 'True', 'TRUE', 't', '1']);
const FALSE_TEXT = new Set(['false', 'False', 'FALSE', 'f', '0']);
function toBool(v: unknown): unknown {
  if (typeof v === 'boolean') return v;
  if (typeof v !== 'string') return ERR;
  return TRUE_TEXT.has(v) ? true : FALSE_TEXT.has(v) ? false : ERR;
}

export function size(v: unknown): unknown {
  if (typeof v === 'string') {
    let n = 0;
    for (const _ of v) n++;
    return BigInt(n);
  }
  if (Array.isArray(v)) return BigInt(v.length);
  if (isMap(v)) return BigInt(Object.keys(v).length);
  return ERR;
}

/** JSON as the interpreter's `text()` writes it: integers as numbers, absent values as null. */
function plainJson(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (v === undefined || v === null) return null;
  if (Array.isArray(v)) return v.map(plainJson);
  // fromEntries keeps a key named `__proto__` as a key, as the interpreter's rendering does.
  if (isMap(v)) return Object.fromEntries(Object.keys(v).map((k) => [k, plainJson(v[k])]));
  return v;
}

/** The DSL's rendering of a value (see `renderText` in cel-runtime.ts). */
export function textOf(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean' || typeof v === 'number' || typeof v === 'bigint') return String(v);
  return JSON.stringify(plainJson(v));
}

type StringMethod = (s: string, arg: string) => unknown;
export const STRING_METHODS: Record<string, StringMethod> = {
  contains: (s, a) => s.includes(a),
  startsWith: (s, a) => s.startsWith(a),
  endsWith: (s, a) => s.endsWith(a),
};

/** Functions of one argument, called globally: `int(x)`, `size(x)`. */
export const UNARY: Record<string, (v: unknown) => unknown> = {
  int: toInt,
  double: toDouble,
  string: toStr,
  bool: toBool,
  dyn: (v) => v,
  size,
  text: textOf,
};

