import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { checkServerIdentity, connect, type PeerCertificate, type TLSSocket } from 'node:tls';
import type * as z from 'zod/mini';
import { TlsSpec } from '../src/protocol/checks/network-specs.ts';
import { boundedText } from './bounded-text.ts';
import { fail, ok, unknown, warn, type CheckContext, type CheckDefinition, type Outcome } from './check.ts';
import { errorCode, errorMessage } from './error-code.ts';
import { timeBudget } from './time-budget.ts';
import { CERT_TIME_ERRORS } from './tls-error-code.ts';

type Spec = z.output<typeof TlsSpec>;
const DAY_MS = 86_400_000;

/**
 * `tls`: handshakes and inspects the server certificate. Verification is done here rather than by the handshake
 * (rejectUnauthorized is off) so each problem gets its own code: expiry, trust, and host name are told apart.
 */
export const tlsCheck: CheckDefinition<'tls'> = {
  kind: 'tls',
  spec: TlsSpec,
  async run(spec, ctx) {
    let ca: string | undefined;
    if (spec.caFile) {
      try {
        ca = await readFile(spec.caFile, { encoding: 'utf8', signal: ctx.signal });
      } catch (err) {
        if (ctx.signal.aborted) return unknown('CHECK_TIMEOUT', 'aborted while reading caFile');
        return unknown('CHECK_MISCONFIGURED', `cannot read caFile ${spec.caFile}: ${errorMessage(err)}`);
      }
    }
    return handshake(spec, ca, ctx);
  },
};

function handshake(spec: Spec, ca: string | undefined, ctx: CheckContext): Promise<Outcome> {
  const budget = timeBudget(ctx);
  const name = spec.serverName ?? spec.host;
  const target = `${spec.host}:${spec.port}`;
  return new Promise<Outcome>((resolve) => {
    let tcpConnected = false;
    const socket: TLSSocket = connect({
      host: spec.host,
      port: spec.port,
      // SNI carries a host name only, never an address (RFC 6066)
      ...(isIP(name) ? {} : { servername: name }),
      rejectUnauthorized: false,
      // Node would put a host-name mismatch into authorizationError; judge() checks identity itself, separately
      checkServerIdentity: () => undefined,
      ...(ca ? { ca } : {}),
    });
    let settled = false;
    const finish = (outcome: Outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ctx.signal.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(outcome);
    };
    const onAbort = () => finish(unknown('CHECK_TIMEOUT', `handshake with ${target} aborted by the runner`));
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    if (ctx.signal.aborted) queueMicrotask(onAbort);
    const timer = setTimeout(() => {
      const stage = tcpConnected ? 'handshake' : 'connect';
      finish(fail('TLS_TIMEOUT', `${stage} with ${target} did not finish within ${budget} ms`, { target, stage }));
    }, budget);
    socket.once('connect', () => (tcpConnected = true));
    socket.once('secureConnect', () => finish(judge(spec, name, socket, ctx.now())));
    socket.on('error', (err) => {
      const code = errorCode(err) ?? null;
      const message = `${target}: ${boundedText(errorMessage(err))}`;
      finish(tcpConnected ? fail('TLS_HANDSHAKE', `handshake with ${message}`, { target, error: code }) : fail('TLS_CONNECT', `connect to ${message}`, { target, error: code }));
    });
  });
}

function judge(spec: Spec, name: string, socket: TLSSocket, now: number): Outcome {
  const cert: PeerCertificate = socket.getPeerCertificate();
  if (!cert.valid_to) return fail('TLS_HANDSHAKE', `${spec.host}:${spec.port} presented no certificate`);
  const notAfter = Date.parse(cert.valid_to);
  const notBefore = Date.parse(cert.valid_from);
  const daysLeft = Math.floor(((notAfter - now) / DAY_MS) * 10) / 10;
  const details = {
    daysLeft,
    notAfter: new Date(notAfter).toISOString(),
    subject: boundedText(firstValue(cert.subject?.CN), 128),
    issuer: boundedText(firstValue(cert.issuer?.CN), 128),
  };
  if (now >= notAfter) return fail('TLS_CERT_EXPIRED', `certificate of ${name} expired ${details.notAfter}`, details);
  if (now < notBefore) return fail('TLS_CERT_EXPIRED', `certificate of ${name} is not valid before ${new Date(notBefore).toISOString()}`, details);

  // The verification result is OpenSSL's; it judges dates by the real clock, which the checks above already did
  // by the injected one. An expired intermediate is still an expiry.
  const verifyError = socket.authorizationError ? String(socket.authorizationError) : undefined;
  if (verifyError && CERT_TIME_ERRORS.has(verifyError)) return fail('TLS_CERT_EXPIRED', `a certificate in the chain of ${name} is not valid now (${verifyError})`, details);
  if (verifyError) return fail('TLS_UNTRUSTED', `certificate of ${name} is not trusted: ${verifyError}`, { ...details, error: verifyError });

  const identityError = checkServerIdentity(name, cert);
  if (identityError) return fail('TLS_HOSTNAME_MISMATCH', boundedText(identityError.message, 300), details);

  if (daysLeft < spec.failDays) return fail('TLS_CERT_EXPIRING', `certificate of ${name} expires in ${daysLeft} days (fail below ${spec.failDays})`, details);
  if (daysLeft < spec.warnDays) return warn('TLS_CERT_EXPIRING', `certificate of ${name} expires in ${daysLeft} days (warn below ${spec.warnDays})`, details);
  return ok();
}

/** A subject field may repeat (an array); report the first. */
function firstValue(v: string | string[] | undefined): string {
  return (Array.isArray(v) ? v[0] : v) ?? '';
}
