import { celEnv, celFunc, celList, celMap, CelScalar, isCelList, isCelMap, parse, plan, type CelEnv, type CelInput, type CelValue } from '@bufbuild/cel';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';

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

/** A compiled expression: its source (for errors and the API) and its evaluator. */
export interface Program {
  src: string;
  /** Reads `object` only (no reference, no `now`): its result on one object version can be shared by every rule. */
  objectOnly: boolean;
  eval(vars: Record<string, CelInput>): CelValue | Error;
}

/** Programs by source: rules repeating a clause (the same DSL filter entry) share one plan and one result per event. */
const shared = new Map<string, Program>();

export function program(env: CelEnv, src: string, parsed: ReturnType<typeof parse>, objectOnly = false): Program {
  const key = `${objectOnly ? 1 : 0}${src}`;
  const known = shared.get(key);
  if (known) return known;
  if (shared.size > 10_000) shared.clear();
  const run = plan(env, parsed);
  const p: Program = {
    src,
    objectOnly,
    eval: (vars) => {
      // The evaluator builds an Error for every field it does not find (and its name resolution tries several
      // before the right one); capturing their stacks was nine tenths of the cost of a rule. Nobody reads them.
      const limit = Error.stackTraceLimit;
      Error.stackTraceLimit = 0;
      try {
        return run(vars);
      } finally {
        Error.stackTraceLimit = limit;
      }
    },
  };
  shared.set(key, p);
  return p;
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
