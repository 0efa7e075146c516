import { readFile } from 'node:fs/promises';
import { configDocument, parseJson, unreadableError, yamlDocument, type ConfigDocument } from './config-document.ts';

/**
 * Reads a YAML or JSON config file; an empty file is an empty config. JSON is parsed directly and the YAML parser
 * is imported only for a file that is not JSON, so an agent process whose config is JSON never loads it (about
 * 1.7 MB of private memory; esbuild inlines the parser behind the dynamic import, evaluated only then). One
 * difference from reading JSON as YAML: a key given twice in a JSON file takes its last value instead of an error.
 */
export async function readConfigFile(file: string): Promise<ConfigDocument> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw unreadableError(file, err);
  }
  if (text.trim() === '') return {};
  const json = parseJson(text);
  if (json) return configDocument(json.doc, file);
  const { parse } = await import('yaml');
  return yamlDocument(parse, text, file);
}
