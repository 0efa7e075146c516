import type { IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import type * as z from 'zod/mini';
import { discardBody, httpRequest, readBody, REDIRECT_STATUSES } from '../src/agent/http-request.ts';
import { HttpSpec } from '../src/protocol/checks/network-specs.ts';
import type { ReasonCode } from '../src/protocol/codes.ts';
import { ms } from '../src/units.ts';
import { boundedText } from './bounded-text.ts';
import { fail, ok, unknown, warn, type CheckDefinition, type Outcome } from './check.ts';
import { errorCode, errorMessage } from './error-code.ts';
import { httpBodyAssertion } from './http-body-assertion.ts';
import { timeBudget } from './time-budget.ts';
import { isTlsErrorCode } from './tls-error-code.ts';

type Spec = z.output<typeof HttpSpec>;

const CONNECT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EPIPE']);
const TIMEOUT_CODES = new Set(['ETIMEDOUT']);
/** Credentials are not carried to another origin on a redirect (as browsers and fetch do). */
const ORIGIN_BOUND_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization']);
/** A redirect's body is read up to this much before the next hop (its content is never looked at). */
const REDIRECT_BODY_LIMIT = 64 * 1024;

/** `http`: one request (following redirects per policy) with status, body and latency assertions. */
export const httpCheck: CheckDefinition<'http'> = {
  kind: 'http',
  spec: HttpSpec,
  async run(spec, ctx) {
    const budget = timeBudget(ctx);
    const timeout = new AbortController();
    // One deadline for connect, headers and body: the timer aborts the exchange wherever it is.
    const timer = setTimeout(() => timeout.abort(), budget);
    const signal = AbortSignal.any([ctx.signal, timeout.signal]);
    try {
      return await exchange(spec, signal);
    } catch (err) {
      if (timeout.signal.aborted) return fail('HTTP_TIMEOUT', `no complete response from ${where(spec.url)} within ${budget} ms`);
      if (ctx.signal.aborted) return unknown('CHECK_TIMEOUT', `request to ${where(spec.url)} aborted by the runner`);
      return failure(err, spec.url);
    } finally {
      clearTimeout(timer);
    }
  },
};

/**
 * The request and its redirects. Each hop has a connection of its own, closed after it (no keep-alive): no socket
 * outlives the run or is shared between checks, and every run measures a fresh connection, as a cold client would.
 */
async function exchange(spec: Spec, signal: AbortSignal): Promise<Outcome> {
  const started = performance.now();
  let url = new URL(spec.url);
  let method: string = spec.method;
  let body = spec.body;
  let headers = { ...spec.headers };
  for (let hops = 0; ; hops++) {
    const res = await httpRequest({ url, method, headers, body, signal, rejectUnauthorized: spec.tlsVerify });
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    if (REDIRECT_STATUSES.has(status) && location !== undefined && spec.redirects !== 'none') {
      await discardBody(res, REDIRECT_BODY_LIMIT).catch(() => undefined);
      const next = URL.canParse(location, url.href) ? new URL(location, url) : undefined;
      const to = boundedText(location, 200);
      if (spec.redirects === 'fail') return fail('HTTP_REDIRECT', `${status} redirect to ${to}; redirects: fail`, { status });
      if (hops >= spec.maxRedirects) return fail('HTTP_REDIRECT', `more than ${spec.maxRedirects} redirects (last to ${to})`, { status });
      if (!next || !/^https?:$/.test(next.protocol)) return fail('HTTP_REDIRECT', `redirect to an unusable location ${to}`, { status });
      // 303 always, and 301/302 after a POST (as every client does), turn into a GET without a body
      if (status === 303 || ((status === 301 || status === 302) && method === 'POST')) {
        method = method === 'HEAD' ? 'HEAD' : 'GET';
        body = undefined;
      }
      if (next.origin !== url.origin) headers = Object.fromEntries(Object.entries(headers).filter(([k]) => !ORIGIN_BOUND_HEADERS.has(k.toLowerCase())));
      url = next;
      continue;
    }
    return judge(spec, res, status, started, url);
  }
}

async function judge(spec: Spec, res: IncomingMessage, status: number, started: number, url: URL): Promise<Outcome> {
  const needsBody = spec.bodyContains !== undefined || spec.bodyRegex !== undefined || spec.json !== undefined;
  const statusOk = spec.expectStatus.some((m) => (typeof m === 'number' ? m === status : Math.floor(status / 100) === Number(m[0])));
  let text = '';
  let truncated = false;
  if (statusOk && needsBody) {
    const read = await readBody(res, spec.maxBodyBytes);
    text = read.body.toString('utf8');
    truncated = read.truncated;
  } else await discardBody(res, spec.maxBodyBytes); // the latency is to the end of the body either way
  const latencyMs = Math.round(performance.now() - started);
  const details = { status, latencyMs, url: where(url.href) };
  if (!statusOk) {
    return fail('HTTP_STATUS', `status ${status} from ${details.url}, expected ${spec.expectStatus.join(', ')}`, details);
  }
  const bodyOutcome = httpBodyAssertion(spec, text, truncated);
  if (bodyOutcome) return { ...bodyOutcome, details: { ...details, truncated } };
  if (spec.failLatency && latencyMs > ms(spec.failLatency)) return fail('LATENCY_HIGH', `response took ${latencyMs} ms (fail above ${spec.failLatency})`, details);
  if (spec.warnLatency && latencyMs > ms(spec.warnLatency)) return warn('LATENCY_HIGH', `response took ${latencyMs} ms (warn above ${spec.warnLatency})`, details);
  return ok();
}

function failure(err: unknown, url: string): Outcome {
  const code = errorCode(err);
  const message = `${where(url)}: ${boundedText(errorMessage(err))}`;
  const details = { error: code ?? null };
  let reason: ReasonCode = 'HTTP_ERROR';
  if (code && TIMEOUT_CODES.has(code)) reason = 'HTTP_TIMEOUT';
  else if (isTlsErrorCode(code)) reason = 'HTTP_TLS';
  else if (code && CONNECT_CODES.has(code)) reason = 'HTTP_CONNECT';
  return fail(reason, message, details);
}

/** Origin and path only: a query string may carry a token, and user info a password. */
function where(url: string): string {
  const u = URL.parse(url);
  return u ? boundedText(`${u.origin}${u.pathname}`, 200) : '(invalid URL)';
}
