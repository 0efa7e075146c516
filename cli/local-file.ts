import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { usageError } from './exit-codes.ts';

/** A local YAML or JSON file (`-` reads stdin); an unreadable or unparsable file is a usage error (exit 2). */
export function readDataFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (err) {
    throw usageError(`cannot read ${path}: ${(err as Error).message}`);
  }
  try {
    return parseYaml(text) as unknown;
  } catch (err) {
    throw usageError(`${path} is not valid YAML or JSON: ${(err as Error).message}`);
  }
}
