import type { AgentConfigInput } from '../../src/protocol/agent-config.ts';
import type { DemoTargets } from './demo-targets.ts';

/**
 * What the demo sidecar checks: real local dependencies, one of which (payments-api) fails on purpose. Short
 * intervals so that a newcomer sees a failing check and its event within a minute.
 */
export function demoAgentConfig(targets: DemoTargets, collectorPort: number, stateDir: string): AgentConfigInput {
  return {
    apiVersion: 'podpulse.io/v1',
    revision: 'demo',
    heartbeat: { interval: '5s' },
    defaults: { interval: '5s', timeout: '2s' },
    checks: [
      { id: 'orders-api', kind: 'http', spec: { url: targets.ordersUrl, expectStatus: ['2xx'], bodyContains: '"ok"' } },
      { id: 'payments-api', kind: 'http', spec: { url: targets.paymentsUrl, expectStatus: ['2xx'] } },
      { id: 'collector-port', kind: 'tcp', spec: { host: '127.0.0.1', port: collectorPort } },
      // Thresholds low enough that a nearly full developer disk does not turn the demo yellow.
      { id: 'state-disk', kind: 'disk', spec: { path: stateDir, writable: true, warnFreePercent: 1, failFreePercent: 0.5, warnFreeInodesPercent: 1, failFreeInodesPercent: 0.5 } },
      { id: 'clock', kind: 'clock', interval: '30s', spec: { source: 'collector' } },
      { id: 'path-env', kind: 'env', spec: { required: [{ name: 'PATH' }] } },
    ],
  };
}
