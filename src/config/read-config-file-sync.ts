import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { unreadableError, yamlDocument, type ConfigDocument } from './config-document.ts';

/**
 * Reads a YAML or JSON file synchronously; an empty file is an empty config. For the collector's side files (token
 * and template files), read at start-up where a promise does not fit; it imports the YAML parser, so agent code
 * uses the asynchronous readConfigFile instead.
 */
export function readConfigFileSync(file: string): ConfigDocument {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw unreadableError(file, err);
  }
  return yamlDocument(parseYaml, text, file);
}
