import { z } from 'zod';
import type { Violation } from '../../../src/errors.ts';
import { readConfigFileSync as readConfigFile } from '../../../src/config/read-config-file-sync.ts';
import { duration, identifier, regexText, str } from '../../../src/protocol/common.ts';
import { parseWith } from '../../../src/protocol/parse.ts';

/**
 * A template the collector may request: its name and the params it takes, each with a regex. The collector checks
 * requests against it so an operator learns at once that a name or value is wrong; the pod checks again against its
 * own allowlist, which alone decides what runs. `argv`, `timeout` and `maxOutputBytes` are accepted (and ignored)
 * so one file can serve as both the daemon allowlist and the collector's list.
 */
export const CollectorCommandTemplate = z.strictObject({
  name: identifier,
  description: z.optional(str(256)),
  params: z.record(identifier, z.strictObject({ pattern: regexText, description: z.optional(str(256)) })).default({}),
  argv: z.array(str(4096, 1)).max(64).optional(),
  timeout: z.optional(duration),
  maxOutputBytes: z.number().int().min(1).optional(),
});
export type CollectorCommandTemplate = z.output<typeof CollectorCommandTemplate>;

export const CommandTemplatesFile = z.strictObject({ templates: z.array(CollectorCommandTemplate).max(256) });

/** The templates of the config section plus those of `templatesFile`; a name given twice is a config error. */
export function loadCommandTemplates(section: { templates: readonly CollectorCommandTemplate[]; templatesFile?: string | undefined }): Map<string, CollectorCommandTemplate> {
  const all = [...section.templates];
  if (section.templatesFile) {
    const r = parseWith(CommandTemplatesFile, readConfigFile(section.templatesFile), { what: `command templates file ${section.templatesFile}`, code: 'PODPULSE_ERR_CONFIG_INVALID' });
    if (!r.ok) throw r.error;
    all.push(...r.value.templates);
  }
  const byName = new Map<string, CollectorCommandTemplate>();
  for (const t of all) {
    if (byName.has(t.name)) throw new Error(`command template "${t.name}" is defined twice (commands.templates and commands.templatesFile)`);
    byName.set(t.name, t);
  }
  return byName;
}

/**
 * Every way `params` fails `template`: undeclared names, missing ones, values that do not match their regex in full.
 * The same rule as the daemon's matchCommand, so what passes here fails there only if the pod's allowlist differs.
 */
export function paramViolations(template: CollectorCommandTemplate, params: Readonly<Record<string, string>>, path = 'params'): Violation[] {
  const out: Violation[] = [];
  for (const name of Object.keys(params)) {
    if (!(name in template.params)) out.push({ path: `${path}.${name}`, message: `is not a param of template "${template.name}" (it takes: ${Object.keys(template.params).join(', ') || 'none'})` });
  }
  for (const [name, spec] of Object.entries(template.params)) {
    const value = params[name];
    if (value === undefined) {
      out.push({ path: `${path}.${name}`, message: `is required by template "${template.name}"` });
      continue;
    }
    let re: RegExp;
    try {
      re = new RegExp(`^(?:${spec.pattern})$`, 'u');
    } catch {
      out.push({ path: `${path}.${name}`, message: `template "${template.name}" has a pattern that does not compile in unicode mode: ${spec.pattern}` });
      continue;
    }
    if (!re.test(value)) out.push({ path: `${path}.${name}`, message: `${JSON.stringify(value.slice(0, 200))} does not match ${spec.pattern}` });
  }
  return out;
}

/** Why `name` is not a known template, or undefined. */
export function unknownTemplate(templates: ReadonlyMap<string, CollectorCommandTemplate>, name: string): Violation | undefined {
  if (templates.has(name)) return undefined;
  const known = [...templates.keys()].sort();
  return { path: 'template', message: `unknown template ${JSON.stringify(name)}; the collector knows: ${known.join(', ') || 'none (configure commands.templates)'}` };
}
