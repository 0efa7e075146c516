import { readFile } from 'node:fs/promises';
import type { Logger } from '../../src/log/logger.ts';

export interface CertFiles {
  cert: string;
  key: string;
}

/**
 * cert-manager mode: the certificate comes from files (a mounted Secret that cert-manager renews; the kubelet
 * updates the files in place). Reads them now, then every `checkEveryMs`, and calls `onChange` when they differ.
 */
export async function watchCertFiles(o: { certFile: string; keyFile: string; checkEveryMs: number; log: Logger; onChange: (c: CertFiles) => void }): Promise<{ initial: CertFiles; stop: () => void }> {
  const read = async (): Promise<CertFiles> => ({ cert: await readFile(o.certFile, 'utf8'), key: await readFile(o.keyFile, 'utf8') });
  const initial = await read();
  let last = initial;
  const timer = setInterval(() => {
    read().then(
      (c) => {
        if (c.cert === last.cert && c.key === last.key) return;
        last = c;
        o.log.info({ certFile: o.certFile }, 'webhook certificate files changed; reloading');
        o.onChange(c);
      },
      (err: unknown) => o.log.warn({ err }, 'cannot read the webhook certificate files; serving the current certificate'),
    );
  }, o.checkEveryMs);
  timer.unref();
  return { initial, stop: () => clearInterval(timer) };
}
