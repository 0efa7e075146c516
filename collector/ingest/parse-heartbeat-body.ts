import type { Heartbeat } from '../../src/protocol/heartbeat.ts';
import { fastHeartbeatPayload } from '../../src/protocol/heartbeat-fast-path.ts';
import { parseHeartbeatPayload, parseJson } from '../../src/protocol/parse.ts';
import type { Violation } from '../../src/errors.ts';

export type BodyParse = { ok: true; heartbeats: Heartbeat[]; batch: boolean } | { ok: false; message: string; violations: readonly Violation[] };

/**
 * JSON bytes → validated heartbeats (one, or a batch), with pod and boot uids lowercased: UUIDs are
 * case-insensitive, and the dedup key and instance key must not depend on how a client spelled them.
 */
export function parseHeartbeatBody(body: Buffer): BodyParse {
  const text = body.toString('utf8');
  const json = parseJson(text, 'request body');
  if (!json.ok) return { ok: false, message: 'invalid request body: not valid JSON', violations: json.error.violations };
  // JSON can carry NUL only as the escape \u0000; look for it in the text, so the common body pays one scan.
  if (text.includes('\\u0000')) json.value = withoutNul(json.value);
  // The fast path vouches for the common shape; anything else (and every invalid body) goes to the zod schema,
  // which alone decides what is accepted and words the 400.
  const fast = fastHeartbeatPayload(json.value);
  const p = fast ? { ok: true as const, value: fast } : parseHeartbeatPayload(json.value);
  if (!p.ok) return { ok: false, message: p.error.message.split('\n')[0]!.replace(/:$/, ''), violations: p.error.violations };
  const heartbeats = p.value.heartbeats.map((hb) => {
    const podUid = hb.instance.podUid.toLowerCase();
    const bootId = hb.bootId.toLowerCase();
    return podUid === hb.instance.podUid && bootId === hb.bootId ? hb : { ...hb, bootId, instance: { ...hb.instance, podUid } };
  });
  return { ok: true, heartbeats, batch: p.value.batch };
}

/**
 * The same value with every NUL in strings and keys replaced by U+FFFD. PostgreSQL text and jsonb cannot hold NUL,
 * so a check message with one (a process's output, say) would fail every commit of its batch, and the sidecar would
 * retry it forever; the character carries no meaning a person could read anyway.
 */
export function withoutNul(v: unknown): unknown {
  if (typeof v === 'string') return v.replaceAll('\u0000', '\ufffd');
  if (Array.isArray(v)) return v.map(withoutNul);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k.replaceAll('\u0000', '\ufffd'), withoutNul(x)]));
  }
  return v;
}
