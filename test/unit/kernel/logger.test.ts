import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/log/logger.ts';
import { createPinoLogger } from '../../../src/log/pino-logger.ts';
import { captureLogs } from '../../helpers/capture-logs.ts';

// The agent's JSON logger and the collector's pino logger write the same line; every case runs against both.
describe.each([
  ['agent JSON logger', createLogger],
  ['collector pino logger', createPinoLogger],
])('logger (%s)', (_name, create) => {
  it('writes JSON lines with level names and the component of a child logger', () => {
    const cap = captureLogs('debug', create);
    cap.log.child({ component: 'transport' }).info({ seq: 3 }, 'heartbeat delivered');
    const [line] = cap.find('heartbeat delivered');
    expect(line).toMatchObject({ level: 'info', component: 'transport', seq: 3, name: 'test', pid: process.pid });
    expect(new Date(line!.time as string).toISOString()).toBe(line!.time);
    expect(Object.keys(line!)).toEqual(['level', 'time', 'pid', 'name', 'component', 'seq', 'msg']);
  });

  it('redacts tokens, authorization headers and secrets wherever they appear', () => {
    const cap = captureLogs('debug', create);
    const secret = 'eyJhbGciOiJSUzI1NiJ9.very-secret-token';
    cap.log.info({ token: secret, req: { headers: { authorization: `Bearer ${secret}`, cookie: secret } }, sink: { secret } }, 'sending');
    cap.log.info({ config: { token: secret }, headers: { authorization: secret }, env: { API_KEY: secret, HOME: '/root' } }, 'config loaded');
    cap.log.child({ token: secret, peer: { password: secret } }).warn({ upstream: { headers: { authorization: secret } } }, 'bound');
    cap.log.info({ privateKey: secret, key: { privateKey: secret }, authorization: secret }, 'keys');
    expect(cap.raw()).not.toContain('very-secret-token');
    expect(cap.find('sending')[0]).toMatchObject({ token: '[redacted]', sink: { secret: '[redacted]' }, req: { headers: { authorization: '[redacted]', cookie: '[redacted]' } } });
    expect(cap.find('config loaded')[0]).toMatchObject({ env: { API_KEY: '[redacted]', HOME: '[redacted]' } });
    expect(cap.find('bound')[0]).toMatchObject({ token: '[redacted]', peer: { password: '[redacted]' }, upstream: { headers: { authorization: '[redacted]' } } });
  });

  it('leaves the logged objects alone and fields off the redacted paths as they are', () => {
    const cap = captureLogs('debug', create);
    const fields = { token: 'abc', user: { name: 'oncall', token: 'def' }, count: 2 };
    cap.log.info(fields, 'who');
    expect(fields).toEqual({ token: 'abc', user: { name: 'oncall', token: 'def' }, count: 2 });
    expect(cap.find('who')[0]).toMatchObject({ token: '[redacted]', user: { name: 'oncall', token: '[redacted]' }, count: 2 });
  });

  it('logs errors under err with type, message, stack, code and causes', () => {
    const cap = captureLogs('debug', create);
    const err = Object.assign(new TypeError('disk full', { cause: new Error('ENOSPC on /spool') }), { code: 'E_SPOOL' });
    cap.log.error({ err }, 'spool write failed');
    cap.log.error(new Error('given alone'), 'bare error');
    const e = cap.find('spool write failed')[0]!.err as Record<string, string>;
    expect(e).toMatchObject({ type: 'TypeError', message: 'disk full: ENOSPC on /spool', code: 'E_SPOOL' });
    expect(e.stack).toContain('TypeError: disk full');
    expect(e.stack).toContain('caused by: Error: ENOSPC on /spool');
    expect(cap.find('bare error')[0]!.err).toMatchObject({ type: 'Error', message: 'given alone' });
  });

  it('drops lines below the level, follows level changes, and a child starts at its parent level', () => {
    const cap = captureLogs('info', create);
    cap.log.debug({ n: 1 }, 'hidden');
    cap.log.info('shown');
    expect(cap.log.isLevelEnabled('debug')).toBe(false);
    expect(cap.log.isLevelEnabled('warn')).toBe(true);
    cap.log.level = 'warn';
    const child = cap.log.child({ component: 'c' });
    cap.log.info('hidden too');
    child.info('hidden in child');
    child.warn('child warns');
    child.level = 'trace';
    child.trace('child traces');
    cap.log.debug('parent still at warn');
    expect(cap.lines().map((l) => `${String(l.level)} ${String(l.msg)}`)).toEqual(['info shown', 'warn child warns', 'trace child traces']);
    cap.log.level = 'silent';
    cap.log.fatal('nothing at silent');
    expect(cap.lines()).toHaveLength(3);
  });

  it('a text-only call has just msg, a fields-only call no msg, and later child bindings win', () => {
    const cap = captureLogs('debug', create);
    cap.log.warn('plain text');
    cap.log.info({ only: 'fields' });
    cap.log.child({ component: 'a' }).child({ component: 'b', extra: 1 }).info({ component: 'c' }, 'nested');
    const [plain, fieldsOnly, nested] = cap.lines();
    expect(plain).toMatchObject({ level: 'warn', msg: 'plain text' });
    expect(fieldsOnly).toMatchObject({ only: 'fields' });
    expect(fieldsOnly).not.toHaveProperty('msg');
    expect(nested).toMatchObject({ component: 'c', extra: 1, msg: 'nested' });
  });
});

describe('agent JSON logger', () => {
  it('writes a line for an object with a cycle or a BigInt instead of throwing', () => {
    const cap = captureLogs('debug');
    const loop: Record<string, unknown> = { name: 'loop' };
    loop.self = loop;
    cap.log.info({ loop, big: 2n ** 70n }, 'odd values');
    expect(cap.find('odd values')[0]).toMatchObject({ loop: { name: 'loop', self: '[Circular]' }, big: '1180591620717411303424' });
  });

  it('refuses an unknown level', () => {
    expect(() => createLogger({ name: 'x', level: 'loud' as 'info' })).toThrow(/unknown log level/);
  });
});
