import type { OperatorAuth } from '../../auth/operator-auth.ts';
import type { DiagnosisRuntime } from '../../diagnosis/diagnosis-runtime.ts';
import type { Store } from '../../store/store.ts';
import type { IngestMetrics } from '../ingest-metrics.ts';

/** What the operator read routes need from the running collector. */
export interface ReadContext {
  store: Store;
  operatorAuth: OperatorAuth;
  diagnosis: Pick<DiagnosisRuntime, 'instance' | 'openEvents'>;
  metrics: Pick<IngestMetrics, 'timed'>;
}
