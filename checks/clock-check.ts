import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import type * as z from 'zod/mini';
import { discardBody, httpRequest } from '../src/agent/http-request.ts';
import { ClockSpec } from '../src/protocol/checks/network-specs.ts';
import { ms } from '../src/units.ts';
import { boundedText } from './bounded-text.ts';
import { fail, ok, unknown, warn, type CheckContext, type CheckDefinition, type Outcome } from './check.ts';
import { errorCode, errorMessage } from './error-code.ts';
import { SntpError, sntpQuery } from './sntp-query.ts';
import { timeBudget } from './time-budget.ts';

type Spec = z.output<typeof ClockSpec>;

/** A measured skew: local minus reference (ms) and the half-width of the interval the true skew lies in. */
interface Skew {
  skewMs: number;
  uncertaintyMs: number;
  roundTripMs: number;
  source: string;
}

/** `clock`: skew of the local clock against the collector's `Date` header or an SNTP server. */
export const clockCheck: CheckDefinition<'clock'> = {
  kind: 'clock',
  spec: ClockSpec,
  async run(spec, ctx) {
    try {
      const measured = spec.source === 'sntp' ? await measureSntp(spec, ctx) : await measureCollector(spec, ctx);
      return 'skewMs' in measured ? judge(spec, measured) : measured;
    } catch (err) {
      if (ctx.signal.aborted) return unknown('CHECK_TIMEOUT', 'clock reference query aborted by the runner');
      const code = err instanceof SntpError ? undefined : errorCode(err);
      return unknown('CLOCK_SOURCE_UNREACHABLE', boundedText(`${code ? `${code}: ` : ''}${errorMessage(err)}`, 300));
    }
  },
};

function judge(spec: Spec, m: Skew): Outcome {
  // Only skew beyond the measurement's uncertainty counts: a threshold finer than the reference's resolution must
  // not trip on rounding alone.
  const certain = Math.max(0, Math.abs(m.skewMs) - m.uncertaintyMs);
  const details = { skewMs: Math.round(m.skewMs), uncertaintyMs: Math.round(m.uncertaintyMs), roundTripMs: Math.round(m.roundTripMs), source: boundedText(m.source, 200) };
  const side = m.skewMs > 0 ? 'ahead of' : 'behind';
  const text = `local clock is ${Math.round(Math.abs(m.skewMs))} ms (±${Math.round(m.uncertaintyMs)} ms) ${side} ${details.source}`;
  if (certain > ms(spec.failSkew)) return fail('CLOCK_SKEW', `${text} (fail above ${spec.failSkew})`, details);
  if (certain > ms(spec.warnSkew)) return warn('CLOCK_SKEW', `${text} (warn above ${spec.warnSkew})`, details);
  return ok();
}

async function measureSntp(spec: Spec, ctx: CheckContext): Promise<Skew | Outcome> {
  if (!spec.server) return unknown('CHECK_MISCONFIGURED', 'clock: source sntp needs spec.server (host or host:port)');
  const target = hostPort(spec.server);
  if (!target) return unknown('CHECK_MISCONFIGURED', `clock: server ${JSON.stringify(boundedText(spec.server, 100))} is not host or host:port`);
  const { host, port } = target;
  const sample = await sntpQuery(host, port, ctx.now, ctx.signal, timeBudget(ctx));
  // RFC 4330: the offset is exact to within half the round trip (the paths may be asymmetric)
  return { skewMs: -sample.offsetMs, uncertaintyMs: sample.roundTripMs / 2, roundTripMs: sample.roundTripMs, source: `sntp ${host}:${port}` };
}

/**
 * Reads the collector's `Date` header. The header has 1 s resolution and is truncated: the server's clock read
 * some time in [D, D + 1 s) while the local clock was between send and receive. So the skew lies in an interval of
 * half-width 500 ms + half the round trip around its midpoint, and only skew beyond that is reported.
 */
async function measureCollector(spec: Spec, ctx: CheckContext): Promise<Skew | Outcome> {
  // The collector's base URL answers on /healthz cheaply; an explicit server URL is used as given.
  const url = spec.server ?? (ctx.collectorUrl ? new URL('healthz', ctx.collectorUrl.replace(/\/?$/, '/')).href : undefined);
  if (!url) return unknown('CHECK_MISCONFIGURED', 'clock: no collector URL configured and no spec.server');
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) return unknown('CHECK_MISCONFIGURED', `clock: server ${JSON.stringify(boundedText(url, 100))} is not an http(s) URL`);
  const budget = timeBudget(ctx);
  // A timer cleared when the run ends, not AbortSignal.timeout: that one fires later anyway and builds a
  // DOMException with a stack trace every run.
  const timeoutController = new AbortController();
  const timer = setTimeout(() => timeoutController.abort(), budget);
  const timeout = timeoutController.signal;
  try {
    const localStart = ctx.now();
    const started = performance.now();
    // A connection of its own, closed after the exchange: the round trip is that of a fresh request every run.
    const res = await httpRequest({ url: new URL(url), method: 'HEAD', signal: AbortSignal.any([ctx.signal, timeout]) });
    const roundTripMs = performance.now() - started;
    await discardBody(res, 64 * 1024);
    const header = res.headers.date;
    const date = typeof header === 'string' ? Date.parse(header) : NaN;
    if (Number.isNaN(date)) return unknown('CLOCK_SOURCE_UNREACHABLE', `no valid Date header from ${where(url)} (status ${res.statusCode ?? 0})`);
    const localMid = localStart + roundTripMs / 2;
    return { skewMs: localMid - (date + 500), uncertaintyMs: 500 + roundTripMs / 2, roundTripMs, source: `collector ${where(url)}` };
  } catch (err) {
    if (timeout.aborted && !ctx.signal.aborted) return unknown('CLOCK_SOURCE_UNREACHABLE', `no answer from ${where(url)} within ${budget} ms`);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** `host`, `host:port`, `[v6]:port` or a bare IPv6 address; port 123 by default. */
function hostPort(server: string): { host: string; port: number } | undefined {
  if (isIP(server) === 6) return { host: server, port: 123 };
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(server) ?? /^([^:]+)(?::(\d+))?$/.exec(server);
  if (!m) return undefined;
  const port = Number(m[2] ?? 123);
  return port >= 1 && port <= 65535 ? { host: m[1]!, port } : undefined;
}

/** Origin and path only: a query string may carry a token. */
function where(url: string): string {
  const u = URL.parse(url);
  return u ? `${u.origin}${u.pathname}` : boundedText(url, 100);
}
