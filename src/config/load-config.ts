import type * as z from 'zod/mini';
import { ValidationError, type Violation } from '../errors.ts';
import { parseWith } from '../protocol/parse.ts';
import { formatPath } from '../protocol/violations.ts';
import { readConfigFile } from './read-config-file.ts';

export interface LoadConfigOptions<S extends z.core.$ZodType> {
  schema: S;
  /** Human name for messages: `worker config`. */
  what: string;
  /** Path given with --config; YAML or JSON (JSON is YAML). */
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** Environment variables this program reads, each mapped to a dotted key path (`collector.url`). */
  envMap?: Readonly<Record<string, string>>;
  /** Values that win over everything (command-line flags), as dotted key paths. */
  overrides?: Readonly<Record<string, unknown>>;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);

interface SchemaDef {
  type: string;
  innerType?: z.core.$ZodType;
  in?: z.core.$ZodType;
}

/** The innermost schema at a dotted path, unwrapping optional/default/nullable, or undefined. */
function schemaAt(schema: z.core.$ZodType, path: string[]): z.core.$ZodType | undefined {
  let node: z.core.$ZodType | undefined = schema;
  for (const key of [...path, '']) {
    for (let i = 0; node && i < 8; i++) {
      const def: SchemaDef = (node as unknown as { _zod: { def: SchemaDef } })._zod.def;
      if (def.innerType && ['optional', 'default', 'nullable', 'prefault', 'readonly', 'catch'].includes(def.type)) node = def.innerType;
      else if (def.type === 'pipe' && def.in) node = def.in;
      else break;
    }
    if (key === '' || !node) return node;
    const shape: Record<string, z.core.$ZodType> | undefined = (node as unknown as { shape?: Record<string, z.core.$ZodType> }).shape;
    node = shape?.[key];
  }
  return node;
}

/** Env values are text; turn them into what the schema expects at that key (booleans as z.stringbool reads them). */
function coerceEnv(schema: z.core.$ZodType, path: string[], raw: string): unknown {
  const type = (schemaAt(schema, path) as unknown as { _zod?: { def: { type: string } } } | undefined)?._zod?.def.type;
  if (type === 'boolean') {
    const v = raw.trim().toLowerCase();
    if (['true', '1', 'yes', 'on', 'y', 'enabled'].includes(v)) return true;
    if (['false', '0', 'no', 'off', 'n', 'disabled'].includes(v)) return false;
    return raw;
  }
  if (type === 'number' || type === 'int') {
    const n = Number(raw);
    return raw.trim() === '' || Number.isNaN(n) ? raw : n;
  }
  if (type === 'array' || type === 'object' || type === 'record') {
    try {
      return JSON.parse(raw) as unknown;
    } catch {
      return raw;
    }
  }
  return raw;
}

function setPath(target: Obj, path: string[], value: unknown): void {
  let node = target;
  path.forEach((key, i) => {
    if (i === path.length - 1) node[key] = value;
    else {
      if (!isObj(node[key])) node[key] = {};
      node = node[key] as Obj;
    }
  });
}

/**
 * Merges schema defaults < file < environment < overrides, validates once, and returns the typed config. Throws a
 * ValidationError (PODPULSE_ERR_CONFIG_INVALID) listing each key path, the bad value and what was expected; a
 * value that came from the environment names its variable.
 */
export async function loadConfig<S extends z.core.$ZodType>(opts: LoadConfigOptions<S>): Promise<z.output<S>> {
  const doc: Obj = opts.file ? await readConfigFile(opts.file) : {};
  const fromEnv = new Map<string, string>();
  const env = opts.env ?? process.env;
  for (const [name, keyPath] of Object.entries(opts.envMap ?? {})) {
    const raw = env[name];
    if (raw === undefined) continue;
    const path = keyPath.split('.');
    setPath(doc, path, coerceEnv(opts.schema, path, raw));
    fromEnv.set(formatPath(path), name);
  }
  for (const [keyPath, value] of Object.entries(opts.overrides ?? {})) {
    if (value !== undefined) setPath(doc, keyPath.split('.'), value);
  }
  const what = opts.file ? `${opts.what} (${opts.file})` : opts.what;
  const r = parseWith(opts.schema, doc, { what, byId: true, code: 'PODPULSE_ERR_CONFIG_INVALID' });
  if (r.ok) return r.value;
  const violations: Violation[] = r.error.violations.map((v) => {
    const name = fromEnv.get(v.path);
    return name ? { path: `${v.path} (from ${name})`, message: v.message } : v;
  });
  throw new ValidationError('PODPULSE_ERR_CONFIG_INVALID', `invalid ${what}`, violations);
}
