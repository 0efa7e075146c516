// Prints the top self-time frames of a V8 CPU profile (`node --cpu-prof`), e.g. one written by
// `node bench/ingest.ts --cpu-prof DIR`. Frames are grouped by function and location; the share is of all samples,
// idle included, so what the process spends waiting shows as (idle) / (program).
//
//   node bench/cpu-profile-top.ts FILE.cpuprofile [--top 30] [--by file] [--callers NAME]
//
// --callers NAME lists, for frames whose function is NAME, the call paths (four frames up) their self time came from.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface CallFrame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; hitCount?: number; children?: number[] }
interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string' }, by: { type: 'string' }, callers: { type: 'string' } } });
const file = positionals[0];
if (!file) throw new Error('usage: node bench/cpu-profile-top.ts FILE.cpuprofile [--top 30] [--by file]');
const top = Number(values.top ?? 30);
const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map<number, number>();
// Time per sample: the delta that follows it (the last sample gets none, which is noise at this scale).
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0)));

const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const shortUrl = (url: string) => url.replace(/^file:\/\/.*?\/node_modules\//, '').replace(/^file:\/\/.*?\/(collector|src|bench|dist)\//, '$1/');
const totals = new Map<string, number>();
let all = 0;
for (const [id, us] of selfUs) {
  const f = byId.get(id)!.callFrame;
  const key = values.by === 'file' ? shortUrl(f.url) || f.functionName : `${f.functionName || '(anonymous)'}  ${shortUrl(f.url)}:${f.lineNumber + 1}`;
  totals.set(key, (totals.get(key) ?? 0) + us);
  all += us;
}
console.log(`${(all / 1e6).toFixed(1)} s sampled`);
if (values.callers !== undefined) {
  const paths = new Map<string, number>();
  for (const [id, us] of selfUs) {
    if (byId.get(id)!.callFrame.functionName !== values.callers) continue;
    const names: string[] = [];
    for (let p = parent.get(id); p !== undefined && names.length < 4; p = parent.get(p)) {
      const f = byId.get(p)!.callFrame;
      names.push(`${f.functionName || '(anonymous)'}@${shortUrl(f.url).split('/').pop()}:${f.lineNumber + 1}`);
    }
    const key = names.join(' < ');
    paths.set(key, (paths.get(key) ?? 0) + us);
  }
  for (const [key, us] of [...paths].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${(us / 1000).toFixed(0).padStart(7)} ms  ${key}`);
  process.exit(0);
}
for (const [key, us] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${((100 * us) / all).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${key}`);
}
