import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { sendError, toHttpError } from '../../../collector/api/http-error.ts';
import { OperatorAuth } from '../../../collector/auth/operator-auth.ts';

const VIEWER = 'viewer-token-0123456789';
const ADMIN = 'admin-token-0123456789ab';

function app(auth: OperatorAuth) {
  const a = Fastify();
  a.setErrorHandler((err, _req, reply) => sendError(reply, toHttpError(err)));
  a.get('/read', { onRequest: auth.require('viewer') }, (req) => ({ who: req.operator }));
  a.post('/write', { onRequest: auth.require('admin') }, (req) => ({ who: req.operator }));
  return a;
}

const call = async (a: ReturnType<typeof app>, method: 'GET' | 'POST', url: string, token?: string) => {
  const r = await a.inject({ method, url, headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: r.statusCode, body: r.json<Record<string, unknown>>() };
};

describe('operator auth', () => {
  const auth = OperatorAuth.fromTokens({
    tokens: [
      { name: 'dashboards', token: VIEWER, role: 'viewer' },
      // Stored as its hash: the file need not hold the secret.
      { name: 'platform-admin', sha256: createHash('sha256').update(ADMIN).digest('hex'), role: 'admin' },
    ],
  });

  it('answers 401 without a token or with an unknown one', async () => {
    const a = app(auth);
    expect((await call(a, 'GET', '/read')).status).toBe(401);
    const r = await call(a, 'GET', '/read', 'not-a-known-token-at-all');
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ error: { code: 'PODPULSE_ERR_UNAUTHENTICATED' } });
  });

  it('lets a role do what it and the roles below it may, and answers 403 above it', async () => {
    const a = app(auth);
    expect(await call(a, 'GET', '/read', VIEWER)).toMatchObject({ status: 200, body: { who: { name: 'dashboards', role: 'viewer' } } });
    const denied = await call(a, 'POST', '/write', VIEWER);
    expect(denied.status).toBe(403);
    expect(denied.body).toMatchObject({ error: { code: 'PODPULSE_ERR_FORBIDDEN', message: expect.stringContaining('needs admin') as unknown } });
    expect(await call(a, 'GET', '/read', ADMIN)).toMatchObject({ status: 200, body: { who: { name: 'platform-admin', role: 'admin' } } });
    expect((await call(a, 'POST', '/write', ADMIN)).status).toBe(200);
  });

  it('in demo mode lets everyone in as an anonymous admin', async () => {
    expect(await call(app(OperatorAuth.none()), 'POST', '/write')).toMatchObject({ status: 200, body: { who: { name: 'anonymous', role: 'admin' } } });
  });

  it('refuses a bad tokens file naming the entry and field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'podpulse-ops-'));
    const file = join(dir, 'operators.yaml');
    writeFileSync(file, 'tokens:\n  - name: a\n    token: short\n    role: viewer\n  - name: b\n    token: long-enough-token-123\n    role: root\n');
    expect(() => OperatorAuth.fromFile(file)).toThrow(/tokens\[0\]\.token[\s\S]*tokens\[1\]\.role/);
    writeFileSync(file, 'tokens:\n  - name: both\n    token: long-enough-token-123\n    sha256: ' + 'a'.repeat(64) + '\n    role: viewer\n');
    expect(() => OperatorAuth.fromFile(file)).toThrow(/exactly one of token and sha256/);
  });
});
