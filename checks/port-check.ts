import { open } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { PortSpec } from '../src/protocol/checks/system-specs.ts';
import { fail, ok, unknown, type CheckDefinition } from './check.ts';
import { errorCode, errorMessage } from './error-code.ts';

/** The kernel's TCP state for a listening socket in /proc/net/tcp{,6} (include/net/tcp_states.h TCP_LISTEN). */
const LISTEN = '0A';
const TABLES = ['tcp', 'tcp6'] as const;

/**
 * `port`: some socket in the pod's network namespace listens on the TCP port, read from /proc/net/tcp and tcp6.
 * No connection is made: connecting would count as traffic in the application's metrics and could be refused by
 * an accept backlog that is simply full. The tables are streamed line by line and reading stops at the first
 * match, because a busy server's table can hold tens of thousands of connections.
 */
export const portCheck: CheckDefinition<'port'> = {
  kind: 'port',
  spec: PortSpec,
  paths: (spec) => TABLES.map((t) => path.join(spec.procNet, t)),
  async run(spec, ctx) {
    let readable = 0;
    for (const table of TABLES) {
      const file = path.join(spec.procNet, table);
      try {
        const found = await listensIn(file, spec.port, ctx.signal);
        readable++;
        if (found) return ok();
      } catch (err) {
        if (ctx.signal.aborted) return unknown('CHECK_TIMEOUT', `aborted while reading ${file}`);
        // tcp6 is absent when IPv6 is disabled: only both missing means the check cannot decide.
        if (errorCode(err) === 'ENOENT') continue;
        return unknown('CHECK_ERROR', `cannot read ${file}: ${errorMessage(err)}`);
      }
    }
    if (readable === 0) return unknown('NOT_SUPPORTED', `neither ${spec.procNet}/tcp nor tcp6 exists`);
    return fail('PORT_NOT_LISTENING', `nothing listens on TCP port ${spec.port}`, { port: spec.port });
  },
};

async function listensIn(file: string, port: number, signal: AbortSignal): Promise<boolean> {
  const fh = await open(file, 'r');
  const input = fh.createReadStream({ encoding: 'latin1', signal, autoClose: false });
  const lines = createInterface({ input, crlfDelay: Infinity });
  try {
    for await (const line of lines) if (isListening(line, port)) return true;
    return false;
  } finally {
    lines.close();
    input.destroy();
    await fh.close().catch(() => undefined);
  }
}

/** `sl local_address rem_address st ...`, e.g. `0: 00000000:1F90 00000000:0000 0A ...` (addresses in hex). */
export function isListening(line: string, port: number): boolean {
  const fields = line.trim().split(/\s+/);
  const local = fields[1];
  if (fields[3] !== LISTEN || local === undefined) return false;
  const colon = local.lastIndexOf(':');
  return colon > 0 && parseInt(local.slice(colon + 1), 16) === port;
}
