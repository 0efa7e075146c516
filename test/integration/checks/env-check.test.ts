import { describe, expect, it } from 'vitest';
import { envCheck } from '../../../checks/env-check.ts';
import { checkContext } from '../../helpers/check-context.ts';

const SECRET = 'postgres://admin:hunter2-s3cr3t@db:5432/app';
const check = (input: Record<string, unknown>, env: NodeJS.ProcessEnv) => envCheck.run(envCheck.spec.parse(input), checkContext({ env }));

/** No piece of the value (8 characters or more) appears anywhere in the outcome. */
function expectNoValue(outcome: unknown, value: string) {
  const text = JSON.stringify(outcome);
  for (let i = 0; i + 8 <= value.length; i++) expect(text).not.toContain(value.slice(i, i + 8));
}

describe('env check', () => {
  it('is ok when every required variable is set and matches its pattern', async () => {
    const out = await check({ required: [{ name: 'DATABASE_URL', pattern: '^postgres://' }, { name: 'REGION' }] }, { DATABASE_URL: SECRET, REGION: 'eu-1' });
    expect(out).toEqual({ status: 'ok', code: 'OK' });
  });

  it('reports ENV_MISSING naming every variable that is unset or empty', async () => {
    const out = await check({ required: [{ name: 'DATABASE_URL' }, { name: 'API_KEY' }, { name: 'REGION' }] }, { DATABASE_URL: SECRET, API_KEY: '' });
    expect(out).toMatchObject({ status: 'fail', code: 'ENV_MISSING', details: { missing: 'API_KEY,REGION' } });
    expect(out.message).toContain('API_KEY');
    expect(out.message).toContain('REGION');
    expect(out.message).not.toContain('DATABASE_URL');
  });

  it('reports ENV_INVALID naming the variable, and never its value, when the value does not match', async () => {
    const out = await check({ required: [{ name: 'DATABASE_URL', pattern: '^mysql://' }] }, { DATABASE_URL: SECRET });
    expect(out).toMatchObject({ status: 'fail', code: 'ENV_INVALID', details: { invalid: 'DATABASE_URL' } });
    expect(out.message).toContain('DATABASE_URL');
    expectNoValue(out, SECRET);
  });

  it('reports ENV_MISSING first, and lists invalid ones too, when both happen', async () => {
    const out = await check({ required: [{ name: 'DATABASE_URL', pattern: '^mysql://' }, { name: 'REGION' }] }, { DATABASE_URL: SECRET });
    expect(out).toMatchObject({ status: 'fail', code: 'ENV_MISSING', details: { missing: 'REGION', invalid: 'DATABASE_URL' } });
    expectNoValue(out, SECRET);
  });
});
