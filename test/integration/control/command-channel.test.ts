import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectorUnderTest } from '../../helpers/collector-under-test.ts';
import { startDaemon, testConfig, type DaemonRun } from '../../helpers/daemon-harness.ts';
import { heartbeat } from '../../helpers/heartbeat-factory.ts';

type Json = Record<string, unknown>;

const dir = mkdtempSync(join(tmpdir(), 'podpulse-commands-'));
const POD_A = randomUUID();
const POD_B = randomUUID();
const TOKENS = { a: 'agent-token-pod-a-0001', b: 'agent-token-pod-b-0001', operator: 'operator-token-00001', viewer: 'viewer-token-0000001', admin: 'admin-token-00000001' };

/** What the collector may request; `uname-all` is known to the collector but in no pod's allowlist. */
const templates = [
  { name: 'echo', argv: ['echo', '{word}'], params: { word: { pattern: '[a-z]+' } } },
  { name: 'fail', argv: ['sh', '-c', 'exit 3'] },
  { name: 'uname-all', argv: ['uname', '-a'] },
];
const allowlist = [templates[0], templates[1]];

let collector: Awaited<ReturnType<typeof collectorUnderTest>>;
let daemon: DaemonRun;

async function api(method: string, path: string, token: string, body?: unknown): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${collector.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Json) : {} };
}

async function waitDone(id: string, timeoutMs = 30_000): Promise<Json> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await api('GET', `/api/v1/commands/${id}`, TOKENS.operator);
    if (r.body.done === true) return r.body;
    if (Date.now() > until) throw new Error(`command ${id} not done: ${JSON.stringify(r.body)}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

beforeAll(async () => {
  writeFileSync(join(dir, 'agents.yaml'), JSON.stringify({ tokens: [
    { name: 'pod-a', token: TOKENS.a, namespace: 'shop', app: 'web', podUid: POD_A },
    { name: 'pod-b', token: TOKENS.b, namespace: 'shop', app: 'web', podUid: POD_B },
  ] }));
  writeFileSync(join(dir, 'operators.yaml'), JSON.stringify({ tokens: [
    { name: 'oncall', token: TOKENS.operator, role: 'operator' },
    { name: 'dashboards', token: TOKENS.viewer, role: 'viewer' },
    { name: 'sre-bot', token: TOKENS.admin, role: 'admin' },
  ] }));
  writeFileSync(join(dir, 'token-a'), TOKENS.a);
  collector = await collectorUnderTest({
    auth: { mode: 'static', tokensFile: join(dir, 'agents.yaml') },
    operators: { tokensFile: join(dir, 'operators.yaml') },
    commands: { templates, ttl: '1m', resultTimeout: '3s', refreshInterval: '200ms' },
  } as never);
  // Both pods register through a heartbeat of their own token; only pod A has a running daemon.
  for (const [uid, token, pod] of [[POD_A, TOKENS.a, 'web-a'], [POD_B, TOKENS.b, 'web-b']] as const) {
    const hb = heartbeat({ instance: { podUid: uid, namespace: 'shop', app: 'web', pod } });
    const r = await fetch(`${collector.url}/v1/heartbeats`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(hb) });
    expect(r.status).toBe(202);
  }
  daemon = startDaemon(
    testConfig(collector.url, { collector: { url: collector.url, timeout: '5s', tokenFile: join(dir, 'token-a') }, commands: { allowlist, pollWait: 2 } }),
    undefined,
    { POD_UID: POD_A, POD_NAMESPACE: 'shop', POD_NAME: 'web-a', PODPULSE_APP: 'web' },
  );
}, 60_000);

afterAll(async () => {
  await daemon?.kill();
  await collector?.close();
});

describe('command channel with a real collector and a real daemon', () => {
  it('runs a template on the instance and stores its result, shown per instance', async () => {
    const created = await api('POST', '/api/v1/commands', TOKENS.operator, { template: 'echo', params: { word: 'hello' }, target: { podUid: POD_A } });
    expect(created.status).toBe(201);
    const view = await waitDone(created.body.id as string);
    expect(view).toMatchObject({ template: 'echo', params: { word: 'hello' }, requestedBy: { name: 'oncall', role: 'operator' }, summary: { completed: 1 } });
    const runs = view.runs as Json[];
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ status: 'completed', outcome: 'ok', instance: { podUid: POD_A, pod: 'web-a' }, result: { exitCode: 0, stdout: 'hello\n', stdoutTruncated: false, stderrTruncated: false } });
  }, 40_000);

  it('a template outside the pod allowlist is refused by the agent even though the collector sends it', async () => {
    const created = await api('POST', '/api/v1/commands', TOKENS.operator, { template: 'uname-all', target: { podUid: POD_A } });
    expect(created.status).toBe(201);
    const view = await waitDone(created.body.id as string);
    const run = (view.runs as Json[])[0]!;
    expect(run).toMatchObject({ status: 'refused', outcome: 'refused', result: { exitCode: null } });
    expect((run.result as Json).error).toMatch(/not in this pod's allowlist/);
    await daemon.waitLog((l) => l.msg === 'command refused' && l.commandId === created.body.id, 5000, 'the daemon refusing the command');
  }, 40_000);

  it('a viewer token cannot exec (403) and nothing is queued; unknown templates and bad params are 400 naming them', async () => {
    const viewer = await api('POST', '/api/v1/commands', TOKENS.viewer, { template: 'echo', params: { word: 'x' }, target: { podUid: POD_A } });
    expect(viewer.status).toBe(403);
    expect((viewer.body.error as Json).code).toBe('PODPULSE_ERR_FORBIDDEN');
    const unknown = await api('POST', '/api/v1/commands', TOKENS.operator, { template: 'rm-rf', target: { podUid: POD_A } });
    expect(unknown.status).toBe(400);
    expect((unknown.body.error as Json).violations).toEqual([expect.objectContaining({ path: 'template', message: expect.stringMatching(/unknown template "rm-rf"/) })]);
    const badParam = await api('POST', '/api/v1/commands', TOKENS.operator, { template: 'echo', params: { word: 'a;b' }, target: { podUid: POD_A } });
    expect(badParam.status).toBe(400);
    expect((badParam.body.error as Json).violations).toEqual([expect.objectContaining({ path: 'params.word' })]);
    const wide = await api('POST', '/api/v1/commands', TOKENS.operator, { template: 'echo', params: { word: 'x' }, target: { selector: { namespace: 'shop' }, maxFanOut: 1 } });
    expect(wide.status).toBe(400);
    expect((wide.body.error as Json).violations).toEqual([expect.objectContaining({ path: 'target.selector', message: expect.stringMatching(/more than maxFanOut 1/) })]);
    const noFanOut = await api('POST', '/api/v1/commands', TOKENS.operator, { template: 'echo', params: { word: 'x' }, target: { selector: { namespace: 'shop' } } });
    expect(noFanOut.status).toBe(400);
    expect((noFanOut.body.error as Json).violations).toEqual([expect.objectContaining({ path: 'target.maxFanOut' })]);
    const audit = await api('GET', '/api/v1/audit?action=command.create&outcome=denied', TOKENS.admin);
    expect((audit.body.items as Json[]).some((e) => (e.actor as Json).name === 'dashboards' && e.statusCode === 403)).toBe(true);
    const viewerAudit = await api('GET', '/api/v1/audit', TOKENS.viewer);
    expect(viewerAudit.status).toBe(403);
  }, 20_000);

  it('the long poll never serves another instance\'s commands', async () => {
    // A selector command reaches both pods; pod A's token asking as pod B, or with pod B's uid, gets nothing of B's.
    const created = await api('POST', '/api/v1/commands', TOKENS.operator, { template: 'echo', params: { word: 'fan' }, target: { selector: { namespace: 'shop', app: 'web' }, maxFanOut: 2 }, ttl: '3s' });
    expect(created.status).toBe(201);
    expect(created.body.instances).toBe(2);
    const asB = await fetch(`${collector.url}/v1/agent/commands?wait=0&podUid=${POD_B}`, { headers: { authorization: `Bearer ${TOKENS.a}` } });
    expect(asB.status).toBe(403);
    // Pod B's queue is still there: its own token takes it (once).
    const own = await fetch(`${collector.url}/v1/agent/commands?wait=0&podUid=${POD_B}&namespace=shop&pod=web-b`, { headers: { authorization: `Bearer ${TOKENS.b}` } });
    expect(own.status).toBe(200);
    const served = ((await own.json()) as { commands: Json[] }).commands;
    expect(served.map((c) => c.id)).toEqual([created.body.id]);
    const again = await fetch(`${collector.url}/v1/agent/commands?wait=0&podUid=${POD_B}`, { headers: { authorization: `Bearer ${TOKENS.b}` } });
    expect(again.status).toBe(204);
    // Pod B never posts a result; pod A (the daemon) does.
    const forged = await fetch(`${collector.url}/v1/agent/commands/${String(created.body.id)}/result?podUid=${POD_B}`, { method: 'POST', headers: { authorization: `Bearer ${TOKENS.a}`, 'content-type': 'application/json' }, body: '{}' });
    expect(forged.status).toBe(403);
    const view = await waitDoneOrDelivered(created.body.id as string);
    const byPod = new Map((view.runs as Json[]).map((r) => [(r.instance as Json).podUid, r]));
    expect(byPod.get(POD_A)).toMatchObject({ status: 'completed', result: { stdout: 'fan\n' } });
    expect(byPod.get(POD_B)).toMatchObject({ status: 'delivered' });
  }, 40_000);

  it('a waiting long poll answers as soon as a command is queued, and 204 when its wait runs out', async () => {
    const t0 = Date.now();
    const empty = await fetch(`${collector.url}/v1/agent/commands?wait=1&podUid=${POD_B}`, { headers: { authorization: `Bearer ${TOKENS.b}` } });
    expect(empty.status).toBe(204);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    const poll = fetch(`${collector.url}/v1/agent/commands?wait=20&podUid=${POD_B}`, { headers: { authorization: `Bearer ${TOKENS.b}` } });
    await new Promise((r) => setTimeout(r, 300));
    const queuedAt = Date.now();
    const created = await api('POST', '/api/v1/commands', TOKENS.operator, { template: 'echo', params: { word: 'wake' }, target: { podUid: POD_B } });
    const res = await poll;
    expect(res.status).toBe(200);
    expect(Date.now() - queuedAt).toBeLessThan(5_000);
    expect(((await res.json()) as { commands: Json[] }).commands).toEqual([expect.objectContaining({ id: created.body.id, template: 'echo', params: { word: 'wake' } })]);
    // The heartbeat answer tells a pod with queued work to poll now.
    const queued = await api('POST', '/api/v1/commands', TOKENS.operator, { template: 'echo', params: { word: 'hint' }, target: { podUid: POD_B }, ttl: '2s' });
    expect(queued.status).toBe(201);
    const hb = heartbeat({ instance: { podUid: POD_B, namespace: 'shop', app: 'web', pod: 'web-b' } });
    const ack = await fetch(`${collector.url}/v1/heartbeats`, { method: 'POST', headers: { authorization: `Bearer ${TOKENS.b}`, 'content-type': 'application/json' }, body: JSON.stringify(hb) });
    expect(((await ack.json()) as Json).commandsPending).toBe(true);
  }, 40_000);

  it('a command nobody picks up expires', async () => {
    // Pod B has no daemon: its command stays queued and expires after its ttl.
    const created = await api('POST', '/api/v1/commands', TOKENS.operator, { template: 'echo', params: { word: 'late' }, target: { podUid: POD_B }, ttl: '1s' });
    expect(created.status).toBe(201);
    const view = await waitDone(created.body.id as string, 10_000);
    expect((view.runs as Json[])[0]).toMatchObject({ status: 'expired', outcome: 'expired' });
    const until = Date.now() + 10_000;
    for (;;) {
      const audit = await api('GET', `/api/v1/audit?commandId=${String(created.body.id)}&action=command.expire`, TOKENS.operator);
      if ((audit.body.items as Json[]).length === 1) break;
      if (Date.now() > until) throw new Error('no command.expire audit entry');
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 20_000);

  it('the audit log holds every command with its outcome: create, delivery, result', async () => {
    const created = await api('POST', '/api/v1/commands', TOKENS.operator, { template: 'fail', target: { podUid: POD_A } });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const view = await waitDone(id);
    expect((view.runs as Json[])[0]).toMatchObject({ status: 'completed', outcome: 'failed', result: { exitCode: 3 } });
    const audit = await api('GET', `/api/v1/audit?commandId=${id}`, TOKENS.operator);
    const entries = (audit.body.items as Json[]).reverse();
    expect(entries.map((e) => [e.action, e.outcome])).toEqual([['command.create', 'ok'], ['command.deliver', 'ok'], ['command.result', 'failed']]);
    expect(entries[0]).toMatchObject({ actor: { type: 'operator', name: 'oncall', role: 'operator' }, instances: [POD_A], statusCode: 201, details: { template: 'fail' } });
    expect(entries[2]).toMatchObject({ actor: { type: 'agent', name: 'static:pod-a' }, instances: [POD_A], details: { status: 'completed', exitCode: 3 } });
    // Every command queued in this suite ends with an outcome in the log: a pod's result, its expiry, or lost (served
    // by hand above and never answered).
    const until = Date.now() + 15_000;
    for (;;) {
      const all = (await api('GET', '/api/v1/audit?action=command.&limit=1000', TOKENS.operator)).body.items as Json[];
      const creates = all.filter((e) => e.action === 'command.create' && e.outcome === 'ok');
      expect(creates).toHaveLength(7);
      const open = creates.filter((c) => !all.some((e) => e.commandId === c.commandId && ['command.result', 'command.expire', 'command.lost'].includes(e.action as string)));
      if (open.length === 0) {
        expect(all.filter((e) => e.action === 'command.lost').map((e) => e.outcome)).toEqual(expect.arrayContaining(['failed']));
        break;
      }
      if (Date.now() > until) throw new Error(`commands without an outcome: ${JSON.stringify(open)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }, 40_000);
});

/** The fan-out command: pod A completes, pod B (served by hand above) stays delivered. */
async function waitDoneOrDelivered(id: string): Promise<Json> {
  const until = Date.now() + 30_000;
  for (;;) {
    const r = await api('GET', `/api/v1/commands/${id}`, TOKENS.operator);
    const runs = r.body.runs as Json[];
    if (runs.every((x) => x.status !== 'queued') && runs.some((x) => x.status === 'completed')) return r.body;
    if (Date.now() > until) throw new Error(`command ${id} not settled: ${JSON.stringify(r.body)}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}
