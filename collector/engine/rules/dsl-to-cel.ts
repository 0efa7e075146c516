import type { Violation } from '../../../src/errors.ts';
import { childType, typeName, type FieldType } from './kinds.ts';
import type { FieldMatch } from './rule-document.ts';

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const CEL_RESERVED = new Set(['true', 'false', 'null', 'in', 'as', 'break', 'const', 'continue', 'else', 'for', 'function', 'if', 'import', 'let', 'loop', 'package', 'namespace', 'return', 'var', 'void', 'while']);
const lit = (s: string): string => JSON.stringify(s);
const list = (vs: readonly string[]): string => `[${vs.map(lit).join(', ')}]`;

/** `base.a.b` or `base["sae.component"]` when the key is not an identifier. */
export function accessor(base: string, path: readonly string[]): string {
  let s = base;
  for (const seg of path) s += IDENT.test(seg) && !CEL_RESERVED.has(seg) ? `.${seg}` : `[${lit(seg)}]`;
  return s;
}

/**
 * True when every step of the path exists and the value is not null. Missing steps are tested before they are
 * read, so an object without the field makes the clause false instead of raising an error.
 */
function present(base: string, path: readonly string[]): string {
  const parts: string[] = [];
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!;
    const parent = accessor(base, path.slice(0, i));
    parts.push(IDENT.test(seg) && !CEL_RESERVED.has(seg) ? `has(${parent}.${seg})` : `${lit(seg)} in ${parent}`);
  }
  parts.push(`${accessor(base, path)} != null`);
  return parts.join(' && ');
}

/** The DSL test on one value: the value rendered as a string is (not) one of the listed strings, or it is nil. */
function test(base: string, path: readonly string[], m: FieldMatch): string {
  const guard = present(base, path);
  if (m.nilValue !== undefined) return m.nilValue ? `!(${guard})` : `(${guard})`;
  const value = `text(${accessor(base, path)})`;
  if (m.equalValue) return `(${guard} && ${value} in ${list(m.equalValue)})`;
  return `(${guard} && !(${value} in ${list(m.notEqualValue!)}))`;
}

/** One compiled DSL entry: its CEL text and the paths it reads (`*` stands for every element of a list). */
export interface CompiledMatch {
  cel: string;
  paths: string[][];
}

/**
 * Compiles one `filterField`/`checkField` entry to CEL. With `subIdentifierName`, the elements of the list at
 * `field` whose identifier is one of `subIdentifierValue` are picked; at least one must exist and each picked one
 * must pass the test at `subField` (no sidecar container at all is not "sidecar not ready").
 */
export function compileMatch(m: FieldMatch): CompiledMatch {
  if (m.subIdentifierName === undefined) return { cel: test('object', m.field, m), paths: [m.field] };
  const l = accessor('object', m.field);
  const pick = `(${present('e', [m.subIdentifierName])} && text(e${accessor('', [m.subIdentifierName])}) in ${list(m.subIdentifierValue!)})`;
  const cel = `(${present('object', m.field)} && ${l}.exists(e, ${pick}) && ${l}.all(e, !${pick} || ${test('e', m.subField!, m)}))`;
  return { cel, paths: [[...m.field, '*', m.subIdentifierName], [...m.field, '*', ...m.subField!]] };
}

type Resolved = { type: FieldType } | { error: string; at: number };

function resolve(root: FieldType, path: readonly string[], rootName: string): Resolved {
  let t = root;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!;
    const next = childType(t, seg);
    const where = [rootName, ...path.slice(0, i)].filter(Boolean).join('.') || 'the object';
    if (next === 'unknown-field') return { error: `${where} has no field ${lit(seg)}`, at: i };
    if (next === 'mismatch') return { error: `field type mismatch: ${where} is ${typeName(t)}, so it has no field ${lit(seg)}`, at: i };
    t = next;
  }
  return { type: t };
}

function checkValues(t: FieldType, m: FieldMatch, where: string, shown: string): Violation | undefined {
  const key = m.equalValue ? 'equalValue' : m.notEqualValue ? 'notEqualValue' : undefined;
  if (!key) return undefined;
  const vs = m[key]!;
  const at = `${where}.${key}`;
  if (t.t === 'list' || t.t === 'map' || t.t === 'object') {
    return { path: at, message: `field type mismatch: ${shown} is ${typeName(t)}, but ${key} compares a scalar${t.t === 'list' ? ' (pick elements with subIdentifierName/subIdentifierValue/subField)' : ''}` };
  }
  const badBool = t.t === 'bool' ? vs.find((v) => v !== 'true' && v !== 'false') : undefined;
  if (badBool !== undefined) return { path: at, message: `field type mismatch: ${shown} is bool, so ${lit(badBool)} can never match (use "true" or "false")` };
  const badInt = t.t === 'int' ? vs.find((v) => !/^-?\d+$/.test(v)) : undefined;
  if (badInt !== undefined) return { path: at, message: `field type mismatch: ${shown} is int, so ${lit(badInt)} can never match` };
  return undefined;
}

/** Checks one DSL entry against the kind's schema; `where` is its location (`PodSidecarNotReady.checkField[0]`). */
export function checkMatch(schema: FieldType, m: FieldMatch, where: string): Violation[] {
  const r = resolve(schema, m.field, '');
  if ('error' in r) return [{ path: `${where}.field[${r.at}]`, message: r.error }];
  const shown = m.field.join('.');
  if (m.subIdentifierName === undefined) {
    const v = checkValues(r.type, m, where, shown);
    return v ? [v] : [];
  }
  if (r.type.t !== 'list' && r.type.t !== 'dyn') {
    return [{ path: `${where}.subIdentifierName`, message: `field type mismatch: ${shown} is ${typeName(r.type)}, not a list, so it has no elements to pick` }];
  }
  const element = r.type.t === 'list' ? r.type.element : r.type;
  const id = resolve(element, [m.subIdentifierName], `${shown}[]`);
  if ('error' in id) return [{ path: `${where}.subIdentifierName`, message: id.error }];
  const sub = resolve(element, m.subField!, `${shown}[]`);
  if ('error' in sub) return [{ path: `${where}.subField`, message: sub.error }];
  if (id.type.t === 'list' || id.type.t === 'map' || id.type.t === 'object') {
    return [{ path: `${where}.subIdentifierName`, message: `field type mismatch: ${shown}[].${m.subIdentifierName} is ${typeName(id.type)}, not a scalar identifier` }];
  }
  const v = checkValues(sub.type, m, where, `${shown}[].${m.subField!.join('.')}`);
  return v ? [v] : [];
}
