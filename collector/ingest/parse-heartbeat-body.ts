import type { Heartbeat } from '../../src/protocol/heartbeat.ts';
import { parseHeartbeatPayload, parseJson } from '../../src/protocol/parse.ts';
import type { Violation } from '../../src/errors.ts';

export type BodyParse = { ok: true; heartbeats: Heartbeat[]; batch: boolean } | { ok: false; message: string; violations: readonly Violation[] };

/**
 * JSON bytes → validated heartbeats (one, or a batch), with pod and boot uids lowercased: UUIDs are
 * case-insensitive, and the dedup key and instance key must not depend on how a client spelled them.
 */
export function parseHeartbeatBody(body: Buffer): BodyParse {
  const json = parseJson(body.toString('utf8'), 'request body');
  if (!json.ok) return { ok: false, message: 'invalid request body: not valid JSON', violations: json.error.violations };
  const p = parseHeartbeatPayload(json.value);
  if (!p.ok) return { ok: false, message: p.error.message.split('\n')[0]!.replace(/:$/, ''), violations: p.error.violations };
  const heartbeats = p.value.heartbeats.map((hb) => {
    const podUid = hb.instance.podUid.toLowerCase();
    const bootId = hb.bootId.toLowerCase();
    return podUid === hb.instance.podUid && bootId === hb.bootId ? hb : { ...hb, bootId, instance: { ...hb.instance, podUid } };
  });
  return { ok: true, heartbeats, batch: p.value.batch };
}
