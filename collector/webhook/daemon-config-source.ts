import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { DaemonConfig } from '../../daemon/config.ts';
import { PodpulseError } from '../../src/errors.ts';
import { parseWith } from '../../src/protocol/parse.ts';

/**
 * Reads and checks the daemon's local config (release public keys, command allowlist) that every sidecar gets.
 * It is validated with the daemon's own schema, so a typo fails here, at the collector, instead of crash-looping
 * every new sidecar. The collector URL comes from the injected env, so a stand-in fills it for the check.
 * Returns the document as compact JSON: the operator writes YAML, but the daemon reads JSON without loading a YAML
 * parser, which would stay in every sidecar's memory for its whole life (docs/worker-footprint.md).
 */
export async function readDaemonConfig(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new PodpulseError('PODPULSE_ERR_CONFIG_READ', `cannot read the sidecar's daemon config ${file}: ${(err as Error).message}`, { cause: err });
  }
  let doc: unknown;
  try {
    doc = parseYaml(text) ?? {};
  } catch (err) {
    throw new PodpulseError('PODPULSE_ERR_CONFIG_READ', `the sidecar's daemon config ${file} is not valid YAML: ${(err as Error).message}`, { cause: err });
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new PodpulseError('PODPULSE_ERR_CONFIG_INVALID', `the sidecar's daemon config ${file} must be a mapping`);
  const d = doc as { collector?: Record<string, unknown> };
  const r = parseWith(DaemonConfig, { ...d, collector: { url: 'http://collector.invalid', ...d.collector } }, { what: `sidecar daemon config ${file}`, code: 'PODPULSE_ERR_CONFIG_INVALID' });
  if (!r.ok) throw r.error;
  return JSON.stringify(doc);
}

/** Re-reads the file every `everyMs` (the kubelet updates a mounted ConfigMap in place) and reports a changed, valid one. */
export function watchDaemonConfig(file: string, everyMs: number, current: string, onChange: (text: string) => void, onError: (err: unknown) => void): () => void {
  let last = current;
  const timer = setInterval(() => {
    readDaemonConfig(file).then((text) => {
      if (text === last) return;
      last = text;
      onChange(text);
    }, onError);
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
