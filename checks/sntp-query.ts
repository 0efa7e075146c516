import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import { randomBytes } from '../src/agent/random-bytes.ts';

/** Seconds from the NTP era (1900) to the Unix epoch. */
const NTP_UNIX_DELTA = 2_208_988_800;

/** One SNTP measurement (RFC 4330 section 5): the reference's offset from the local clock and the round trip. */
export interface SntpSample {
  /** Reference time minus local time, ms (positive: the local clock is behind). */
  offsetMs: number;
  roundTripMs: number;
  stratum: number;
}

/** Why a query produced no sample: no reply at all, or a reply that is not a usable SNTP answer. */
export class SntpError extends Error {
  readonly kind: 'unreachable' | 'invalid';
  constructor(kind: 'unreachable' | 'invalid', message: string) {
    super(message);
    this.kind = kind;
  }
}

/**
 * Sends one SNTPv4 client request to `host:port` and computes offset and round-trip delay from the four
 * timestamps. `now` is the local wall clock; elapsed time is measured monotonically so a clock step during the
 * exchange does not distort the round trip. The request's transmit timestamp is a random nonce (RFC 4330
 * suggests it for privacy) that the server must echo as originate timestamp: a reply that does not is rejected.
 */
export function sntpQuery(host: string, port: number, now: () => number, signal: AbortSignal, timeoutMs: number): Promise<SntpSample> {
  return new Promise((resolve, reject) => {
    // No `signal` option on the socket: dgram would close it silently on abort, leaving this promise pending.
    const socket = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
    const nonce = randomBytes(8);
    const request = Buffer.alloc(48);
    request[0] = (0 << 6) | (4 << 3) | 3; // LI 0, version 4, mode 3 (client)
    nonce.copy(request, 40);
    let t1 = 0;
    let sent = 0;
    let settled = false;
    const done = (err: Error | undefined, sample?: SntpSample) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.close();
      if (err) reject(err);
      else resolve(sample!);
    };
    const onAbort = () => done(new SntpError('unreachable', `SNTP query to ${host}:${port} aborted`));
    signal.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => done(new SntpError('unreachable', `no SNTP reply from ${host}:${port} within ${timeoutMs} ms`)), timeoutMs);
    socket.on('error', (err) => done(new SntpError('unreachable', `SNTP ${host}:${port}: ${err.message}`)));
    socket.on('message', (msg: Buffer) => {
      const elapsed = performance.now() - sent;
      try {
        done(undefined, parseReply(msg, nonce, t1, t1 + elapsed));
      } catch (err) {
        done(err as Error);
      }
    });
    if (signal.aborted) return onAbort();
    socket.connect(port, host, () => {
      t1 = now();
      sent = performance.now();
      socket.send(request);
    });
  });
}

function parseReply(msg: Buffer, nonce: Buffer, t1: number, t4: number): SntpSample {
  const invalid = (why: string) => new SntpError('invalid', `invalid SNTP reply: ${why}`);
  if (msg.length < 48) throw invalid(`${msg.length} bytes, expected at least 48`);
  const b0 = msg[0]!;
  const li = b0 >> 6;
  const version = (b0 >> 3) & 7;
  const mode = b0 & 7;
  const stratum = msg[1]!;
  if (mode !== 4) throw invalid(`mode ${mode}, expected 4 (server)`);
  if (version < 1 || version > 4) throw invalid(`version ${version}`);
  if (stratum === 0) throw invalid(`kiss-o'-death ${JSON.stringify(msg.toString('latin1', 12, 16).replace(/[^\x20-\x7e]/g, '?'))}`);
  if (li === 3 || stratum > 15) throw invalid('the server is not synchronized');
  if (!msg.subarray(24, 32).equals(nonce)) throw invalid('originate timestamp does not match the request');
  const t2 = ntpToUnixMs(msg, 32);
  const t3 = ntpToUnixMs(msg, 40);
  if (t3 === undefined || t2 === undefined) throw invalid('zero timestamp');
  return { offsetMs: (t2 - t1 + (t3 - t4)) / 2, roundTripMs: Math.max(0, t4 - t1 - (t3 - t2)), stratum };
}

/** An NTP timestamp as Unix ms; era per RFC 4330 section 3 (MSB clear means 2036 onwards). */
function ntpToUnixMs(buf: Buffer, at: number): number | undefined {
  const seconds = buf.readUInt32BE(at);
  const fraction = buf.readUInt32BE(at + 4);
  if (seconds === 0 && fraction === 0) return undefined;
  const era = seconds & 0x8000_0000 ? 0 : 2 ** 32;
  return (seconds + era - NTP_UNIX_DELTA) * 1000 + (fraction / 2 ** 32) * 1000;
}
