/** Where an instance is, as the diagnosis sees it. `unknown` is only ever a `from`: before the first heartbeat. */
export const INSTANCE_STATUSES = ['healthy', 'degraded', 'failing', 'silent', 'probe-broken', 'retired'] as const;
export type InstanceStatus = (typeof INSTANCE_STATUSES)[number];

/**
 * One change of an instance's status, for the timeline and SLA. `historyOnly` transitions come from late or
 * replayed heartbeats: they describe the past and never raise or resolve events. `at` is epoch milliseconds.
 */
export interface Transition {
  podUid: string;
  from: InstanceStatus | 'unknown';
  to: InstanceStatus;
  at: number;
  reason: string;
  historyOnly: boolean;
}
