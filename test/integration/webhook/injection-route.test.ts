import { rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { collectorUnderTest } from '../../helpers/collector-under-test.ts';

describe('GET /api/v1/injection/missing without the webhook', () => {
  it('answers 404 saying the report runs with the webhook, and the collector starts no TLS listener', async () => {
    const c = await collectorUnderTest();
    try {
      expect(c.webhook).toBeUndefined();
      const res = await fetch(`${c.url}/api/v1/injection/missing`);
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ error: { code: 'PODPULSE_ERR_NOT_FOUND', message: expect.stringMatching(/webhook\.enabled/) } });
    } finally {
      await c.close();
      rmSync(c.dir, { recursive: true, force: true });
    }
  });

  it('a collector with the webhook on but no reachable Kubernetes config fails to start, naming the kubeconfig', async () => {
    await expect(collectorUnderTest({ webhook: { enabled: true, listen: { host: '127.0.0.1', port: 0 }, kubeconfig: '/nonexistent/kubeconfig' } })).rejects.toThrow(/cannot load kubeconfig \/nonexistent\/kubeconfig/);
  });
});
