import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateReleaseKeyPair } from '../../../src/release/signing.ts';
import { collectorUnderTest } from '../../helpers/collector-under-test.ts';
import { startDaemon, testConfig, WORKERS, type DaemonRun } from '../../helpers/daemon-harness.ts';
import { heartbeat } from '../../helpers/heartbeat-factory.ts';

const CLI = fileURLToPath(new URL('../../../dist/cli.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'podpulse-cli-'));
const POD_A = randomUUID();
const POD_B = randomUUID();
const TOKENS = { a: 'agent-token-pod-a-0001', b: 'agent-token-pod-b-0001', operator: 'operator-token-00001', viewer: 'viewer-token-0000001', admin: 'admin-token-00000001' };
const KEYS = generateReleaseKeyPair();
const templates = [
  { name: 'echo', argv: ['echo', '{word}'], params: { word: { pattern: '[a-z]+' } } },
  { name: 'fail', argv: ['sh', '-c', 'echo oops >&2; exit 3'] },
  { name: 'uname-all', argv: ['uname', '-a'] },
];

let collector: Awaited<ReturnType<typeof collectorUnderTest>>;
let daemon: DaemonRun;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI with a clean environment (no user config), plus `env`. */
function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', HOME: dir, XDG_CONFIG_HOME: join(dir, 'no-config'), ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}
const as = (token: string) => ['--server', collector.url, '--token', token];

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  writeFileSync(join(dir, 'agents.yaml'), JSON.stringify({ tokens: [
    { name: 'pod-a', token: TOKENS.a, namespace: 'shop', app: 'web', podUid: POD_A },
    { name: 'pod-b', token: TOKENS.b, namespace: 'shop', app: 'api', podUid: POD_B },
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
    commands: { templates, refreshInterval: '200ms' },
    releases: { publicKeys: [{ keyId: 'ci', pem: KEYS.publicKeyPem }] },
  } as never);
  for (const [uid, token, pod, app] of [[POD_A, TOKENS.a, 'web-a', 'web'], [POD_B, TOKENS.b, 'api-b', 'api']] as const) {
    const hb = heartbeat({ instance: { podUid: uid, namespace: 'shop', app, pod } });
    const r = await fetch(`${collector.url}/v1/heartbeats`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(hb) });
    expect(r.status).toBe(202);
  }
  daemon = startDaemon(
    testConfig(collector.url, { collector: { url: collector.url, timeout: '5s', tokenFile: join(dir, 'token-a') }, commands: { allowlist: [templates[0], templates[1]], pollWait: 2 } }),
    undefined,
    { POD_UID: POD_A, POD_NAMESPACE: 'shop', POD_NAME: 'web-a', PODPULSE_APP: 'web' },
  );
}, 60_000);

afterAll(async () => {
  await daemon?.kill();
  await collector?.close();
});

describe('podpulse CLI (dist/cli.mjs) against a real collector', () => {
  it('instances: a table for people, JSON for scripts', async () => {
    const t = await cli(['instances', ...as(TOKENS.viewer)]);
    expect(t.code, t.stderr).toBe(0);
    const lines = t.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAMESPACE\s+POD\s+APP\s+STATUS\s+NODE\s+LAST SEEN\s+POD UID$/);
    expect(lines).toHaveLength(3);
    expect(t.stdout).toMatch(new RegExp(`shop\\s+web-a\\s+web\\s+healthy\\s+.*${POD_A}`));
    const j = await cli(['instances', '--app', 'api', '--json', ...as(TOKENS.viewer)]);
    expect(j.code, j.stderr).toBe(0);
    const body = JSON.parse(j.stdout) as { items: { podUid: string; pod: string }[] };
    expect(body.items.map((i) => [i.podUid, i.pod])).toEqual([[POD_B, 'api-b']]);
    const one = await cli(['instance', POD_A, '--json', ...as(TOKENS.viewer)]);
    expect(JSON.parse(one.stdout)).toMatchObject({ podUid: POD_A, namespace: 'shop', pod: 'web-a' });
  });

  it('takes the server and token from the environment or the config file, flags winning', async () => {
    const env = await cli(['instances', '--json'], { PODPULSE_SERVER: collector.url, PODPULSE_TOKEN: TOKENS.viewer });
    expect(env.code, env.stderr).toBe(0);
    expect((JSON.parse(env.stdout) as { items: unknown[] }).items).toHaveLength(2);
    const cfgDir = join(dir, 'xdg', 'podpulse');
    mkdirSync(cfgDir, { recursive: true });
    writeFileSync(join(cfgDir, 'cli.yaml'), `server: ${collector.url}\ntoken: ${TOKENS.viewer}\n`);
    const file = await cli(['instances'], { XDG_CONFIG_HOME: join(dir, 'xdg') });
    expect(file.code, file.stderr).toBe(0);
    const overridden = await cli(['instances', '--token', 'not-a-known-token-0000'], { XDG_CONFIG_HOME: join(dir, 'xdg') });
    expect(overridden.code).toBe(4);
  });

  it('exit codes: 4 for a bad token or a too-low role, 5 unreachable, 3 not found, 2 usage', async () => {
    const bad = await cli(['instances', ...as('not-a-known-token-0000')]);
    expect(bad.code).toBe(4);
    expect(bad.stderr).toMatch(/^podpulse: PODPULSE_ERR_UNAUTHENTICATED: /);
    const viewerExec = await cli(['exec', POD_A, 'echo', 'word=hi', ...as(TOKENS.viewer)]);
    expect(viewerExec.code).toBe(4);
    expect(viewerExec.stderr).toMatch(/PODPULSE_ERR_FORBIDDEN: role viewer of dashboards may not do this; it needs operator/);
    const down = await cli(['instances', '--server', `http://127.0.0.1:${await freePort()}`, '--token', TOKENS.viewer]);
    expect(down.code).toBe(5);
    expect(down.stderr).toMatch(/PODPULSE_ERR_COLLECTOR_UNAVAILABLE: cannot reach .*ECONNREFUSED/);
    const downJson = await cli(['instances', '--json', '--server', `http://127.0.0.1:${await freePort()}`]);
    expect(downJson.code).toBe(5);
    expect(JSON.parse(downJson.stderr)).toMatchObject({ error: { code: 'PODPULSE_ERR_COLLECTOR_UNAVAILABLE' }, exitCode: 5 });
    const missing = await cli(['instance', randomUUID(), ...as(TOKENS.viewer)]);
    expect(missing.code).toBe(3);
    expect((await cli(['instances', '--bogus', ...as(TOKENS.viewer)])).code).toBe(2);
    expect((await cli(['rollout', ...as(TOKENS.viewer)])).code).toBe(2);
    expect((await cli(['exec', ...as(TOKENS.operator)])).code).toBe(2);
    expect((await cli(['instances'])).stderr).toMatch(/no server: give --server, set PODPULSE_SERVER/);
  });

  it('exec prints each instance result and exits 0 when all succeed', async () => {
    const r = await cli(['exec', POD_A, 'echo', 'word=hello', ...as(TOKENS.operator)]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`== shop/web-a (${POD_A}): completed exit 0 in ${/in (\d+) ms/.exec(r.stdout)?.[1]} ms\nhello\n`);
    expect(r.stderr).toMatch(/queued for 1 instance\(s\)/);
    expect(r.stderr).toMatch(/1 completed/);
    // namespace/pod works as the instance too; --json gives one JSON line per event.
    const j = await cli(['exec', 'shop/web-a', 'echo', 'word=json', '--json', ...as(TOKENS.operator)]);
    expect(j.code, j.stderr).toBe(0);
    const events = j.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.map((e) => e.type)).toEqual(['queued', 'result', 'summary']);
    expect(events[1]).toMatchObject({ status: 'completed', outcome: 'ok', exitCode: 0, stdout: 'json\n', stdoutTruncated: false, instance: { podUid: POD_A } });
    expect(events[2]).toMatchObject({ done: true, failed: 0, pending: 0 });
  }, 60_000);

  it('exec exits 6 when the command fails or is refused on an instance, 1 when the collector refuses it', async () => {
    const fail = await cli(['exec', POD_A, 'fail', ...as(TOKENS.operator)]);
    expect(fail.code).toBe(6);
    expect(fail.stdout).toMatch(/completed exit 3/);
    expect(fail.stdout).toMatch(/stderr\| oops/);
    const refused = await cli(['exec', POD_A, 'uname-all', ...as(TOKENS.operator)]);
    expect(refused.code).toBe(6);
    expect(refused.stdout).toMatch(/: refused in \d+ ms — template "uname-all" is not in this pod's allowlist/);
    const badParam = await cli(['exec', POD_A, 'echo', 'word=NOPE', ...as(TOKENS.operator)]);
    expect(badParam.code).toBe(1);
    expect(badParam.stderr).toMatch(/PODPULSE_ERR_COMMAND_REJECTED/);
    expect(badParam.stderr).toMatch(/params\.word: "NOPE" does not match \[a-z\]\+/);
    const wide = await cli(['exec', '--selector', 'namespace=shop', '--max-fan-out', '1', 'echo', 'word=x', ...as(TOKENS.operator)]);
    expect(wide.code).toBe(1);
    expect(wide.stderr).toMatch(/target\.selector: matches more than maxFanOut 1/);
    // A command nobody answers in time: exit 7 (pod B has no daemon), its id printed for `podpulse command`.
    const slow = await cli(['exec', POD_B, 'echo', 'word=late', '--wait', '1s', ...as(TOKENS.operator)]);
    expect(slow.code).toBe(7);
    expect(slow.stderr).toMatch(/gave up waiting for 1/);
    const audit = await cli(['audit', '--action', 'command.result', '--json', ...as(TOKENS.operator)]);
    expect(audit.code, audit.stderr).toBe(0);
    const outcomes = (JSON.parse(audit.stdout) as { items: { outcome: string }[] }).items.map((e) => e.outcome);
    expect(outcomes).toEqual(expect.arrayContaining(['ok', 'failed', 'refused']));
  }, 60_000);

  it('release keygen, build, sign, verify, publish, list; a tampered bundle and a foreign key are refused', async () => {
    const out = join(dir, 'rel');
    const entry = join(WORKERS, 'good.mjs');
    const keyDir = join(dir, 'keys');
    expect((await cli(['release', 'keygen', '--out', keyDir])).code).toBe(0);
    const build = await cli(['release', 'build', '--version', '1.2.3', '--entry', entry, '--out', out, '--json']);
    expect(build.code, build.stderr).toBe(0);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest).toMatchObject({ apiVersion: 'podpulse.io/v1', version: '1.2.3', entry: 'worker.mjs', build: { node: process.version } });
    // Signed with a key the collector does not trust: refused by the server (exit 1), nothing stored.
    expect((await cli(['release', 'sign', out, '--key', join(keyDir, 'release-key.pem'), '--key-id', 'ci'])).code).toBe(0);
    const foreign = await cli(['release', 'publish', out, ...as(TOKENS.admin)]);
    expect(foreign.code).toBe(1);
    expect(foreign.stderr).toMatch(/signature/);
    writeFileSync(join(dir, 'ci.pem'), KEYS.privateKeyPem);
    expect((await cli(['release', 'sign', out, '--key', join(dir, 'ci.pem'), '--key-id', 'ci'])).code).toBe(0);
    writeFileSync(join(dir, 'ci.pub.pem'), KEYS.publicKeyPem);
    expect((await cli(['release', 'verify', out, '--public-key', join(dir, 'ci.pub.pem')])).code).toBe(0);
    const published = await cli(['release', 'publish', out, ...as(TOKENS.admin)]);
    expect(published.code, published.stderr).toBe(0);
    expect(published.stdout).toMatch(/^published 1\.2\.3 \(sha256 [0-9a-f]{64}\)/);
    const list = await cli(['release', 'list', ...as(TOKENS.viewer)]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^VERSION\s+SIZE\s+BUILT\s+KEY\s+SHA256\n1\.2\.3\s+\d+\s+\S+\s+ci\s+[0-9a-f]{16}\n$/);
    appendFileSync(join(out, 'worker.mjs'), '\n// tampered\n');
    const tampered = await cli(['release', 'publish', out, ...as(TOKENS.admin)]);
    expect(tampered.code).toBe(1);
    expect(tampered.stderr).toMatch(/does not match its manifest/);
    const unauthorized = await cli(['release', 'list', ...as('not-a-known-token-0000')]);
    expect(unauthorized.code).toBe(4);
    // Uploads are audited, the refused one included (the hook covers routes of encapsulated plugins too).
    const audit = await cli(['audit', '--action', 'release.upload', '--json', ...as(TOKENS.operator)]);
    const entries = (JSON.parse(audit.stdout) as { items: { outcome: string; actor: { name: string } }[] }).items;
    expect(entries.map((e) => [e.actor.name, e.outcome])).toEqual([['sre-bot', 'ok'], ['sre-bot', 'refused']]);
  }, 60_000);

  it('config set, get, diff, dry-run, history, rollback; templates from the effective config reach exec', async () => {
    const doc1 = join(dir, 'web-1.yaml');
    const doc2 = join(dir, 'web-2.yaml');
    writeFileSync(doc1, 'heartbeat:\n  interval: 15s\ncommandTemplates:\n  - name: hostname\n    argv: [hostname]\n');
    writeFileSync(doc2, 'heartbeat:\n  interval: 20s\ncommandTemplates:\n  - name: hostname\n    argv: [hostname]\n');
    const dry = await cli(['config', 'dry-run', 'app/shop/web', '-f', doc1, ...as(TOKENS.viewer)]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(new RegExp(`affected:\\s+1\\n`));
    expect(dry.stdout).toMatch(new RegExp(`shop/web ${POD_A}: `));
    expect((await cli(['config', 'set', 'app/shop/web', '-f', doc1, ...as(TOKENS.operator)])).code).toBe(4);
    const set1 = await cli(['config', 'set', 'app/shop/web', '-f', doc1, '-m', 'first', ...as(TOKENS.admin)]);
    expect(set1.code, set1.stderr).toBe(0);
    expect(set1.stdout).toMatch(/^revision \S+ at app\/shop\/web\n {2}\+ (\(document\)|heartbeat)/);
    const diff = await cli(['config', 'diff', 'app/shop/web', '-f', doc2, ...as(TOKENS.viewer)]);
    expect(diff.stdout).toBe('~ heartbeat.interval: "15s" -> "20s"\n');
    expect((await cli(['config', 'set', 'app/shop/web', '-f', doc2, ...as(TOKENS.admin)])).code).toBe(0);
    const history = await cli(['config', 'history', 'app/shop/web', '--json', ...as(TOKENS.viewer)]);
    const revs = (JSON.parse(history.stdout) as { items: { id: string; message?: string }[] }).items;
    expect(revs).toHaveLength(2);
    const first = revs.find((r) => r.message === 'first')!;
    const rb = await cli(['config', 'rollback', first.id, ...as(TOKENS.admin)]);
    expect(rb.code, rb.stderr).toBe(0);
    expect(rb.stdout).toMatch(/~ heartbeat.interval: "20s" -> "15s"/);
    const got = await cli(['config', 'get', 'app/shop/web', ...as(TOKENS.viewer)]);
    expect(got.stdout).toMatch(/^heartbeat:\n {2}interval: 15s\n/);
    expect((await cli(['config', 'get', 'app/shop/nothing', ...as(TOKENS.viewer)])).code).toBe(3);
    const invalid = join(dir, 'bad.yaml');
    writeFileSync(invalid, 'checks:\n  - id: x\n    kind: nope\n');
    const bad = await cli(['config', 'set', 'app/shop/web', '-f', invalid, ...as(TOKENS.admin)]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/checks/);
    // `hostname` is known only from app shop/web's effective config: the collector queues it for web-a (whose
    // daemon then refuses it: not in its allowlist) and refuses it for api-b, whose config lacks it.
    const web = await cli(['exec', POD_A, 'hostname', ...as(TOKENS.operator)]);
    expect(web.code).toBe(6);
    expect(web.stdout).toMatch(/refused .*not in this pod's allowlist/);
    const api = await cli(['exec', POD_B, 'hostname', ...as(TOKENS.operator)]);
    expect(api.code).toBe(1);
    expect(api.stderr).toMatch(/unknown template "hostname".*nor does the effective config of shop\/api-b/);
  }, 90_000);

  it('rollout start, status, pause, resume, abort', async () => {
    const missing = await cli(['rollout', 'start', '--target', '9.9.9', '--app', 'web', ...as(TOKENS.admin)]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/release 9\.9\.9 does not exist/);
    const start = await cli(['rollout', 'start', '--target', '1.2.3', '--namespace', 'shop', '--app', 'api', '--steps', '50,100', '--window', '1m', '--json', ...as(TOKENS.admin)]);
    expect(start.code, start.stderr).toBe(0);
    const id = (JSON.parse(start.stdout) as { id: string }).id;
    const status = await cli(['rollout', 'status', id, ...as(TOKENS.viewer)]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`^rollout: +${id}\n`));
    expect(status.stdout).toMatch(/STEP\s+SPEC\s+PHASE\s+TARGETED\s+UPDATED\s+FAILED\s+ROLLED BACK\s+VERDICT\n1\s+50%/);
    expect((await cli(['rollout', 'pause', id, ...as(TOKENS.operator)])).code).toBe(4);
    expect((await cli(['rollout', 'pause', id, ...as(TOKENS.admin)])).stdout).toBe(`rollout ${id}: paused\n`);
    expect((await cli(['rollout', 'pause', id, ...as(TOKENS.admin)])).code).toBe(1);
    expect((await cli(['rollout', 'resume', id, ...as(TOKENS.admin)])).stdout).toBe(`rollout ${id}: running\n`);
    expect((await cli(['rollout', 'abort', id, ...as(TOKENS.admin)])).stdout).toBe(`rollout ${id}: aborted\n`);
    const all = await cli(['rollout', 'status', ...as(TOKENS.viewer)]);
    expect(all.stdout).toMatch(new RegExp(`${id}\\s+1\\.2\\.3\\s+aborted`));
    expect((await cli(['rollout', 'status', 'ro-nope', ...as(TOKENS.viewer)])).code).toBe(3);
  }, 60_000);
});
