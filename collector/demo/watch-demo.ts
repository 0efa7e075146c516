import type { Store } from '../store/store.ts';

/**
 * Prints, as they happen, what a newcomer should notice: the first heartbeat, the instance's status and failing
 * checks when they change, and each new or resolved event. Reads the store, as the operator API does.
 */
export function watchDemo(store: Store, podUid: string, out: NodeJS.WritableStream, everyMs = 1000): { stop(): void } {
  let lastStatus = '';
  let lastChecks = '';
  const seenEvents = new Map<string, string>();
  let busy = false;
  const tick = async () => {
    const inst = await store.getInstance(podUid);
    if (!inst) return;
    const time = new Date().toISOString().slice(11, 19);
    if (!lastStatus) out.write(`${time}  first heartbeat from ${inst.namespace}/${inst.pod} (worker ${inst.agent.workerVersion})\n`);
    const checks = await store.listChecks(podUid);
    const bad = checks.filter((c) => c.status !== 'ok').map((c) => `${c.checkId} ${c.status} ${c.code}${c.message ? ` (${c.message})` : ''}`);
    const checksLine = bad.join('; ');
    if (inst.status !== lastStatus || checksLine !== lastChecks) {
      out.write(`${time}  instance ${inst.pod}: ${inst.status}, ${checks.length} checks${bad.length ? `; not ok: ${checksLine}` : ''}\n`);
      lastStatus = inst.status;
      lastChecks = checksLine;
    }
    const events = await store.listEvents({ limit: 20 });
    for (const e of events.items) {
      if (seenEvents.get(e.id) === e.status) continue;
      seenEvents.set(e.id, e.status);
      if (e.status !== 'pending') out.write(`${time}  event ${e.status}: ${e.type} [${e.severity}] ${e.subject ?? ''}\n`);
    }
  };
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    // A transient store error only skips one refresh of the console; the next tick reads again.
    tick().catch(() => undefined).finally(() => (busy = false));
  }, everyMs);
  return { stop: () => clearInterval(timer) };
}
