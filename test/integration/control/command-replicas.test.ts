import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectorUnderTest } from '../../helpers/collector-under-test.ts';
import { heartbeat } from '../../helpers/heartbeat-factory.ts';
import { testPostgres, type TestPostgres } from '../../helpers/postgres.ts';

type Json = Record<string, unknown>;
const dir = mkdtempSync(join(tmpdir(), 'podpulse-replicas-'));
const POD = randomUUID();
const AGENT = 'agent-token-replica-0001';
const OPERATOR = 'operator-token-replica1';

let pg: TestPostgres;
let one: Awaited<ReturnType<typeof collectorUnderTest>> | undefined;
let two: Awaited<ReturnType<typeof collectorUnderTest>> | undefined;

beforeAll(async () => {
  pg = await testPostgres();
  if (!pg.url) return;
  writeFileSync(join(dir, 'agents.json'), JSON.stringify({ tokens: [{ name: 'pod', token: AGENT, namespace: 'shop', app: 'web', podUid: POD }] }));
  writeFileSync(join(dir, 'operators.json'), JSON.stringify({ tokens: [{ name: 'oncall', token: OPERATOR, role: 'operator' }] }));
  const over = {
    store: { kind: 'postgres', url: pg.url, schema: pg.schema },
    auth: { mode: 'static', tokensFile: join(dir, 'agents.json') },
    operators: { tokensFile: join(dir, 'operators.json') },
    commands: { templates: [{ name: 'echo', params: { word: { pattern: '[a-z]+' } } }], refreshInterval: '300ms' },
  };
  one = await collectorUnderTest(over as never);
  two = await collectorUnderTest(over as never);
  const hb = heartbeat({ instance: { podUid: POD, namespace: 'shop', app: 'web', pod: 'web-a' } });
  const r = await fetch(`${one.url}/v1/heartbeats`, { method: 'POST', headers: { authorization: `Bearer ${AGENT}`, 'content-type': 'application/json' }, body: JSON.stringify(hb) });
  expect(r.status).toBe(202);
}, 60_000);

afterAll(async () => {
  await one?.close();
  await two?.close();
  await pg?.stop();
});

const poll = (url: string, wait: number) => fetch(`${url}/v1/agent/commands?wait=${wait}&podUid=${POD}&namespace=shop&pod=web-a`, { headers: { authorization: `Bearer ${AGENT}` } });

describe('command channel across two collector replicas on one PostgreSQL', () => {
  it('a command queued on one replica reaches a long poll waiting on the other, once, and its result shows on both', async (t) => {
    if (!pg.url) t.skip(`no PostgreSQL: ${pg.reason}`);
    const command = async (word: string): Promise<string> => {
      const res = await fetch(`${one!.url}/api/v1/commands`, { method: 'POST', headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' }, body: JSON.stringify({ template: 'echo', params: { word }, target: { podUid: POD } }) });
      expect(res.status).toBe(201);
      return ((await res.json()) as Json).id as string;
    };
    const served = async (res: Response): Promise<unknown[]> => (res.status === 200 ? ((await res.json()) as { commands: Json[] }).commands.map((c) => c.id) : []);

    // Queued on replica one, picked up by a poll waiting on replica two within its refresh interval.
    const waitingOnTwo = poll(two!.url, 20);
    await new Promise((r) => setTimeout(r, 300));
    const queuedAt = Date.now();
    const id = await command('hi');
    expect(await served(await waitingOnTwo)).toEqual([id]);
    expect(Date.now() - queuedAt).toBeLessThan(5_000);

    // Polls on both replicas at once: exactly one gets the next command (delivery is a claim, not a broadcast).
    const both = [poll(one!.url, 3), poll(two!.url, 3)];
    await new Promise((r) => setTimeout(r, 300));
    const second = await command('again');
    expect((await Promise.all((await Promise.all(both)).map(served))).flat()).toEqual([second]);
    const at = new Date().toISOString();
    const result = { id, status: 'completed', exitCode: 0, signal: null, startedAt: at, finishedAt: at, durationMs: 1, stdout: 'hi\n', stderr: '', stdoutTruncated: false, stderrTruncated: false };
    const posted = await fetch(`${two!.url}/v1/agent/commands/${id}/result?podUid=${POD}`, { method: 'POST', headers: { authorization: `Bearer ${AGENT}`, 'content-type': 'application/json' }, body: JSON.stringify(result) });
    expect(posted.status).toBe(200);
    for (const c of [one!, two!]) {
      const view = (await (await fetch(`${c.url}/api/v1/commands/${id}`, { headers: { authorization: `Bearer ${OPERATOR}` } })).json()) as { runs: Json[]; done: boolean };
      expect(view.done).toBe(true);
      expect(view.runs[0]).toMatchObject({ status: 'completed', result: { stdout: 'hi\n' } });
    }
  }, 40_000);
});
