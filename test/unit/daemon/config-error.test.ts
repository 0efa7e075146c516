import { describe, expect, it } from 'vitest';
import { configErrorBrief } from '../../../daemon/config-error.ts';
import { AgentConfig } from '../../../src/protocol/agent-config.ts';
import { AGENT_CONFIG_ERROR_MAX } from '../../../src/protocol/heartbeat.ts';
import { parseWith } from '../../../src/protocol/parse.ts';
import { ValidationError } from '../../../src/errors.ts';

function refusal(doc: unknown): ValidationError {
  const r = parseWith(AgentConfig, doc, { byId: true, code: 'PODPULSE_ERR_CONFIG_INVALID' });
  if (r.ok) throw new Error('expected the config to be refused');
  return r.error;
}

describe('configErrorBrief', () => {
  it('gives the code and the first violation with its path', () => {
    const err = refusal({ apiVersion: 'podpulse.io/v1', checks: [{ id: 'dns-db', kind: 'dns', interval: '10s', timeout: '15s', spec: { name: 'db' } }] });
    expect(configErrorBrief(err)).toBe('PODPULSE_ERR_CONFIG_INVALID checks[dns-db].timeout: timeout "15s" must be shorter than interval "10s"');
  });

  it('counts the violations it leaves out', () => {
    const err = refusal({ apiVersion: 'podpulse.io/v1', heartbeat: { interval: 'soon' }, checks: 'nope' });
    expect(configErrorBrief(err)).toMatch(/^PODPULSE_ERR_CONFIG_INVALID \S+: .+ \(\+1 more\)$/);
  });

  it('stays within the protocol bound and on one line', () => {
    const err = new ValidationError('PODPULSE_ERR_CONFIG_INVALID', 'config', [{ path: 'checks[x].spec.url', message: `bad\n${'u'.repeat(1000)}` }]);
    const brief = configErrorBrief(err);
    expect(brief).toHaveLength(AGENT_CONFIG_ERROR_MAX);
    expect(brief).not.toContain('\n');
    expect(brief.endsWith('…')).toBe(true);
  });
});
