import { PodpulseError } from '../../src/errors.ts';
import { apiError, KubeClient, WEBHOOK_KUBE_ACCESS } from './kube-client.ts';
import type { TlsMaterial } from './tls-material.ts';

/** Where the shared TLS material lives, so every replica serves a certificate the one caBundle trusts. */
export interface TlsSecretStore {
  /** The stored material (undefined when the Secret is still empty) and the version to write against. */
  read(): Promise<{ material: TlsMaterial | undefined; version: string }>;
  /** Writes if nobody wrote since `version`; `conflict` means another replica did (read again and adopt theirs). */
  write(material: TlsMaterial, version: string): Promise<'ok' | 'conflict'>;
}

const KEYS = { cert: 'tls.crt', key: 'tls.key', caBundle: 'ca.crt', caKey: 'ca.key' } as const;
const b64 = (s: string) => Buffer.from(s).toString('base64');
const unb64 = (s: string | undefined) => (s === undefined ? undefined : Buffer.from(s, 'base64').toString('utf8'));

interface SecretBody {
  metadata?: { resourceVersion?: string };
  data?: Record<string, string>;
  [k: string]: unknown;
}

/**
 * The Secret in podpulse's namespace (shipped empty by the manifests, so the collector needs only get and update on
 * that one name, never create). Writes carry the resourceVersion read, so two replicas renewing at once cannot
 * overwrite each other: the loser gets 409 and adopts the winner's certificate.
 */
export class KubeTlsSecretStore implements TlsSecretStore {
  readonly #kube: KubeClient;
  readonly #namespace: string;
  readonly #name: string;
  #last: SecretBody | undefined;

  constructor(kube: KubeClient, namespace: string, name: string) {
    this.#kube = kube;
    this.#namespace = namespace;
    this.#name = name;
  }

  async read(): Promise<{ material: TlsMaterial | undefined; version: string }> {
    const r = await this.#kube.call<SecretBody>(WEBHOOK_KUBE_ACCESS.getSecret, { namespace: this.#namespace, name: this.#name });
    if (r.status === 404) {
      throw new PodpulseError('PODPULSE_ERR_CONFIG_INVALID', `Secret ${this.#namespace}/${this.#name} for the webhook certificate does not exist; apply the manifests (manifests/base) that create it empty`);
    }
    if (r.status !== 200) throw apiError(`get Secret ${this.#namespace}/${this.#name}`, r);
    this.#last = r.body;
    const d = r.body.data ?? {};
    const m = { cert: unb64(d[KEYS.cert]), key: unb64(d[KEYS.key]), caBundle: unb64(d[KEYS.caBundle]), caKey: unb64(d[KEYS.caKey]) };
    const complete = m.cert && m.key && m.caBundle && m.caKey;
    return { material: complete ? (m as TlsMaterial) : undefined, version: r.body.metadata?.resourceVersion ?? '' };
  }

  async write(material: TlsMaterial, version: string): Promise<'ok' | 'conflict'> {
    const prev = this.#last ?? {};
    const body = {
      ...prev,
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { ...(prev.metadata ?? {}), name: this.#name, namespace: this.#namespace, resourceVersion: version },
      data: { ...(prev.data ?? {}), [KEYS.cert]: b64(material.cert), [KEYS.key]: b64(material.key), [KEYS.caBundle]: b64(material.caBundle), [KEYS.caKey]: b64(material.caKey) },
    };
    const r = await this.#kube.call(WEBHOOK_KUBE_ACCESS.updateSecret, { namespace: this.#namespace, name: this.#name, body });
    if (r.status === 409) return 'conflict';
    if (r.status !== 200) throw apiError(`update Secret ${this.#namespace}/${this.#name}`, r);
    return 'ok';
  }
}

/** A store in memory: one collector without Kubernetes (local runs, tests). */
export class MemoryTlsSecretStore implements TlsSecretStore {
  #material: TlsMaterial | undefined;
  #version = 0;

  read(): Promise<{ material: TlsMaterial | undefined; version: string }> {
    return Promise.resolve({ material: this.#material, version: String(this.#version) });
  }

  write(material: TlsMaterial, version: string): Promise<'ok' | 'conflict'> {
    if (version !== String(this.#version)) return Promise.resolve('conflict');
    this.#material = material;
    this.#version++;
    return Promise.resolve('ok');
  }
}
