import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type * as z from 'zod/mini';
import {
  AgentConfig,
  Command,
  CommandResult,
  CommandTemplate,
  DiagnosisEvent,
  ReleaseManifest,
  parseHeartbeatPayload,
  parseWith,
} from '../../../src/protocol/index.ts';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const load = (name: string): Json => JSON.parse(readFileSync(new URL(`../../fixtures/protocol/${name}`, import.meta.url), 'utf8')) as Json;
const HB = load('heartbeat.json');
const CFG = load('agent-config.json');

/** A fixture case: a mutation of a valid document and the exact violations (`path: message`) it must produce. */
type Case = [name: string, mutate: (doc: Json) => unknown, expected: string[]];

function heartbeatErrors(doc: unknown): string[] {
  const r = parseHeartbeatPayload(doc);
  return r.ok ? [] : r.error.violations.map((v) => (v.path ? `${v.path}: ${v.message}` : v.message));
}

function errorsOf(schema: z.core.$ZodType, doc: unknown, byId = false): string[] {
  const r = parseWith(schema, doc, { byId });
  return r.ok ? [] : r.error.violations.map((v) => (v.path ? `${v.path}: ${v.message}` : v.message));
}

const clone = (d: Json): Json => structuredClone(d);

const heartbeatCases: Case[] = [
  ['the valid fixture', (d) => d, []],
  ['a check status outside the enum', (d) => ((d.checks[3].status = 'down'), d), ['checks[3].status: expected one of ok|warn|fail|unknown, got "down"']],
  ['an unknown top-level key', (d) => ((d.extra = 1), d), ['extra: unknown key']],
  ['an unknown key in a check', (d) => ((d.checks[0].foo = 'bar'), d), ['checks[0].foo: unknown key']],
  ['an unknown key in the instance', (d) => ((d.instance.zone = 'z1'), d), ['instance.zone: unknown key']],
  ['an unknown reason code', (d) => ((d.checks[1].code = 'TCP_BROKEN'), d), ['checks[1].code: expected a reason code from the catalogue (docs/reason-codes.md), got "TCP_BROKEN"']],
  ['a code that cannot go with the status', (d) => ((d.checks[0].code = 'DNS_NXDOMAIN'), d), ['checks[0].code: DNS_NXDOMAIN cannot be reported with status "ok" (allowed: fail)']],
  ['OK reported with fail', (d) => ((d.checks[1].code = 'OK'), d), ['checks[1].code: OK cannot be reported with status "fail" (allowed: ok)']],
  ['an ok check in the short form (no status, no code)', (d) => ((d.checks[0] = { id: 'dns-db', kind: 'dns', latencyMs: 1 }), d), []],
  ['an ok check in the tuple form [id, kind, latencyMs]', (d) => ((d.checks[0] = ['dns-db', 'dns', 1]), d), []],
  ['a tuple of the wrong length', (d) => ((d.checks[0] = ['dns-db', 'dns']), d), ['checks[0]: an ok result in short form is [id, kind, latencyMs]']],
  ['a tuple with an unknown kind', (d) => ((d.checks[0] = ['dns-db', 'dnsx', 1]), d), ['checks[0].kind: expected one of dns|tcp|http|tls|disk|mount|file|env|clock|cgroup|process|port|exec|fd, got "dnsx"']],
  ['a tuple with a negative latency', (d) => ((d.checks[0] = ['dns-db', 'dns', -1]), d), ['checks[0].latencyMs: must be at least 0, got -1']],
  ['an ok check without its code', (d) => (delete d.checks[0].code, d), []],
  ['a failing check without its code', (d) => (delete d.checks[1].code, d), ['checks[1].code: is required when status is "fail" (only ok implies OK)']],
  ['an unknown check without its code', (d) => (delete d.checks[3].code, d), ['checks[3].code: is required when status is "unknown" (only ok implies OK)']],
  ['a failure code without a status (absent means ok)', (d) => (delete d.checks[1].status, delete d.checks[1].message, delete d.checks[1].details, d), ['checks[1].code: TCP_REFUSED cannot be reported with status "ok" (allowed: fail)']],
  ['a message on a check without a status', (d) => (delete d.checks[0].status, (d.checks[0].message = 'fine'), d), ['checks[0].message: only allowed when status is not ok']],
  ['no dropped, breaker or worker state (the defaults)', (d) => (delete d.dropped, delete d.agent.breaker, delete d.agent.worker, d), []],
  ['a config error on the agent', (d) => ((d.agent.configError = 'PODPULSE_ERR_CONFIG_INVALID checks[dns-db].timeout: must be shorter than interval'), d), []],
  ['an oversize config error', (d) => ((d.agent.configError = 'x'.repeat(257)), d), ['agent.configError: must have at most 256 characters, got 257']],
  ['a message on an ok check', (d) => ((d.checks[0].message = 'fine'), d), ['checks[0].message: only allowed when status is not ok']],
  ['details on an ok check', (d) => ((d.checks[0].details = { a: 1 }), d), ['checks[0].details: only allowed when status is not ok']],
  ['an unknown check kind', (d) => ((d.checks[0].kind = 'ping'), d), ['checks[0].kind: expected one of dns|tcp|http|tls|disk|mount|file|env|clock|cgroup|process|port|exec|fd, got "ping"']],
  ['a seq of the wrong type', (d) => ((d.seq = '17'), d), ['seq: expected number, got "17"']],
  ['a negative seq', (d) => ((d.seq = -1), d), ['seq: must be at least 0, got -1']],
  ['a fractional seq', (d) => ((d.seq = 1.5), d), ['seq: expected integer, got number 1.5']],
  ['a missing bootId', (d) => (delete d.bootId, d), ['bootId: is required (expected string)']],
  ['a bootId that is not a UUID', (d) => ((d.bootId = 'boot-1'), d), ['bootId: must be a UUID, got "boot-1"']],
  ['a timestamp without a time zone', (d) => ((d.sentAt = '2026-11-21T10:00:00'), d), ['sentAt: must be an RFC 3339 timestamp with a time zone (e.g. 2026-01-02T03:04:05Z), got "2026-11-21T10:00:00"']],
  ['a timestamp that is not a date', (d) => ((d.sentAt = 'yesterday'), d), ['sentAt: must be an RFC 3339 timestamp with a time zone (e.g. 2026-01-02T03:04:05Z), got "yesterday"']],
  ['an epoch number as timestamp', (d) => ((d.sentAt = 1763719200000), d), ['sentAt: expected string, got number 1763719200000']],
  ['an oversize message', (d) => ((d.checks[1].message = 'x'.repeat(5000)), d), ['checks[1].message: must have at most 1024 characters, got 5000']],
  ['too many checks', (d) => ((d.checks = Array.from({ length: 129 }, (_, i) => ({ id: `c${i}`, kind: 'tcp', status: 'ok', code: 'OK', latencyMs: 1 }))), d), ['checks: must have at most 128 items, got 129']],
  ['too many detail keys', (d) => ((d.checks[1].details = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, i]))), d), ['checks[1].details: must have at most 16 keys']],
  ['an oversize detail value', (d) => ((d.checks[1].details = { target: 'y'.repeat(300) }), d), ['checks[1].details.target: must have at most 256 characters, got 300']],
  ['a duplicate check id', (d) => ((d.checks[2].id = 'dns-db'), d), ['checks[2].id: duplicate check id "dns-db" (also checks[0])']],
  ['a namespace that is not a DNS label', (d) => ((d.instance.namespace = 'Shop_1'), d), ['instance.namespace: must be a DNS-1123 label (lowercase letters, digits, "-")']],
  ['an empty app', (d) => ((d.instance.app = ''), d), ['instance.app: must not be empty']],
  ['a pod IP that is not an address', (d) => ((d.instance.podIp = '10.0.0.300'), d), ['instance.podIp: must be an IPv4 or IPv6 address, got "10.0.0.300"']],
  ['an unknown breaker state', (d) => ((d.agent.breaker = 'tripped'), d), ['agent.breaker: expected one of closed|open|half-open, got "tripped"']],
  ['a version that is not semver', (d) => ((d.agent.workerVersion = 'latest'), d), ['agent.workerVersion: must be a semantic version (e.g. 1.4.2)']],
  ['an unknown update status', (d) => ((d.agent.update.status = 'done'), d), ['agent.update.status: expected one of idle|installing|installed|failed|rolled-back, got "done"']],
  ['an interval below one second', (d) => ((d.intervalMs = 10), d), ['intervalMs: must be at least 1000, got 10']],
  ['a negative latency', (d) => ((d.checks[0].latencyMs = -3), d), ['checks[0].latencyMs: must be at least 0, got -3']],
  ['a wrong apiVersion', (d) => ((d.apiVersion = 'v1'), d), ['apiVersion: expected "podpulse.io/v1", got "v1"']],
  ['a future apiVersion', (d) => ((d.apiVersion = 'podpulse.io/v2'), d), ['apiVersion: this build speaks podpulse.io/v1, got "podpulse.io/v2"']],
  ['an unknown source', (d) => ((d.source = 'app'), d), ['source: expected one of worker|daemon, got "app"']],
  ['null instead of an object', () => null, ['expected object, got null']],
  ['an array instead of an object', () => [1, 2], ['expected object, got an array of 2']],
  ['a batch with no heartbeats', () => ({ apiVersion: 'podpulse.io/v1', heartbeats: [] }), ['heartbeats: must have at least 1 item, got 0']],
  ['a batch with one bad heartbeat', (d) => ({ apiVersion: 'podpulse.io/v1', heartbeats: [clone(d), { ...clone(d), seq: 'x' }] }), ['heartbeats[1].seq: expected number, got "x"']],
  ['a batch over the limit', (d) => ({ apiVersion: 'podpulse.io/v1', heartbeats: Array.from({ length: 1001 }, () => d) }), ['heartbeats: must have at most 1000 items, got 1001']],
];

const configCases: Case[] = [
  ['the valid config fixture', (d) => d, []],
  ['a timeout not shorter than the interval', (d) => ((d.checks[0].interval = '10s'), (d.checks[0].timeout = '15s'), d), ['checks[dns-db].timeout: timeout "15s" must be shorter than interval "10s"']],
  ['a default timeout longer than a check interval', (d) => ((d.checks[2].interval = '2s'), d), ['checks[data].interval: timeout "5s" must be shorter than interval "2s"']],
  ['an unknown check kind', (d) => ((d.checks[1].kind = 'ping'), d), ['checks[api].kind: expected one of dns|tcp|http|tls|disk|mount|file|env|clock|cgroup|process|port|exec|fd, got "ping"']],
  ['a bad duration', (d) => ((d.heartbeat.interval = '10 seconds'), d), ['heartbeat.interval: must be a duration such as "500ms", "10s" or "1m30s", got "10 seconds"']],
  ['a bad regex in an http check', (d) => ((d.checks[1].spec.bodyRegex = '(unclosed'), d), ['checks[api].spec.bodyRegex: must be a valid regular expression, got "(unclosed"']],
  ['a relative disk path', (d) => ((d.checks[2].spec.path = 'data'), d), ['checks[data].spec.path: must be an absolute path']],
  ['an unknown spec key', (d) => ((d.checks[0].spec.nameserver = '1.1.1.1'), d), ['checks[dns-db].spec.nameserver: unknown key']],
  ['a status class that does not exist', (d) => ((d.checks[1].spec.expectStatus = ['6xx']), d), ['checks[api].spec.expectStatus[0]: must be a status code 100-599 or a class 1xx-5xx, got "6xx"']],
  ['a duplicate check id', (d) => ((d.checks[2].id = 'dns-db'), (d.checks[2].kind = 'dns'), (d.checks[2].spec = { name: 'x' }), d), ['checks[dns-db].id: duplicate check id "dns-db" (also checks[0])']],
  ['a template param not used in argv', (d) => ((d.commandTemplates[0].params.extra = { pattern: '.*' }), d), ['commandTemplates[0].params.extra: is declared but not used in argv']],
];

const otherCases: [string, z.core.$ZodType, unknown, string[]][] = [
  ['a template that uses an undeclared param', CommandTemplate, { name: 'ls', argv: ['ls', '{dir}'] }, ['argv[1]: uses {dir} which is not declared in params']],
  ['a command with a bad id', Command, { id: 'c1', template: 'ls', createdAt: '2026-11-21T10:00:00Z', expiresAt: '2026-11-21T10:05:00Z' }, ['id: must be a UUID, got "c1"']],
  ['a command result with an exit code over 255', CommandResult, { id: '0b6f9a0e-3f49-4b0e-9a0c-0d1f1e2a3b4c', status: 'completed', exitCode: 300, signal: null, startedAt: '2026-11-21T10:00:00Z', finishedAt: '2026-11-21T10:00:01Z', durationMs: 1000, stdout: '', stderr: '', stdoutTruncated: false, stderrTruncated: false }, ['exitCode: must be at most 255, got 300']],
  ['a release with a short sha256', ReleaseManifest, { apiVersion: 'podpulse.io/v1', version: '1.2.0', sha256: 'abc', size: 10, builtAt: '2026-11-21T10:00:00Z', build: { node: '24.21.0' } }, ['sha256: must be 64 lowercase hex digits (sha256)']],
  ['an event whose type is outside io.podpulse', DiagnosisEvent, { specversion: '1.0', id: 'e1', source: '/collector', type: 'com.example.alert', time: '2026-11-21T10:00:00Z', severity: 'warning', fingerprint: 'a1b2c3d4e5f60718', status: 'firing', data: { summary: 'x' } }, ['type: must be io.podpulse.<name>']],
  ['an event with an unknown lifecycle status', DiagnosisEvent, { specversion: '1.0', id: 'e1', source: '/collector', type: 'io.podpulse.check-failing', time: '2026-11-21T10:00:00Z', severity: 'warning', fingerprint: 'a1b2c3d4e5f60718', status: 'open', data: { summary: 'x' } }, ['status: expected one of pending|firing|resolved, got "open"']],
  ['an event with the wrong CloudEvents version', DiagnosisEvent, { specversion: '0.3', id: 'e1', source: '/collector', type: 'io.podpulse.x', time: '2026-11-21T10:00:00Z', severity: 'info', fingerprint: 'a1b2c3d4e5f60718', status: 'firing', data: { summary: 'x' } }, ['specversion: expected "1.0", got "0.3"']],
];

describe('protocol v1 fixtures: heartbeats', () => {
  it.each(heartbeatCases)('%s', (_name, mutate, expected) => {
    expect(heartbeatErrors(mutate(clone(HB)))).toEqual(expected);
  });
});

describe('protocol v1 fixtures: the short form of ok results', () => {
  it('parses to the full form, so readers always see status, code, dropped and the agent states', () => {
    const doc = clone(HB);
    doc.checks[0] = { id: 'dns-db', kind: 'dns', latencyMs: 1 };
    delete doc.dropped;
    delete doc.agent.breaker;
    delete doc.agent.worker;
    const r = parseHeartbeatPayload(doc);
    if (!r.ok) throw r.error;
    const hb = r.value.heartbeats[0]!;
    expect(hb.checks[0]).toStrictEqual({ id: 'dns-db', kind: 'dns', status: 'ok', code: 'OK', latencyMs: 1 });
    expect(Object.keys(hb.checks[1]!)).toEqual(['id', 'kind', 'status', 'code', 'latencyMs', 'message', 'details']);
    expect([hb.dropped, hb.agent.breaker, hb.agent.worker]).toEqual([0, 'closed', 'running']);
  });
});

describe('protocol v1 fixtures: agent config (paths name check ids)', () => {
  it.each(configCases)('%s', (_name, mutate, expected) => {
    expect(errorsOf(AgentConfig, mutate(clone(CFG)), true)).toEqual(expected);
  });
});

describe('protocol v1 fixtures: commands, releases, events', () => {
  it.each(otherCases)('%s', (_name, schema, doc, expected) => {
    expect(errorsOf(schema, doc)).toEqual(expected);
  });
});
