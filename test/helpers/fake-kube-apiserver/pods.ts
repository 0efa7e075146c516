type Obj = Record<string, unknown>;

export interface PodShape {
  namespace: string;
  name: string;
  labels?: Record<string, string>;
  phase?: string;
  nodeName?: string;
  sidecarReady?: boolean;
  finalizers?: string[];
}

/** A pod as a kubelet-managed one looks (app container plus sidecar, conditions, statuses), ~1.5 KB of JSON. */
export function makePod(p: PodShape): Obj {
  const ready = p.sidecarReady ?? true;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      namespace: p.namespace,
      name: p.name,
      labels: { app: p.name.replace(/-[^-]+$/, ''), 'sae.component': 'app', 'pod-template-hash': '7d9f8c6b5', ...p.labels },
      annotations: { 'kubernetes.io/psp': 'restricted', 'podpulse.io/inject': 'true' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${p.name}-rs`, uid: '2b4c7c3e-5a0f-4d0e-9a61-0f1f3c2d4e5f', controller: true }],
      ...(p.finalizers ? { finalizers: p.finalizers } : {}),
    },
    spec: {
      nodeName: p.nodeName ?? 'node-1',
      serviceAccountName: 'default',
      containers: [
        { name: 'app', image: 'registry.example.com/team/app:1.42.0', ports: [{ containerPort: 8080, protocol: 'TCP' }], resources: { limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '500m', memory: '512Mi' } }, env: [{ name: 'JAVA_OPTS', value: '-Xmx768m' }] },
        { name: 'sidecar', image: 'registry.example.com/podpulse/sidecar:0.1.0', resources: { limits: { cpu: '100m', memory: '64Mi' } } },
      ],
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
    },
    status: {
      phase: p.phase ?? 'Running',
      podIP: '10.1.2.3',
      hostIP: '192.168.0.10',
      startTime: '2026-01-01T00:00:00Z',
      conditions: [
        { type: 'Initialized', status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z' },
        { type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: '2026-01-01T00:00:05Z' },
        { type: 'ContainersReady', status: ready ? 'True' : 'False', lastTransitionTime: '2026-01-01T00:00:05Z' },
        { type: 'PodScheduled', status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z' },
      ],
      containerStatuses: [
        { name: 'app', ready: true, restartCount: 0, image: 'registry.example.com/team/app:1.42.0', imageID: 'sha256:0f1e2d3c', containerID: 'containerd://a1b2c3', started: true, state: { running: { startedAt: '2026-01-01T00:00:03Z' } } },
        { name: 'sidecar', ready, restartCount: 0, image: 'registry.example.com/podpulse/sidecar:0.1.0', imageID: 'sha256:4b5a6978', containerID: 'containerd://d4e5f6', started: true, state: { running: { startedAt: '2026-01-01T00:00:02Z' } } },
      ],
    },
  };
}
