// Regenerates the code tables in docs/errors.md and docs/reason-codes.md from the catalogues in the code.
// Run after adding a code: `npm run docs:catalogues`; the catalogue-docs test fails until you do.
import { writeFileSync } from 'node:fs';
import { ERROR_CODES } from '../src/errors.ts';
import { REASON_CODES } from '../src/protocol/codes.ts';

const esc = (s: string) => s.replace(/\|/g, '\\|');
let e = `# Error codes

Every error podpulse raises carries a stable code. Programs print \`<program>: <CODE>: <message>\` on stderr and exit
non-zero; the collector's API answers \`{"error": {"code", "message", "violations"}}\`. Validation errors list every
violation as \`path: message\`, naming the key path, the bad value and what was expected. This table is checked
against \`src/errors.ts\` by \`test/unit/kernel/catalogue-docs.test.ts\`.

| Code | Meaning | How to fix |
| --- | --- | --- |
`;
for (const [code, v] of Object.entries(ERROR_CODES)) e += `| \`${code}\` | ${esc(v.meaning)} | ${esc(v.fix)} |\n`;
e += `
## Exit codes

| Exit | Meaning |
| --- | --- |
| 0 | success (or \`--check-config\`: the config is valid) |
| 1 | invalid configuration (\`PODPULSE_ERR_CONFIG_*\`) |
| 2 | usage error (\`PODPULSE_ERR_USAGE\`) |
| 3 | the program or subcommand is not implemented yet (\`PODPULSE_ERR_NOT_IMPLEMENTED\`) |
| 70 | internal error (\`PODPULSE_ERR_INTERNAL\`) |
| 86 | the daemon went over its own memory or CPU limit and exited rather than hurt the application |
`;
writeFileSync(new URL('../docs/errors.md', import.meta.url), e);

const groups: [string, string, (c: string) => boolean][] = [
  ['any', 'Any kind', (c) => ['OK', 'CHECK_TIMEOUT', 'CHECK_ERROR', 'CHECK_MISCONFIGURED', 'NOT_SUPPORTED', 'HUNG', 'LATENCY_HIGH'].includes(c)],
  ['dns', 'dns', (c) => c.startsWith('DNS_')],
  ['tcp', 'tcp', (c) => c.startsWith('TCP_')],
  ['http', 'http', (c) => c.startsWith('HTTP_')],
  ['tls', 'tls', (c) => c.startsWith('TLS_')],
  ['disk', 'disk', (c) => c.startsWith('DISK_')],
  ['mount', 'mount', (c) => c.startsWith('MOUNT_')],
  ['file', 'file', (c) => c.startsWith('FILE_')],
  ['env', 'env', (c) => c.startsWith('ENV_')],
  ['clock', 'clock', (c) => c.startsWith('CLOCK_')],
  ['cgroup', 'cgroup', (c) => ['MEM_PRESSURE', 'OOM_KILLED', 'CPU_THROTTLED', 'CPU_PRESSURE', 'IO_PRESSURE', 'PIDS_EXHAUSTED'].includes(c)],
  ['process', 'process', (c) => c.startsWith('PROCESS_')],
  ['port', 'port', (c) => c.startsWith('PORT_')],
  ['exec', 'exec', (c) => c.startsWith('EXEC_')],
  ['fd', 'fd', (c) => c.startsWith('FD_')],
];
let r = `# Reason codes

Every check result in a heartbeat carries a reason code from this catalogue (\`src/protocol/codes.ts\`) together
with its status. The statuses a code may appear with are part of protocol v1: the collector rejects a heartbeat
that pairs, say, \`OK\` with \`fail\`. \`unknown\` always means the check itself could not decide — never that the
dependency is at fault. This page is checked against the code by \`test/unit/kernel/catalogue-docs.test.ts\`.

Kind-specific codes are listed under their kind; the codes under "Any kind" can come from every kind (the runner
reports \`CHECK_TIMEOUT\`, \`CHECK_ERROR\` and \`HUNG\` itself).
`;
const all = Object.keys(REASON_CODES);
for (const [, title, pred] of groups) {
  r += `\n### ${title}\n\n| Code | Statuses | Meaning |\n| --- | --- | --- |\n`;
  for (const c of all.filter(pred)) {
    const v = REASON_CODES[c as keyof typeof REASON_CODES];
    r += `| \`${c}\` | ${v.statuses.join(', ')} | ${esc(v.meaning)} |\n`;
  }
}
writeFileSync(new URL('../docs/reason-codes.md', import.meta.url), r);
