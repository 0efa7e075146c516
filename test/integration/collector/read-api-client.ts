import { request } from 'undici';
import type { Heartbeat } from '../../../src/protocol/heartbeat.ts';

/** What the read API answered: status and parsed JSON body. */
export interface ApiAnswer {
  status: number;
  // Tests read arbitrary fields of the JSON answers.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

/** GET a read API path, with an operator bearer token when given. */
export async function apiGet(base: string, path: string, token?: string): Promise<ApiAnswer> {
  const res = await request(`${base}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await res.body.text();
  return { status: res.statusCode, json: text ? (JSON.parse(text) as unknown) : undefined };
}

/** POSTs heartbeats (one, or a batch) to the agent API; returns the status. */
export async function postBeats(base: string, hbs: Heartbeat | Heartbeat[], token?: string): Promise<number> {
  const body = Array.isArray(hbs) ? { apiVersion: 'podpulse.io/v1', heartbeats: hbs } : hbs;
  const res = await request(`${base}/v1/heartbeats`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  await res.body.dump();
  return res.statusCode;
}

/** Polls until `fn` returns a value that is not undefined, or fails after `timeoutMs`. */
export async function eventually<T>(fn: () => Promise<T | undefined>, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
