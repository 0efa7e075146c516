import { Resolver } from 'node:dns/promises';
import type * as z from 'zod/mini';
import { DnsSpec } from '../src/protocol/checks/network-specs.ts';
import type { ReasonCode } from '../src/protocol/codes.ts';
import { boundedList, boundedText } from './bounded-text.ts';
import { fail, ok, unknown, type CheckContext, type CheckDefinition, type Outcome } from './check.ts';
import { errorCode, errorMessage } from './error-code.ts';
import { readResolvConf, type ResolvConf } from './resolv-conf.ts';
import { timeBudget } from './time-budget.ts';

type Spec = z.output<typeof DnsSpec>;

/** c-ares error codes (as Node names them) and what they say about the dependency. */
const DNS_CODES: Record<string, ReasonCode> = {
  ENOTFOUND: 'DNS_NXDOMAIN',
  ESERVFAIL: 'DNS_SERVFAIL',
  EREFUSED: 'DNS_REFUSED',
  ETIMEOUT: 'DNS_TIMEOUT',
  ENODATA: 'DNS_NO_ANSWER',
  EBADRESP: 'DNS_BAD_RESPONSE',
  EFORMERR: 'DNS_BAD_RESPONSE',
};

/**
 * `dns`: resolves a name with c-ares (dns.Resolver). Never dns.lookup: getaddrinfo runs on the libuv threadpool,
 * where a hung resolver would block file-system work of every other check and cannot be cancelled.
 */
export const dnsCheck: CheckDefinition<'dns'> = {
  kind: 'dns',
  spec: DnsSpec,
  async run(spec, ctx) {
    if (ctx.signal.aborted) return unknown('CHECK_TIMEOUT', 'aborted by the runner before the query');
    let conf: ResolvConf;
    try {
      conf = await readResolvConf(spec.resolvConf, ctx.signal);
    } catch (err) {
      if (ctx.signal.aborted) return unknown('CHECK_TIMEOUT', 'aborted while reading the resolver configuration');
      if (!spec.server) return unknown('CHECK_MISCONFIGURED', `cannot read resolvConf ${spec.resolvConf}: ${errorMessage(err)}`);
      conf = { nameservers: [], timeoutMs: 5_000, attempts: 2 };
    }
    const servers = spec.server ? [spec.server] : conf.nameservers;
    const budget = timeBudget(ctx);
    // c-ares retries per server and round; keep the whole schedule inside the budget, and bound it with a timer
    // too, because c-ares may back off between rounds.
    const tries = Math.max(1, conf.attempts);
    const perTry = Math.max(1, Math.min(conf.timeoutMs, Math.floor(budget / (tries * servers.length))));
    const resolver = new Resolver({ timeout: perTry, tries });
    try {
      resolver.setServers(servers);
    } catch (err) {
      return unknown('CHECK_MISCONFIGURED', `bad DNS server ${boundedList(servers, 3)}: ${errorMessage(err)}`);
    }
    return resolveWithin(resolver, spec, ctx, budget, servers);
  },
};

async function resolveWithin(resolver: Resolver, spec: Spec, ctx: CheckContext, budget: number, servers: string[]): Promise<Outcome> {
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    resolver.cancel();
  }, budget);
  const onAbort = () => resolver.cancel();
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  const where = { server: boundedText(servers.join(','), 100) };
  try {
    const answers = await query(resolver, spec);
    return judge(spec, answers, where);
  } catch (err) {
    const code = errorCode(err);
    if (timedOut) return fail('DNS_TIMEOUT', `no answer for ${spec.name} ${spec.type} within ${budget} ms`, where);
    if (ctx.signal.aborted) return unknown('CHECK_TIMEOUT', 'aborted by the runner');
    const reason = (code === undefined ? undefined : DNS_CODES[code]) ?? 'DNS_ERROR';
    return fail(reason, `${spec.type} ${spec.name}: ${code ?? 'error'}: ${boundedText(errorMessage(err))}`, where);
  } finally {
    clearTimeout(timer);
    ctx.signal.removeEventListener('abort', onAbort);
  }
}

/** The answers as text: addresses, CNAME targets, and SRV as `target:port`. */
async function query(resolver: Resolver, spec: Spec): Promise<string[]> {
  switch (spec.type) {
    case 'A':
      return resolver.resolve4(spec.name);
    case 'AAAA':
      return resolver.resolve6(spec.name);
    case 'CNAME':
      return resolver.resolveCname(spec.name);
    case 'SRV':
      return (await resolver.resolveSrv(spec.name)).map((r) => `${r.name}:${r.port}`);
  }
}

function judge(spec: Spec, answers: string[], where: Record<string, string>): Outcome {
  if (answers.length === 0) return fail('DNS_NO_ANSWER', `${spec.type} ${spec.name}: no answers`, where);
  if (!spec.expect) return ok();
  const expected = new Set(spec.expect.map((v) => normalize(v, spec.type)));
  const unexpected = answers.filter((a) => !expected.has(normalize(a, spec.type)));
  if (unexpected.length === 0) return ok();
  return fail(
    'DNS_UNEXPECTED_ANSWER',
    `${spec.type} ${spec.name}: got ${boundedList(answers)}, expected only ${boundedList(spec.expect)}`,
    { ...where, unexpected: boundedText(unexpected.join(','), 200) },
  );
}

/** Names compare case-insensitively without a trailing dot; IPv6 addresses in their canonical short form. */
function normalize(value: string, type: Spec['type']): string {
  const v = value.trim().toLowerCase().replace(/\.(?=$|:\d+$)/, '');
  if (type !== 'AAAA') return v;
  try {
    return new URL(`http://[${v}]/`).hostname;
  } catch {
    return v;
  }
}
