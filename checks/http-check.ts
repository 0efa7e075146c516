import { performance } from 'node:perf_hooks';
import { Agent, request, type Dispatcher } from 'undici';
import type { z } from 'zod';
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
type Body = Dispatcher.ResponseData['body'];

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const CONNECT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EPIPE']);
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);
/** Credentials are not carried to another origin on a redirect (as browsers and fetch do). */
const ORIGIN_BOUND_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization']);

/** `http`: one request (following redirects per policy) with status, body and latency assertions. */
export const httpCheck: CheckDefinition<'http'> = {
  kind: 'http',
  spec: HttpSpec,
  async run(spec, ctx) {
    const budget = timeBudget(ctx);
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), budget);
    // A dispatcher per run without keep-alive (pipelining 0): no pooled socket outlives the run or leaks between
    // checks, and every run measures a fresh connection, as a cold client would see it.
    const agent = new Agent({ pipelining: 0, connect: { rejectUnauthorized: spec.tlsVerify, timeout: budget }, headersTimeout: budget, bodyTimeout: budget });
    const signal = AbortSignal.any([ctx.signal, timeout.signal]);
    try {
      return await exchange(spec, agent, signal);
    } catch (err) {
      if (timeout.signal.aborted) return fail('HTTP_TIMEOUT', `no complete response from ${where(spec.url)} within ${budget} ms`);
      if (ctx.signal.aborted) return unknown('CHECK_TIMEOUT', `request to ${where(spec.url)} aborted by the runner`);
      return failure(err, spec.url);
    } finally {
      clearTimeout(timer);
      await agent.destroy().catch(() => undefined);
    }
  },
};

async function exchange(spec: Spec, agent: Agent, signal: AbortSignal): Promise<Outcome> {
  const started = performance.now();
  let url = new URL(spec.url);
  let method: Dispatcher.HttpMethod = spec.method;
  let body = spec.body;
  let headers = { ...spec.headers };
  for (let hops = 0; ; hops++) {
    const res = await request(url.href, { method, headers, body, signal, dispatcher: agent });
    const location = single(res.headers.location);
    if (REDIRECTS.has(res.statusCode) && location !== undefined && spec.redirects !== 'none') {
      await res.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
      const next = URL.canParse(location, url.href) ? new URL(location, url) : undefined;
      const to = boundedText(location, 200);
      if (spec.redirects === 'fail') return fail('HTTP_REDIRECT', `${res.statusCode} redirect to ${to}; redirects: fail`, { status: res.statusCode });
      if (hops >= spec.maxRedirects) return fail('HTTP_REDIRECT', `more than ${spec.maxRedirects} redirects (last to ${to})`, { status: res.statusCode });
      if (!next || !/^https?:$/.test(next.protocol)) return fail('HTTP_REDIRECT', `redirect to an unusable location ${to}`, { status: res.statusCode });
      // 303 always, and 301/302 after a POST (as every client does), turn into a GET without a body
      if (res.statusCode === 303 || ((res.statusCode === 301 || res.statusCode === 302) && method === 'POST')) {
        method = method === 'HEAD' ? 'HEAD' : 'GET';
        body = undefined;
      }
      if (next.origin !== url.origin) headers = Object.fromEntries(Object.entries(headers).filter(([k]) => !ORIGIN_BOUND_HEADERS.has(k.toLowerCase())));
      url = next;
      continue;
    }
    return judge(spec, res, started, url);
  }
}

async function judge(spec: Spec, res: Dispatcher.ResponseData, started: number, url: URL): Promise<Outcome> {
  const needsBody = spec.bodyContains !== undefined || spec.bodyRegex !== undefined || spec.json !== undefined;
  const statusOk = spec.expectStatus.some((m) => (typeof m === 'number' ? m === res.statusCode : Math.floor(res.statusCode / 100) === Number(m[0])));
  let text = '';
  let truncated = false;
  if (statusOk && needsBody) ({ text, truncated } = await readBounded(res.body, spec.maxBodyBytes));
  else await res.body.dump({ limit: spec.maxBodyBytes });
  const latencyMs = Math.round(performance.now() - started);
  const details = { status: res.statusCode, latencyMs, url: where(url.href) };
  if (!statusOk) {
    return fail('HTTP_STATUS', `status ${res.statusCode} from ${details.url}, expected ${spec.expectStatus.join(', ')}`, details);
  }
  const bodyOutcome = httpBodyAssertion(spec, text, truncated);
  if (bodyOutcome) return { ...bodyOutcome, details: { ...details, truncated } };
  if (spec.failLatency && latencyMs > ms(spec.failLatency)) return fail('LATENCY_HIGH', `response took ${latencyMs} ms (fail above ${spec.failLatency})`, details);
  if (spec.warnLatency && latencyMs > ms(spec.warnLatency)) return warn('LATENCY_HIGH', `response took ${latencyMs} ms (warn above ${spec.warnLatency})`, details);
  return ok();
}

/** Reads at most `max` bytes of the body and destroys the rest, so a huge or endless body costs nothing more. */
async function readBounded(body: Body, max: number): Promise<{ text: string; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    const room = max - size;
    if (chunk.length > room) {
      chunks.push(chunk.subarray(0, room));
      truncated = true;
      break; // leaving the loop destroys the stream
    }
    chunks.push(chunk);
    size += chunk.length;
  }
  return { text: Buffer.concat(chunks).toString('utf8'), truncated };
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

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
