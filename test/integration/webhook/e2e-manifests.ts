import { parse as parseYaml, stringify } from 'yaml';
import { kustomize, type KubeObject } from '../../unit/webhook/manifest-build.ts';

/** The tag the k3s end-to-end test builds the image under. */
export const E2E_IMAGE = 'podpulse:e2e';
export const OPERATOR_TOKEN = 'e2e-operator-token-0123456789';
const IMAGE = E2E_IMAGE;

/** The dev overlay with the locally built image, never pulled, and an operator token for the API. */
export function devManifests(): KubeObject[] {
  const image = `docker.io/library/${IMAGE}`;
  return kustomize('overlays/dev').map((o) => {
    if (o.kind === 'ConfigMap' && o.metadata.name === 'podpulse-collector') {
      const data = (o as unknown as { data: Record<string, string> }).data;
      const cfg = parseYaml(data['collector.yaml']!) as { webhook: { injection: Record<string, unknown> } };
      Object.assign(cfg.webhook.injection, { image, imagePullPolicy: 'Never' });
      data['collector.yaml'] = stringify(cfg);
    }
    if (o.kind === 'Deployment') {
      const pod = (o as unknown as { spec: { template: { spec: { containers: Record<string, unknown>[]; volumes: unknown[] } } } }).spec.template.spec;
      const c = pod.containers[0]! as { image: string; imagePullPolicy: string; env?: unknown[]; volumeMounts: unknown[] };
      c.image = image;
      c.imagePullPolicy = 'Never';
      c.env = [...(c.env ?? []), { name: 'PODPULSE_OPERATOR_TOKENS_FILE', value: '/etc/podpulse/operators/tokens.yaml' }];
      c.volumeMounts.push({ name: 'operators', mountPath: '/etc/podpulse/operators', readOnly: true });
      pod.volumes.push({ name: 'operators', secret: { secretName: 'podpulse-operator-tokens' } });
    }
    return o;
  });
}

