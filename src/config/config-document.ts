import { PodpulseError } from '../errors.ts';

export type ConfigDocument = Record<string, unknown>;

/** The YAML parser's options for config files: a few aliases are fine, an alias bomb is not. */
export const YAML_OPTIONS = { maxAliasCount: 100 } as const;

/** JSON.parse's result, or undefined when the text is not JSON (then it may still be YAML). */
export function parseJson(text: string): { doc: unknown } | undefined {
  try {
    return { doc: JSON.parse(text) as unknown };
  } catch {
    return undefined;
  }
}

/** The error for a file that is neither YAML nor JSON. */
export function notYamlError(file: string, err: unknown): PodpulseError {
  return new PodpulseError('PODPULSE_ERR_CONFIG_READ', `config file ${file} is not valid YAML or JSON: ${(err as Error).message}`, { cause: err });
}

/** The error for a file that cannot be read. */
export function unreadableError(file: string, err: unknown): PodpulseError {
  return new PodpulseError('PODPULSE_ERR_CONFIG_READ', `cannot read config file ${file}: ${(err as Error).message}`, { cause: err });
}

/** A parsed file as a config document: empty is an empty config, anything but a mapping at the top is an error. */
export function configDocument(doc: unknown, file: string): ConfigDocument {
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new PodpulseError('PODPULSE_ERR_CONFIG_READ', `config file ${file} must hold a mapping at the top level`);
  return doc as ConfigDocument;
}

/**
 * A config document from YAML text. The caller passes the parser: the synchronous reader imports it statically,
 * the agent's reader only when a file is not JSON.
 */
export function yamlDocument(parse: typeof import('yaml').parse, text: string, file: string): ConfigDocument {
  let doc: unknown;
  try {
    doc = parse(text, YAML_OPTIONS) as unknown;
  } catch (err) {
    throw notYamlError(file, err);
  }
  return configDocument(doc, file);
}
