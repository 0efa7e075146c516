import type { Command, CommandTemplate } from '../src/protocol/command.ts';

/** A command resolved against the local allowlist: the argv to run, or why it is refused. */
export type MatchResult = { ok: true; template: CommandTemplate; argv: string[] } | { ok: false; error: string };

/**
 * Resolves a command against the LOCAL allowlist: the template must exist by name, every declared param must be
 * given and match its regex in full, and no undeclared param may be given. Params fill `{name}` slots inside argv
 * elements; there is no shell, so a param can never become a second argument or an operator.
 */
export function matchCommand(cmd: Pick<Command, 'template' | 'params'>, allowlist: readonly CommandTemplate[]): MatchResult {
  const template = allowlist.find((t) => t.name === cmd.template);
  if (!template) return { ok: false, error: `template "${cmd.template}" is not in this pod's allowlist` };
  for (const name of Object.keys(cmd.params)) {
    if (!(name in template.params)) return { ok: false, error: `param "${name}" is not declared by template "${template.name}"` };
  }
  for (const [name, spec] of Object.entries(template.params)) {
    const value = cmd.params[name];
    if (value === undefined) return { ok: false, error: `param "${name}" is missing` };
    let re: RegExp;
    try {
      re = new RegExp(`^(?:${spec.pattern})$`, 'u');
    } catch {
      return { ok: false, error: `template "${template.name}" param "${name}" has an invalid pattern` };
    }
    if (!re.test(value)) return { ok: false, error: `param "${name}" ${JSON.stringify(value.slice(0, 200))} does not match ${spec.pattern}` };
  }
  const argv = template.argv.map((arg) => arg.replace(/\{([^{}]*)\}/g, (_, name: string) => cmd.params[name] ?? ''));
  return { ok: true, template, argv };
}
