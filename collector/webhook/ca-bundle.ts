import { apiError, KubeClient, WEBHOOK_KUBE_ACCESS } from './kube-client.ts';

interface WebhookConfigurationBody {
  webhooks?: { name: string; clientConfig?: { caBundle?: string } }[];
}

/**
 * Makes every webhook of the MutatingWebhookConfiguration `name` trust `caBundlePem`. Only the leader writes (one
 * writer, no flapping between replicas); everyone else returns 'not-leader'. Replicas share the CA through the
 * Secret, so whichever replica leads writes the same bundle. A JSON patch with a `test` of the old value makes a
 * concurrent change fail instead of being overwritten.
 */
export async function ensureCaBundle(kube: KubeClient, name: string, caBundlePem: string, isLeader: boolean): Promise<'not-leader' | 'unchanged' | 'patched'> {
  if (!isLeader) return 'not-leader';
  const want = Buffer.from(caBundlePem).toString('base64');
  const r = await kube.call<WebhookConfigurationBody>(WEBHOOK_KUBE_ACCESS.getWebhookConfiguration, { name });
  if (r.status !== 200) throw apiError(`get MutatingWebhookConfiguration ${name}`, r);
  const ops: unknown[] = [];
  (r.body.webhooks ?? []).forEach((w, i) => {
    const have = w.clientConfig?.caBundle;
    if (have === want) return;
    ops.push(have === undefined ? { op: 'test', path: `/webhooks/${i}/name`, value: w.name } : { op: 'test', path: `/webhooks/${i}/clientConfig/caBundle`, value: have });
    ops.push({ op: 'add', path: `/webhooks/${i}/clientConfig/caBundle`, value: want });
  });
  if (ops.length === 0) return 'unchanged';
  const p = await kube.call(WEBHOOK_KUBE_ACCESS.patchWebhookConfiguration, { name, body: ops, patchType: 'application/json-patch+json' });
  if (p.status !== 200) throw apiError(`patch caBundle of MutatingWebhookConfiguration ${name}`, p);
  return 'patched';
}
