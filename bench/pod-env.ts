/**
 * The identity of a pod as a cloud cluster names it (long node name, hashed pod name, tenant set): the downward-API
 * env the webhook gives the sidecar, for the agent benchmarks. Without it the daemon and the worker derive a local
 * identity (hashing with node:crypto, about 1 MB of private memory), which neither does in a pod.
 */
export const POD_ENV = {
  POD_NAME: 'checkout-api-7f9c6d5b8-x2k4q', POD_NAMESPACE: 'payments-prod', POD_UID: '3f2b8c1e-9a4d-4e6f-b7c2-1d5e8f9a0b3c',
  NODE_NAME: 'ip-10-42-17-203.eu-west-1.compute.internal', POD_IP: '10.42.17.88', PODPULSE_APP: 'checkout-api', PODPULSE_TENANT: 'payments',
} as const;
