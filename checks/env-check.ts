import { EnvSpec } from '../src/protocol/checks/system-specs.ts';
import { boundedList } from './bounded-text.ts';
import { fail, ok, type CheckDefinition } from './check.ts';

/**
 * `env`: required variables are set (an empty value counts as missing: an unset Secret key usually arrives as
 * ""), and match their pattern where one is given (JavaScript RegExp test, so anchor with ^…$ for a whole-value
 * match). Values are secrets as often as not: only names are ever reported, never a value or a piece of one.
 */
export const envCheck: CheckDefinition<'env'> = {
  kind: 'env',
  spec: EnvSpec,
  run(spec, ctx) {
    const missing: string[] = [];
    const invalid: string[] = [];
    for (const { name, pattern } of spec.required) {
      const value = ctx.env[name];
      if (value === undefined || value === '') missing.push(name);
      else if (pattern !== undefined && !new RegExp(pattern).test(value)) invalid.push(name);
    }
    const details = { missing: missing.join(','), invalid: invalid.join(',') };
    if (missing.length > 0) {
      const also = invalid.length > 0 ? `; not matching their pattern: ${boundedList(invalid)}` : '';
      return Promise.resolve(fail('ENV_MISSING', `required environment variables not set: ${boundedList(missing)}${also}`, details));
    }
    if (invalid.length > 0) return Promise.resolve(fail('ENV_INVALID', `environment variables not matching their pattern: ${boundedList(invalid)}`, details));
    return Promise.resolve(ok());
  },
};
