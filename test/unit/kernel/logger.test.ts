import { describe, expect, it } from 'vitest';
import { captureLogs } from '../../helpers/capture-logs.ts';

describe('logger', () => {
  it('writes JSON lines with level names and the component of a child logger', () => {
    const cap = captureLogs();
    cap.log.child({ component: 'transport' }).info({ seq: 3 }, 'heartbeat delivered');
    const [line] = cap.find('heartbeat delivered');
    expect(line).toMatchObject({ level: 'info', component: 'transport', seq: 3, name: 'test' });
    expect(typeof line?.time).toBe('string');
  });

  it('redacts tokens, authorization headers and secrets wherever they appear', () => {
    const cap = captureLogs();
    const secret = 'eyJhbGciOiJSUzI1NiJ9.very-secret-token';
    cap.log.info({ token: secret, req: { headers: { authorization: `Bearer ${secret}` } }, sink: { secret } }, 'sending');
    cap.log.info({ config: { token: secret }, headers: { authorization: secret } }, 'config loaded');
    expect(cap.raw()).not.toContain('very-secret-token');
    expect(cap.find('sending')[0]).toMatchObject({ token: '[redacted]', sink: { secret: '[redacted]' } });
  });

  it('logs errors under err with their message and stack', () => {
    const cap = captureLogs();
    cap.log.error({ err: new Error('disk full') }, 'spool write failed');
    const [line] = cap.find('spool write failed');
    expect((line?.err as { message: string }).message).toBe('disk full');
    expect(String((line?.err as { stack: string }).stack)).toContain('Error: disk full');
  });
});
