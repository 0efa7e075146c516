import { describe, expect, it } from 'vitest';
import { Diagnoser, type DiagnosisResult } from '../../../collector/diagnosis/diagnoser.ts';
import { diagnosisSeam } from '../../../collector/diagnosis/diagnosis-seam.ts';
import type { Heartbeat } from '../../../src/protocol/index.ts';
import { heartbeat } from '../../helpers/heartbeat-factory.ts';
import { T0, uid } from './driver.ts';

describe('diagnosis seam', () => {
  it('delivers results that carry transitions or events, and nothing for a quiet tick', () => {
    const got: DiagnosisResult[] = [];
    const seam = diagnosisSeam(new Diagnoser(), (r) => got.push(r), (err) => { throw err; });
    seam.onCommitted([heartbeat({ instance: { podUid: uid(1) }, sentAt: new Date(T0).toISOString() })], new Date(T0));
    seam.tick(T0 + 1000);
    expect(got).toHaveLength(1);
    expect(got[0]!.transitions[0]).toMatchObject({ podUid: uid(1), to: 'healthy' });
    seam.tick(T0 + 31_000);
    expect(got[1]!.transitions[0]).toMatchObject({ to: 'silent', at: T0 + 30_000 });
  });

  it('reports a diagnosis failure to onError instead of throwing into the ingest path', () => {
    const errors: unknown[] = [];
    const seam = diagnosisSeam(new Diagnoser(), () => undefined, (err) => errors.push(err));
    const broken = { instance: {} } as unknown as Heartbeat;
    expect(() => seam.onCommitted([broken], T0)).not.toThrow();
    expect(errors).toHaveLength(1);
  });
});
