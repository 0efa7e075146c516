import { celEnv, celFunc, celList, celMap, CelScalar, isCelError, isCelList, isCelMap, parse, plan, type CelEnv, type CelInput, type CelValue } from '@bufbuild/cel';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import { CEL_ERROR, compileCel, Unsupported } from './cel-compile.ts';

export { CEL_ERROR } from './cel-compile.ts';

/** Renders a value as the DSL compares it: strings as they are, booleans and numbers as JSON writes them. */
export function renderText(v: CelValue): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean' || typeof v === 'number' || typeof v === 'bigint') return String(v);
  return JSON.stringify(fromCel(v));
}

function fromCel(v: CelValue): unknown {
  if (isCelList(v)) return [...v].map(fromCel);
  if (isCelMap(v)) return Object.fromEntries([...v].map(([k, x]) => [typeof k === 'object' ? String(k.value) : String(k), fromCel(x)]));
  if (typeof v === 'bigint') return Number(v);
  return v;
}

const text = celFunc('text', [CelScalar.DYN], CelScalar.STRING, (v) => renderText(v));

/** The CEL environment rules run in: standard CEL plus `text(x)`, the DSL's string rendering. */
export function ruleEnv(): CelEnv {
  return celEnv({ funcs: [text] });
}

/** What an expression runs on: its roots as plain JSON (`object`, each reference or null) and the current time. */
export interface EvalInput {
  vars: Readonly<Record<string, unknown>>;
  nowMs: number;
}

/** A compiled expression: its source (for errors and the API) and its evaluator. */
export interface Program {
  src: string;
  /** Reads `object` only (no reference, no `now`): its result on one object version can be shared by every rule. */
  objectOnly: boolean;
  /** `compiled`: a JS closure over the JSON; `interpreted`: @bufbuild/cel's evaluator, for what the closure lacks. */
  path: 'compiled' | 'interpreted';
  /** Why the expression is interpreted. */
  fallback?: string;
  /** The value of the expression, or CEL_ERROR. */
  eval(input: EvalInput): unknown;
  /** The value through the interpreter whatever `path` is: the reference the compiled closure must agree with. */
  interpret(input: EvalInput): unknown;
}

/** Programs by source: rules repeating a clause (the same DSL filter entry) share one plan and one result per event. */
const shared = new Map<string, Program>();

function interpreter(env: CelEnv, parsed: ReturnType<typeof parse>): (input: EvalInput) => unknown {
  const run = plan(env, parsed);
  return (input) => {
    // The evaluator builds an Error for every field it does not find (and its name resolution tries several
    // before the right one); capturing their stacks was nine tenths of its cost. Nobody reads them.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      const v = run(celVars(input));
      return isCelError(v) ? CEL_ERROR : v;
    } catch {
      return CEL_ERROR;
    } finally {
      Error.stackTraceLimit = limit;
    }
  };
}

let matchesRun: ((input: EvalInput) => unknown) | undefined;
const matchMemo = new Map<string, boolean | typeof CEL_ERROR>();

/** `s.matches(p)` by the interpreter's RE2, remembered: rules test few patterns against few distinct strings. */
function matches(s: string, pattern: string): boolean | typeof CEL_ERROR {
  const key = `${pattern}\u0000${s}`;
  const known = matchMemo.get(key);
  if (known !== undefined) return known;
  matchesRun ??= interpreter(ruleEnv(), parse('s.matches(p)'));
  const v = matchesRun({ vars: { s, p: pattern }, nowMs: 0 });
  const r = typeof v === 'boolean' ? v : CEL_ERROR;
  if (matchMemo.size >= 10_000) matchMemo.clear();
  matchMemo.set(key, r);
  return r;
}

export function program(env: CelEnv, src: string, parsed: ReturnType<typeof parse>, objectOnly = false): Program {
  const key = `${objectOnly ? 1 : 0}${src}`;
  const known = shared.get(key);
  if (known) return known;
  if (shared.size > 10_000) shared.clear();
  let interpret: ((input: EvalInput) => unknown) | undefined;
  const interpretLazily = (input: EvalInput): unknown => (interpret ??= interpreter(env, parsed))(input);
  let p: Program;
  try {
    const closure = compileCel(parsed.expr, { matches });
    p = { src, objectOnly, path: 'compiled', eval: (input) => closure(input.vars), interpret: interpretLazily };
  } catch (err) {
    // Outside the subset, or code generation refused (--disallow-code-generation-from-strings): the interpreter
    // gives the same verdicts, only slower.
    interpret = interpreter(env, parsed);
    const reason = err instanceof Unsupported ? err.message : `not compiled: ${err instanceof Error ? err.message : String(err)}`;
    p = { src, objectOnly, path: 'interpreted', fallback: reason, eval: interpret, interpret };
  }
  shared.set(key, p);
  return p;
}

const celForms = new WeakMap<object, CelInput>();

/** The CEL form of a JSON root, converted once per object and shared by every interpreted program reading it. */
function celOf(v: unknown): CelInput {
  if (typeof v !== 'object' || v === null) return toCelValue(v);
  let c = celForms.get(v);
  if (c === undefined) celForms.set(v, (c = toCelValue(v)));
  return c;
}

function celVars(input: EvalInput): Record<string, CelInput> {
  const out: Record<string, CelInput> = { now: celNow(input.nowMs) };
  for (const k of Object.keys(input.vars)) out[k] = celOf(input.vars[k]);
  return out;
}

/**
 * Converts a (projected) JSON object to CEL values once per event, so the rules evaluated on it share the
 * conversion instead of each re-wrapping every map they step into.
 */
export function toCelValue(v: unknown): CelInput {
  if (v === null || v === undefined) return null;
  if (Array.isArray(v)) return celList(v.map(toCelValue));
  if (typeof v === 'object') {
    const m = new Map<string, CelInput>();
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) m.set(k, toCelValue(x));
    return celMap(m);
  }
  if (typeof v === 'string' || typeof v === 'boolean' || typeof v === 'number') return v;
  return null;
}

let lastNow: { ms: number; ts: CelInput } | undefined;

/** `now` as a CEL timestamp (the last one is reused: every rule on one event asks for the same instant). */
export function celNow(ms: number): CelInput {
  const m = Math.floor(ms);
  if (lastNow?.ms !== m) lastNow = { ms: m, ts: timestampFromMs(m) };
  return lastNow.ts;
}
