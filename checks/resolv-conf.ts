import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';

/** What the dns check takes from resolv.conf. */
export interface ResolvConf {
  /** At most three, as glibc uses; each an address c-ares' setServers accepts. */
  nameservers: string[];
  /** Per-attempt timeout (`options timeout:N`, seconds in the file; glibc default 5 s, capped at 30 s). */
  timeoutMs: number;
  /** Attempts per server (`options attempts:N`; glibc default 2, capped at 5). */
  attempts: number;
}

/** resolv.conf is a few lines; anything past this is not a resolver configuration. */
const MAX_BYTES = 64 * 1024;

/**
 * Reads the nameservers and timing options of a resolv.conf like glibc does: the first three `nameserver` lines,
 * the last `options` values, 127.0.0.1 when no nameserver is listed. `search`/`ndots` do not apply: the check
 * queries its name as given. A nameserver written `ip:port` or `[ipv6]:port` is accepted too (c-ares reads it).
 */
export async function readResolvConf(path: string, signal: AbortSignal): Promise<ResolvConf> {
  const text = (await readFile(path, { signal })).subarray(0, MAX_BYTES).toString('utf8');
  const conf: ResolvConf = { nameservers: [], timeoutMs: 5_000, attempts: 2 };
  for (const raw of text.split('\n')) {
    const [keyword, ...args] = raw.replace(/[#;].*$/, '').trim().split(/\s+/);
    if (keyword === 'nameserver' && args[0] && conf.nameservers.length < 3) {
      const server = args[0].replace(/%.*$/, ''); // drop an IPv6 zone id; c-ares does not take one
      if (isIP(server) || /^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\]):\d{1,5}$/.test(server)) conf.nameservers.push(server);
    } else if (keyword === 'options') {
      for (const opt of args) {
        const [name, value] = opt.split(':');
        const n = Number(value);
        if (!Number.isInteger(n) || n < 0) continue;
        if (name === 'timeout') conf.timeoutMs = Math.min(Math.max(n, 1), 30) * 1_000;
        if (name === 'attempts') conf.attempts = Math.min(Math.max(n, 1), 5);
      }
    }
  }
  if (conf.nameservers.length === 0) conf.nameservers.push('127.0.0.1');
  return conf;
}
